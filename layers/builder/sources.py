"""Which mirror: the bookworm `deb` sources apt itself uses, so downloads go where apt's go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822

from .config import SUITES

DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# Used only when the host's apt sources name no bookworm suite (e.g. not Debian).
DEFAULT_SOURCES = (
    ("http://deb.debian.org/debian", ("bookworm", "bookworm-updates")),
    ("http://deb.debian.org/debian-security", ("bookworm-security",)),
)
# python-debian reads the deb822 `.sources` files, but not apt's one-line `sources.list` format.
_ONE_LINE = re.compile(r"^deb\s+(?:\[([^]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$")


@dataclass(frozen=True)
class Source:
    uri: str
    suite: str
    keyring: str


# (uri, suites, components, keyring) as a sources file states them
_Entry = tuple[str, list[str], list[str], str]


def _deb822_entries(etc: Path) -> Iterator[_Entry]:
    for path in sorted(etc.glob("sources.list.d/*.sources")):
        for p in Deb822.iter_paragraphs(path.read_text(errors="replace")):
            if p.get("Enabled", "yes").lower() == "no" or "deb" not in p.get("Types", "").split():
                continue
            signed_by = p.get("Signed-By", "").strip()
            # An inline key block is rare; fall back to the archive keyring then.
            keyring = signed_by if signed_by.startswith("/") and "\n" not in signed_by else ""
            for uri in p.get("URIs", "").split():
                yield uri, p.get("Suites", "").split(), p.get("Components", "").split(), keyring


def _one_line_entries(etc: Path) -> Iterator[_Entry]:
    for path in [etc / "sources.list", *sorted(etc.glob("sources.list.d/*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            m = _ONE_LINE.match(line.split("#", 1)[0].strip())
            if m:
                opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                yield m.group(2), [m.group(3)], m.group(4).split(), opts.get("signed-by", "")


def read_apt_sources(etc: Path = Path("/etc/apt")) -> list[Source]:
    """The bookworm `deb` sources of `main`, in apt's order, or Debian's own mirror without any."""
    sources: list[Source] = []
    for uri, suites, components, keyring in [*_deb822_entries(etc), *_one_line_entries(etc)]:
        if not uri.startswith(("http://", "https://")) or "main" not in components:
            continue
        for suite in suites:
            if suite in SUITES:
                src = Source(uri.rstrip("/"), suite, keyring or DEFAULT_KEYRING)
                if src not in sources:
                    sources.append(src)
    if not sources:
        sources = [Source(u, s, DEFAULT_KEYRING) for u, suites in DEFAULT_SOURCES for s in suites]
    return sources
