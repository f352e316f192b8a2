"""Our page viewer in headless Chromium (#9): type a query, read the hit list, open a hit, and check that the
drawn rectangles cover the matched words' page-JSON boxes, scaled to the image as displayed, within 2 px, at
two window sizes and after zooming; next/previous and "n of m"; autocomplete; the keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BOOK, api, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
QUERY = '"lazy fox"'


def expected_hits(site: str) -> list[dict[str, Any]]:
    """The API's own answer: each item one hit, its targets the words' boxes as canvas fragments."""
    answer = api(f"{site}/search?q={quote(QUERY)}")
    hits = []
    for item in answer["items"]:
        # Across books, a target is {"id": CANVAS#xywh=..., "partOf": its manifest}; within one, the string.
        targets = [
            t["id"] if isinstance(t, dict) else t
            for t in (item["target"] if isinstance(item["target"], list) else [item["target"]])
        ]
        boxes = [[int(n) for n in target.split("#xywh=")[1].split(",")] for target in targets]
        hits.append({"canvas": targets[0].split("#")[0], "boxes": boxes})
    assert hits, answer
    return hits


def drawn(page: Any) -> dict[str, Any]:
    """The current hit's rectangles and the image's, in CSS pixels, and the canvas size."""
    return page.evaluate(
        """() => {
          const image = document.getElementById('image').getBoundingClientRect();
          const boxes = [...document.querySelectorAll('.box.current')].map((b) => b.getBoundingClientRect());
          const hit = window.viewer.state.hits[window.viewer.state.current];
          return { image: [image.left, image.top, image.width, image.height],
                   boxes: boxes.map((b) => [b.left, b.top, b.width, b.height]), canvas: hit.canvas,
                   natural: document.getElementById('image').naturalWidth };
        }"""
    )


def assert_boxes_cover_the_words(page: Any, hit: dict[str, Any], canvas_width: int) -> None:
    page.wait_for_function(
        "(() => { const i = document.getElementById('image'); return i.complete && i.naturalWidth; })()"
    )
    shown = drawn(page)
    left, top, width, _height = shown["image"]
    scale = width / canvas_width
    assert len(shown["boxes"]) == len(hit["boxes"])
    for (x, y, w, h), (bx, by, bw, bh) in zip(hit["boxes"], shown["boxes"], strict=True):
        # A 2 px border is drawn inside each rectangle (box-sizing): its outer edge is the word's box.
        for want, got in ((left + x * scale, bx), (top + y * scale, by), (w * scale, bw), (h * scale, bh)):
            assert abs(want - got) <= 2, (hit["boxes"], shown)


def canvas_width(site: str, canvas: str) -> int:
    manifest = api(f"{site}/iiif/{quote(BOOK, safe='')}/manifest")
    return next(c["width"] for c in manifest["items"] if c["id"] == canvas)


def test_search_open_a_hit_and_its_boxes_cover_its_words(site: str, page: Any, shots: Path) -> None:
    hits = expected_hits(site)
    page.goto(f"{site}/viewer/")
    page.get_by_role("combobox", name="Search terms").fill(QUERY)
    page.keyboard.press("Enter")
    page.wait_for_selector(".snippet")
    assert page.locator(".snippet").count() == len(hits)
    assert page.locator(".book").first.inner_text() == BOOK
    assert "lazy fox" in page.locator(".snippet").first.inner_text()
    expect(page.locator("#position")).to_have_text(f"1 of {len(hits)}")
    width = canvas_width(site, hits[0]["canvas"])
    assert_boxes_cover_the_words(page, hits[0], width)
    expect(page.locator("#suggestions")).to_be_hidden()  # a search drops the suggestions typing asked for
    shoot(page, shots, "viewer-hits")  # the hit list and the page with its words boxed

    page.get_by_role("button", name="Next hit").click()
    expect(page.locator("#position")).to_have_text(f"2 of {len(hits)}")
    assert_boxes_cover_the_words(page, hits[1], width)
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    assert_boxes_cover_the_words(page, hits[1], width)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert_boxes_cover_the_words(page, hits[1], width)
    page.keyboard.press("k")  # previous hit, from the keyboard
    expect(page.locator("#position")).to_have_text(f"1 of {len(hits)}")


def test_keyboard_only_and_autocomplete(site: str, page: Any) -> None:
    page.goto(f"{site}/viewer/")
    page.keyboard.press("/")  # focuses the search box
    page.keyboard.type("Fuc")
    suggestion = page.get_by_role("option", name="fuchs")
    suggestion.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # takes the suggestion
    assert page.get_by_role("combobox", name="Search terms").input_value() == "fuchs"
    page.keyboard.press("Enter")  # searches
    page.wait_for_selector(".snippet")
    page.keyboard.press("Tab")  # into the results
    focused = page.evaluate("document.activeElement.className")
    assert focused in ("snippet", "") or page.locator(".snippet").count() == 1
    expect(page.locator("#position")).to_have_text("1 of 1")
    assert page.locator("#open-mirador").get_attribute("href").startswith(f"{site}/mirador/?manifest=")
