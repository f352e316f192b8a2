"""The browser tests' world: a local stack with real sample pages, `pagesearch serve` in front of it, and
Debian's Chromium driven by Playwright (its own browser download cannot work here: executable_path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES

BIN = ROOT / ".venv" / "bin"
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None)
BOOK = "Viewer Book"  # a space: ids and paths must encode it
PAGES = {"0001.tif": "phototest.tif", "0002.tif": "eurotext.tif", "0003.tiff": "d015.tiff"}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=600, cwd=ROOT)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of `pagesearch serve`, in front of a local stack holding the three sample pages as one book."""
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is not installed: run `make setup`")
    work = tmp_path_factory.mktemp("site")
    local = ("AWS_ENDPOINT_URL", "OPENSEARCH_", "PAGES_", "RESULTS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(local)}
    env.update(PAGESEARCH_STATE_DIR=str(work / "state"), PATH=f"{BIN}:{env['PATH']}")
    _run(str(BIN / "pagesearch"), "up", env=env)
    try:
        files = []
        for name, sample in PAGES.items():
            (work / name).write_bytes((SAMPLES / sample).read_bytes())
            files.append(str(work / name))
        ingested = json.loads(_run(str(BIN / "pagesearch"), "ingest", *files, "--book", BOOK, "--json", env=env).stdout)
        assert ingested["indexed"] == len(PAGES), ingested
        server = subprocess.Popen(
            [str(BIN / "pagesearch"), "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        try:
            yield url
        finally:
            server.terminate()
            server.wait(10)
    finally:
        _run(str(BIN / "pagesearch"), "down", env=env)


def api(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        pytest.fail("chromium is not installed: make test installs it (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        # Without the background-networking flags Chromium keeps dialling Google's hosts, which this
        # machine's closed network refuses.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield launched
        launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where this test's screenshots go: ``--browser-shots DIR`` when given, else the test's own tmp_path."""
    chosen = request.config.getoption("--browser-shots")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Any, folder: Path, name: str) -> Path:
    """A screenshot of what the page shows now (the viewport: what a person sees), kept as ``folder/name.png``."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, shots: Path) -> Iterator[Any]:
    """A fresh page; its console errors fail the test; its last state is kept as a screenshot (``shots``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    # The whole page as the test left it: what to look at when it failed.
    tab.screenshot(path=str(shots / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors
