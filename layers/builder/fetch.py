"""Downloads checked against the signed indexes, kept in the cache, one build at a time."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Paths
from .report import LOCK_COMMAND, BuildError, StaleLockError, log, relock_hint

if TYPE_CHECKING:
    from .index import Candidate, Index


def http_get(url: str, dest: Path, expect_sha256: str | None = None, expect_size: int | None = None) -> None:
    """Fetch url to dest atomically; verify size and SHA-256 when given. A 404 is raised as it is."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(3):
        tmp = dest.with_name(dest.name + f".part{os.getpid()}")
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "pagesearch-layer-build/1"})
            h = hashlib.sha256()
            size = 0
            with urllib.request.urlopen(req, timeout=60) as resp, tmp.open("wb") as out:
                while chunk := resp.read(1 << 20):
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if expect_size is not None and size != expect_size:
                raise BuildError(f"{url}: got {size} bytes, the signed index says {expect_size}")
            if expect_sha256 and h.hexdigest() != expect_sha256:
                raise BuildError(f"{url}: SHA-256 {h.hexdigest()} differs from the signed index's {expect_sha256}")
            tmp.replace(dest)
            return
        except urllib.error.HTTPError as e:
            tmp.unlink(missing_ok=True)
            if e.code == 404:
                raise
            last = e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            tmp.unlink(missing_ok=True)
            last = e
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        time.sleep(1 + 2 * attempt)
    raise BuildError(f"cannot download {url}: {last}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def exclusive(cache: Path) -> Iterator[None]:
    """One build or tool fetch at a time per cache: `sls package`, `make layer`
    and the tests may all start one, and they share staging and cache paths."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def deb_path(cache: Path, entry: dict[str, Any]) -> Path:
    return cache / "debs" / Path(entry["filename"]).name


def _is_cached(cache: Path, entry: dict[str, Any]) -> bool:
    path = deb_path(cache, entry)
    return path.is_file() and sha256_file(path) == entry["sha256"]


def download_candidates(cands: list[Candidate], cache: Path) -> None:
    """Fetch packages straight from a signed index (while resolving, before a lock exists)."""
    for c in cands:
        entry = c.lock_entry()
        if not _is_cached(cache, entry):
            http_get(f"{c.source.uri}/{c.filename}", deb_path(cache, entry), c.sha256, c.size)


def _stale_message(gone: list[dict[str, Any]], arch: str, paths: Paths) -> str:
    names = " and ".join(f"{e['name']} {e['version']}" for e in gone)
    return (
        f"Debian no longer serves {names} ({arch}), which {paths.rel(paths.lock)} pins: "
        f"re-resolve with {relock_hint(arch)}, then rebuild and commit the new lock."
    )


def ensure_debs(entries: list[dict[str, Any]], arch: str, paths: Paths, get_index: Callable[[str], Index]) -> None:
    """Make every locked .deb present in the cache and verified; needs no network when all are cached.

    A package that has to be downloaded must still be in today's signed index
    with the locked hash, so a lock Debian has moved past fails here, clearly.
    """
    missing = [e for e in entries if not _is_cached(paths.cache, e)]
    if not missing:
        return
    index = get_index(arch)
    gone = [e for e in missing if index.exact(e["name"], e["version"]) is None]
    if gone:
        raise StaleLockError(_stale_message(gone, arch, paths))
    jobs: list[tuple[Candidate, dict[str, Any]]] = []
    for e in missing:
        cand = index.exact(e["name"], e["version"])
        assert cand is not None
        if cand.sha256 != e["sha256"]:
            raise BuildError(
                f"{e['name']} {e['version']}: the signed index now says SHA-256 {cand.sha256}, the lock "
                f"{e['sha256']}; Debian never re-uploads a version, so check the mirror, then "
                f"`{LOCK_COMMAND.format(arch=arch)}`"
            )
        jobs.append((cand, e))
    total = sum(c.size for c, _ in jobs)
    log(f"downloading {len(jobs)} packages ({total / 1e6:.1f} MB)")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futs = [
            pool.submit(http_get, f"{c.source.uri}/{c.filename}", deb_path(paths.cache, e), c.sha256, c.size)
            for c, e in jobs
        ]
        for f in futs:
            f.result()
