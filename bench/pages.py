"""The evaluation pages: images with ground truth, and the resolution our code would tell Tesseract."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bench.log import log
from bench.paths import ROOT

# The small, fast pages a --quick run uses (Tesseract's own test pages).
QUICK_PAGES = ("phototest", "eurotext")


@dataclass(frozen=True)
class Page:
    """One evaluation page with its ground truth, and what our code would tell Tesseract about it."""

    path: Path
    set: str
    stem: str
    truth: str
    width: int
    height: int
    dpi: int  # what lib.images decides (the oldbooks TIFFs claim 1 dpi: it passes 300)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def name(self) -> str:
        return f"{self.set}/{self.stem}"


def pages_dir() -> Path:
    """PAGESEARCH_BENCH_PAGES, else the shared evaluation pages beside the repository, else the shipped samples."""
    configured = os.environ.get("PAGESEARCH_BENCH_PAGES")
    if configured:
        if not Path(configured).is_dir():
            raise SystemExit(f"PAGESEARCH_BENCH_PAGES={configured} is not a directory")
        return Path(configured)
    shared = ROOT.parent / "shared" / "data" / "pages"
    if shared.is_dir():
        return shared
    log(f"no evaluation pages at {shared}: using the three shipped samples")
    return ROOT / "samples" / "pages"


@lru_cache(maxsize=1)
def all_pages() -> tuple[Page, ...]:
    """Every page image that has ground truth, in a stable order."""
    from lib.ocr.images import page_image
    from lib.settings import Settings

    settings = Settings.from_env()
    found = []
    for image in sorted(pages_dir().rglob("*")):
        if image.suffix.lower() not in (".tif", ".tiff", ".png", ".jpg", ".jpeg"):
            continue
        truth = image.with_suffix(".gt.txt")
        if not truth.exists():
            continue
        # The DPI our code passes to Tesseract, so that the bare CLI gets the same.
        with page_image(
            image.read_bytes(), max_pixels=settings.max_image_pixels, default_dpi=settings.default_dpi
        ) as prepared:
            found.append(
                Page(
                    path=image,
                    set=image.parent.name,
                    stem=image.stem,
                    truth=truth.read_text(encoding="utf-8"),
                    width=prepared.width,
                    height=prepared.height,
                    dpi=prepared.dpi,
                )
            )
    if not found:
        raise SystemExit(f"no page images with *.gt.txt under {pages_dir()}")
    return tuple(found)


def select_pages(quick: bool) -> list[Page]:
    pages = list(all_pages())
    if quick:
        return [p for p in pages if p.stem in QUICK_PAGES]
    return pages
