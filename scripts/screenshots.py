"""Make the docs' screenshots, docs/images/viewer.png and docs/images/mirador.png, from the real thing.

A local stack of its own (``pagesearch up`` in a temporary state folder, so a
stack you have running is left alone), the sample pages ingested as the book
``samples`` (real Tesseract, real indexing), ``pagesearch serve --port 0`` in
front of it, and Debian's Chromium driven by Playwright (as tests/browser
does: its own browser download cannot work here). The viewer is shown
searching ``"lazy fox"``, Mirador searching ``Fuchs`` in its own search panel,
each at 1280 x 800; the PNGs are kept under 300 kB so the repository stays light.

    .venv/bin/python scripts/screenshots.py            # needs scripts/setup.sh --browser
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "docs" / "images"
BOOK = "samples"
VIEWER_QUERY = '"lazy fox"'
MIRADOR_QUERY = "Fuchs"
VIEWPORT = {"width": 1280, "height": 800}
MAX_BYTES = 300_000
CHROMIUM_FLAGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium() -> str:
    for path in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):  # the first skips a noisy shell wrapper
        if Path(path).exists():
            return path
    sys.exit("screenshots: chromium is not installed (bash scripts/setup.sh --browser installs it)")


def run(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=900, cwd=ROOT).stdout


def save(png: bytes, path: Path) -> int:
    """``png`` optimised, and reduced to 256 colours only if still too large (the text stays sharp)."""
    from PIL import Image

    picture = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    if out.tell() > MAX_BYTES:
        out = io.BytesIO()
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    path.write_bytes(out.getvalue())
    return out.tell()


def viewer_shot(browser: Any, site: str) -> bytes:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{site}/viewer/?q={quote(VIEWER_QUERY)}")  # the viewer searches what ?q= says
    page.wait_for_selector(".box.current")
    page.wait_for_function("() => { const i = document.getElementById('image'); return i.complete && i.naturalWidth; }")
    shot = page.screenshot()
    page.close()
    return shot


def hit_box(site: str) -> list[int]:
    """The box (x, y, w, h in page pixels) of the Mirador query's first word, as our Search 1.0 API gives it."""
    url = f"{site}/iiif/{quote(BOOK, safe='')}/search/1?q={quote(MIRADOR_QUERY)}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        word = json.loads(answer.read())["resources"][0]
    return [int(n) for n in word["on"].split("#xywh=")[1].split(",")]


def mirador_shot(browser: Any, site: str) -> bytes:
    page = browser.new_page(viewport=VIEWPORT)
    manifest = f"{site}/iiif/{quote(BOOK, safe='')}/manifest"
    page.goto(f"{site}/mirador/?manifest={quote(manifest, safe='')}")
    tab = page.get_by_role("tab", name="Search", exact=True)
    tab.wait_for(timeout=30_000)
    tab.click()
    box = page.get_by_role("combobox", name="search terms")
    box.fill(MIRADOR_QUERY)
    box.press("Enter")
    page.locator('aside[aria-label="Search"]').get_by_text(MIRADOR_QUERY).first.wait_for(timeout=30_000)
    # Mirador zooms right into the selected hit; step back so the page around it shows too.
    loaded = """() => { const s = window.miradorInstance.store.getState(); const id = Object.keys(s.windows)[0];
                        const v = Mirador.OSDReferences.get(id)?.current;
                        return v && v.world.getItemCount() && v.world.getItemAt(0).getFullyLoaded(); }"""
    page.wait_for_function(loaded, timeout=30_000)
    # Mirador zooms right into the selected hit, filling the pane with one word. Once it has stopped moving,
    # show the page's whole width around the hit instead, then wait for the tiles that view needs and the
    # frames that draw the highlight over them.
    page.evaluate(
        """async (box) => {
             const s = window.miradorInstance.store.getState();
             const v = Mirador.OSDReferences.get(Object.keys(s.windows)[0]).current;
             const item = v.world.getItemAt(0);
             for (let last = -1, zoom = v.viewport.getZoom(true); zoom !== last; zoom = v.viewport.getZoom(true)) {
               last = zoom;
               await new Promise((done) => setTimeout(done, 300));
             }
             const size = item.getContentSize();
             const height = (size.x * v.container.clientHeight) / v.container.clientWidth;
             const [, y, , h] = box;
             const top = Math.max(0, Math.min(size.y - height, y + h / 2 - height / 2));
             v.viewport.fitBounds(item.imageToViewportRectangle(0, top, size.x, height), true);
           }""",
        hit_box(site),
    )
    page.wait_for_function(loaded, timeout=30_000)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    shot = page.screenshot()
    page.close()
    return shot


def main() -> int:
    from playwright.sync_api import sync_playwright

    if shutil.which("tesseract") is None:
        sys.exit("screenshots: tesseract is not installed (bash scripts/setup.sh)")
    executable = chromium()
    state = Path(tempfile.mkdtemp(prefix="pagesearch-shots-"))
    local = ("AWS_ENDPOINT_URL", "OPENSEARCH_", "PAGES_", "RESULTS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(local)}
    env.update(PAGESEARCH_STATE_DIR=str(state / "state"), PATH=f"{BIN}:{env['PATH']}")
    pagesearch = str(BIN / "pagesearch")
    run(pagesearch, "up", env=env)
    server = None
    try:
        pages = sorted(str(p) for p in (ROOT / "samples" / "pages").glob("*.tif*"))
        ingested = json.loads(run(pagesearch, "ingest", *pages, "--book", BOOK, "--json", "--quiet", env=env))
        if ingested.get("indexed") != len(pages):
            sys.exit(f"screenshots: not every page was indexed: {ingested}")
        server = subprocess.Popen([pagesearch, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        site = server.stdout.readline().strip()
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
            for name, shoot in (("viewer", viewer_shot), ("mirador", mirador_shot)):
                size = save(shoot(browser, site), OUT / f"{name}.png")
                print(f"screenshots: docs/images/{name}.png ({size / 1000:.0f} kB)", file=sys.stderr)
                if size > MAX_BYTES:
                    sys.exit(f"screenshots: {name}.png is over {MAX_BYTES // 1000} kB")
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        subprocess.run([pagesearch, "down"], env=env, capture_output=True, timeout=120, cwd=ROOT)
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
