"""The web pages the search function serves (pure, no AWS): the viewer and the Mirador page, from web/.

They hold no data (every search, manifest and image comes from the API's own
routes), so they are served without authorization even where the data routes
need it; only the files listed under ``SITES`` are, never a path built from
the request. ``config.json`` tells the viewer whether to sign its requests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
# URL directory -> the files it serves (the directory's own URL serves index.html).
SITES = {
    "viewer": ("index.html", "viewer.js", "viewer.css", "sigv4.js"),
    "mirador": ("index.html",),
    "vendor": ("mirador.min.js",),
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def site_file(path: str) -> Path | None:
    """The file a ``/viewer/...``, ``/mirador/...`` or ``/vendor/...`` path names, or None."""
    site, _, name = path.strip("/").partition("/")
    files = SITES.get(site)
    if files is None:
        return None
    name = name or "index.html"
    return WEB / site / name if name in files else None


@lru_cache(maxsize=16)
def read(path: Path) -> bytes:
    """A web file's bytes, once per container (the Mirador bundle is 2.4 MB)."""
    return path.read_bytes()


def content_type(path: Path) -> str:
    return TYPES[path.suffix]
