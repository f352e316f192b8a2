"""The signed indexes of one architecture: InRelease checked by gpgv, Packages by the hash in it.

python-debian parses the files; the trust decisions stay here, in plain sight:
only the text gpgv has verified is parsed as a Release file, and a Packages
index is used only when its SHA-256 matches that text.
"""

from __future__ import annotations

import functools
import gzip
import lzma
import operator
import re
import shutil
import subprocess
import tempfile
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debian.deb822 import Packages, PkgRelation, Release
from debian.debian_support import version_compare

from .config import DISTRIBUTION
from .fetch import http_get, sha256_file
from .report import BuildError, log
from .sources import Source, read_apt_sources

_PKG_FIELDS = ["Package", "Version", "Architecture", "Filename", "SHA256", "Size", "Depends", "Pre-Depends", "Provides"]
# Preferred first; both are in every Debian suite's signed Release file.
_OPENERS: dict[str, Callable[..., Any]] = {"xz": lzma.open, "gz": gzip.open}
# `<` and `>` are dpkg's old spellings of `<=` and `>=`, and still mean that.
_RELOPS = {
    "<<": operator.lt,
    "<=": operator.le,
    "<": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.ge,
    ">>": operator.gt,
}

# A relation's version constraint as python-debian gives it: ("<<", "2.36"), or None.
Constraint = tuple[str, str] | None


def satisfies(version: str, constraint: Constraint) -> bool:
    if constraint is None:
        return True
    op, wanted = constraint
    return _RELOPS[op](version_compare(version, wanted), 0)


def parse_relations(text: str) -> list[list[dict[str, Any]]]:
    """A Depends-style field as alternatives of python-debian relations; nothing for an empty field."""
    return PkgRelation.parse_relations(text) if text.strip() else []


@dataclass
class Candidate:
    name: str
    version: str
    architecture: str
    filename: str
    sha256: str
    size: int
    depends: str
    provides: str
    source: Source

    def lock_entry(self, **extra: Any) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "architecture": self.architecture,
            "suite": self.source.suite,
            "filename": self.filename,
            "size": self.size,
            "sha256": self.sha256,
            **extra,
        }


