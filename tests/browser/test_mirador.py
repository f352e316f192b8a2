"""Mirador 4 in headless Chromium (#9): it opens our manifest, finds our Content Search 1.0 service, and a query
typed into its own search panel lists our hits (as many as the API's total) and highlights the selected one
where its word is on the canvas: the annotation Mirador selected is our word's box, and the canvas there is
tinted yellow (Mirador draws highlights on OpenSeadragon's canvas, not in the DOM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BOOK, api, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
QUERY = "Fuchs"


def test_mirador_searches_our_book_and_highlights_the_hit(site: str, page: Any, shots: Path) -> None:
    from PIL import Image

    manifest = f"{site}/iiif/{quote(BOOK, safe='')}/manifest"
    answer = api(f"{site}/iiif/{quote(BOOK, safe='')}/search/1?q={QUERY}")
    total = answer["within"]["total"]
    [word] = answer["resources"]
    x, y, w, h = (int(n) for n in word["on"].split("#xywh=")[1].split(","))
    canvas_id = word["on"].split("#")[0]

    page.goto(f"{site}/mirador/?manifest={quote(manifest, safe='')}")
    page.wait_for_function(
        "() => window.miradorInstance && Object.keys(window.miradorInstance.store.getState().windows).length"
    )
    # The page opens the window with its sidebar open (web/mirador/index.html); the Search tab is there
    # once Mirador has read the manifest's search service.
    search_tab = page.get_by_role("tab", name="Search", exact=True)
    expect(search_tab).to_be_visible(timeout=20_000)
    search_tab.click()
    box = page.get_by_role("combobox", name="search terms")
    box.fill(QUERY)
    box.press("Enter")
    results = page.locator('aside[aria-label="Search"]')
    expect(results).to_contain_text(QUERY, timeout=20_000)

    state = page.evaluate(
        """() => {
          const s = window.miradorInstance.store.getState();
          const windowId = Object.keys(s.windows)[0];
          const panes = s.searches[windowId] || {};
          const search = Object.values(panes)[0] || {};
          const json = Object.values(search.data || {})[0]?.json || {};
          return { windowId, selected: search.selectedContentSearchAnnotationIds || [],
                   hits: (json.hits || []).length, resources: (json.resources || []).map((r) => r['@id']),
                   total: json.within ? json.within.total : null,
                   canvas: s.windows[windowId].canvasId };
        }"""
    )
    assert state["total"] == total == 1 and state["hits"] == 1, state
    assert state["selected"] == [word["@id"]], "Mirador selected our hit's annotation"
    assert state["canvas"] == canvas_id, "and went to its page"

    # The highlight on the canvas: where the word is, the white paper is tinted yellow.
    page.wait_for_function(
        """(id) => { const v = Mirador.OSDReferences.get(id)?.current;
                     return v && v.world.getItemCount() && v.world.getItemAt(0).getFullyLoaded(); }""",
        arg=state["windowId"],
        timeout=20_000,
    )
    page.wait_for_timeout(500)  # the overlay is drawn on the frame after the tiles
    screen = page.evaluate(
        """([id, x, y, w, h]) => {
          const viewer = Mirador.OSDReferences.get(id).current;
          const item = viewer.world.getItemAt(0);
          const toScreen = (px, py) =>
            viewer.viewport.viewportToViewerElementCoordinates(item.imageToViewportCoordinates(px, py));
          const topLeft = toScreen(x, y);
          const bottomRight = toScreen(x + w, y + h);
          const r = viewer.element.getBoundingClientRect();
          return [r.left + topLeft.x, r.top + topLeft.y, r.left + bottomRight.x, r.top + bottomRight.y];
        }""",
        [state["windowId"], x, y, w, h],
    )
    left, top, right, bottom = screen
    shot = Image.open(shoot(page, shots, "mirador-hits")).convert("RGB")  # the hit list, the word highlighted
    # Mirador zooms to the hit, which may leave part of the word past the window's edge.
    left, right = max(0, int(left) + 1), min(shot.width, int(right) - 1)
    top, bottom = max(0, int(top) + 1), min(shot.height, int(bottom) - 1)
    assert right - left > 5 and bottom - top > 5, ("the hit is on screen", screen)
    inside = [shot.getpixel((px, py)) for px in range(left, right) for py in range(top, bottom)]
    yellow = [p for p in inside if p[2] < 215 and p[0] > 235 and p[1] > 235]  # paper under 30 % yellow: (255, 255, 178)
    assert len(yellow) > len(inside) // 4, (screen, inside[:10])
    outside = [shot.getpixel((left - d, bottom + d)) for d in (40, 60, 80)]
    assert not [p for p in outside if p[2] < 215 and p[0] > 235 and p[1] > 235], outside