def verify_inrelease(raw: Path, keyring: str) -> str:
    """Return the signed text of an InRelease file, or fail unless gpgv accepts it."""
    if not shutil.which("gpgv"):
        raise BuildError("gpgv is needed to check Debian's signed indexes (apt-get install gpgv)")
    if not Path(keyring).is_file():
        raise BuildError(f"Debian's archive keyring {keyring} is missing (apt-get install debian-archive-keyring)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "signed.txt"
        proc = subprocess.run(
            ["gpgv", "--status-fd", "1", "--keyring", keyring, "--output", str(out), str(raw)],
            capture_output=True,
            text=True,
        )
        status = proc.stdout
        # Like apt: at least one good signature from the keyring and no bad one.
        # (An extra signature by a key the keyring lacks makes gpgv exit 2.)
        if "[GNUPG:] GOODSIG" not in status or "[GNUPG:] BADSIG" in status or not out.is_file():
            raise BuildError(f"{raw}: signature check failed:\n{proc.stderr.strip()}")
        return out.read_text()


class Index:
    """Every bookworm package of one architecture (plus arch:all), from signed indexes."""

    def __init__(self, arch: str, sources: list[Source], cache: Path) -> None:
        self.arch = arch
        self.cache = cache
        self.by_name: dict[str, list[Candidate]] = {}
        self._in_order: list[Candidate] = []  # as the indexes list them, for `providers`
        for src in sources:
            self._load(src)

    def _signed_packages(self, src: Source) -> tuple[Path, str]:
        """The Packages index of `src`, downloaded unless cached, and verified against InRelease."""
        tag = re.sub(r"[^A-Za-z0-9.-]+", "_", src.uri.split("://", 1)[1]) + "_" + src.suite
        cache = self.cache / "indexes" / tag
        inrelease = cache / "InRelease"
        # Always refetch the small InRelease: it says what the mirror serves now.
        http_get(f"{src.uri}/dists/{src.suite}/InRelease", inrelease)
        # Only what gpgv verified is parsed: never the file as downloaded.
        release = Release(verify_inrelease(inrelease, src.keyring))
        entries = {e["name"]: (e["sha256"], int(e["size"])) for e in release.get("SHA256", [])}
        comp = next((c for c in _OPENERS if f"main/binary-{self.arch}/Packages.{c}" in entries), None)
        if comp is None:
            raise BuildError(f"{src.uri} {src.suite} has no signed Packages index for {self.arch}")
        digest, size = entries[f"main/binary-{self.arch}/Packages.{comp}"]
        local = cache / f"Packages-{self.arch}-{digest[:16]}.{comp}"
        if local.is_file() and sha256_file(local) == digest:
            return local, comp
        for old in cache.glob(f"Packages-{self.arch}-*"):
            old.unlink()
        base = f"{src.uri}/dists/{src.suite}/main/binary-{self.arch}"
        urls = [f"{base}/by-hash/SHA256/{digest}"] if release.get("Acquire-By-Hash") == "yes" else []
        urls.append(f"{base}/Packages.{comp}")
        for i, url in enumerate(urls):
            try:
                http_get(url, local, digest, size)
                break
            except urllib.error.HTTPError:
                if i == len(urls) - 1:
                    raise BuildError(f"{url} is missing although {src.suite}'s InRelease lists it") from None
        return local, comp

    def _load(self, src: Source) -> None:
        local, comp = self._signed_packages(src)
        with _OPENERS[comp](local, "rt", encoding="utf-8") as f:
            for p in Packages.iter_paragraphs(f, fields=_PKG_FIELDS, use_apt_pkg=False):
                if p.get("Architecture") not in (self.arch, "all"):
                    continue
                cand = Candidate(
                    p["Package"],
                    p["Version"],
                    p["Architecture"],
                    p["Filename"],
                    p["SHA256"],
                    int(p["Size"]),
                    ", ".join(filter(None, (p.get("Pre-Depends"), p.get("Depends")))),
                    p.get("Provides", ""),
                    src,
                )
                self.by_name.setdefault(cand.name, []).append(cand)
                self._in_order.append(cand)

    @functools.cached_property
    def providers(self) -> dict[str, list[Candidate]]:
        """Virtual package -> the packages that provide it; built on first use (only relocking asks)."""
        out: dict[str, list[Candidate]] = {}
        for cand in self._in_order:
            for group in parse_relations(cand.provides):
                for rel in group:
                    out.setdefault(rel["name"], []).append(cand)
        return out

    def best(self, name: str, constraint: Constraint = None) -> Candidate | None:
        """The newest version of `name` across the suites that meets the constraint."""
        best: Candidate | None = None
        for c in self.by_name.get(name, []):
            if satisfies(c.version, constraint) and (best is None or version_compare(c.version, best.version) > 0):
                best = c
        if best is None and constraint is None:
            provs = self.providers.get(name, [])
            best = provs[0] if provs else None
        return best

    def exact(self, name: str, version: str) -> Candidate | None:
        return next((c for c in self.by_name.get(name, []) if c.version == version), None)


_LOADED: dict[tuple[Path, str], Index] = {}


@functools.cache
def _apt_sources() -> list[Source]:
    return read_apt_sources()


def load_index(arch: str, cache: Path) -> Index:
    """The signed indexes of `arch`, loaded once per run; callers ask only when the cache cannot serve."""
    if (cache, arch) not in _LOADED:
        sources = _apt_sources()
        log(f"reading Debian {DISTRIBUTION} indexes for {arch} from {', '.join(sorted({s.uri for s in sources}))}")
        _LOADED[cache, arch] = Index(arch, sources, cache)
    return _LOADED[cache, arch]
