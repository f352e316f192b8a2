#!/usr/bin/env python3
"""Build the Tesseract Lambda layer from Debian bookworm packages, without Docker or root.

    python3 layers/build.py [--arch amd64|arm64] [--langs eng+deu] [--relock]

Debian's Tesseract needs a newer glibc and libstdc++ than Lambda's Amazon Linux
2023 has, so the layer carries the whole runtime, loader and libc included, and
``bin/tesseract`` starts ``tesseract.real`` through the bundled loader.  Nothing
of the host's libraries is used, on Lambda or anywhere else.

Everything comes from Debian's signed indexes: the InRelease files are checked
with gpgv against the archive keyring, the Packages indexes against the hashes
in them, and every .deb against the Packages index.  The exact packages are
pinned in ``layers/tesseract.lock.json``; ``--relock`` re-resolves them.

Only the Python standard library is used, so this runs before any virtualenv
exists.  Besides Python it needs ``gpgv`` and the Debian archive keyring;
``dpkg-deb`` is used when present (a Python fallback reads .deb files otherwise).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import lzma
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
LAYERS_DIR = REPO / "layers"
LOCK_PATH = LAYERS_DIR / "tesseract.lock.json"
BUILD_DIR = LAYERS_DIR / "build"
CACHE_DIR = Path(os.environ.get("LAYER_CACHE_DIR") or REPO / ".cache" / "layer")

DISTRIBUTION = "bookworm"
SUITES = ("bookworm", "bookworm-updates", "bookworm-security")
# Used only when the host's apt sources name no bookworm suite (e.g. not Debian).
DEFAULT_SOURCES = (
    ("http://deb.debian.org/debian", ("bookworm", "bookworm-updates")),
    ("http://deb.debian.org/debian-security", ("bookworm-security",)),
)
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

PROGRAM_PACKAGE = "tesseract-ocr"
PROGRAM_PATH = "usr/bin/tesseract"
DEBIAN_TESSDATA = "usr/share/tesseract-ocr/5/tessdata"
# Files beside the models that tesseract reads by name: `tsv`, `hocr`, `pdf` ...
# configs (pytesseract passes them) and the glyph-less font of PDF output.
TESSDATA_EXTRAS = ("configs", "tessconfigs", "pdf.ttf")
ALWAYS_LANGS = ("osd",)  # orientation and script detection, for --psm 0/1
LIB_SUBDIR = "lib"
TESSDATA_SUBDIR = "share/tessdata"
LAMBDA_LIMIT = 262_144_000  # Lambda's "250 MB" unzipped, in the bytes AWS states
FIXED_MTIME = 946684800  # 2000-01-01, so that the zip is byte-for-byte reproducible
EXIT_STALE_LOCK = 3

LOCK_COMMAND = "make layer-lock ARCH={arch}"
LOCK_COMMAND_RAW = "python3 layers/build.py --relock --arch {arch}"


@dataclass(frozen=True)
class Arch:
    debian: str
    triplet: str
    loader: str
    elf_machine: int
    uname: str


ARCHES = {
    "amd64": Arch("amd64", "x86_64-linux-gnu", "ld-linux-x86-64.so.2", 62, "x86_64"),
    "arm64": Arch("arm64", "aarch64-linux-gnu", "ld-linux-aarch64.so.1", 183, "aarch64"),
}
# Packages the tests need to prove the layer: a static shell for the empty root,
# and (on an x86_64 host) the emulator that runs the arm64 layer.
TOOLS = {"amd64": ("busybox-static", "qemu-user-static"), "arm64": ("busybox-static",)}

# glibc's libraries all live in libc6; naming them saves fetching unrelated
# dependencies while looking for e.g. libm.so.6.
GLIBC_SONAME = re.compile(
    r"^(ld-linux[-\w.]*\.so\.\d+|lib(c|m|dl|pthread|rt|resolv|util|anl|mvec|nsl|thread_db)\.so\.\d+)$"
)


class BuildError(Exception):
    exit_code = 1


class StaleLockError(BuildError):
    exit_code = EXIT_STALE_LOCK


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def exclusive() -> Generator[None, None, None]:
    """One build or tool fetch at a time per cache: `sls package`, `make layer`
    and the tests may all start one, and they share staging and cache paths."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _rel(path: Path) -> str:
    # Messages name paths as a user in the repository would type them.
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- versions


def _order(c: str) -> int:
    # dpkg's ordering: '~' sorts before everything, even the end of the string.
    if not c or c.isdigit():
        return 0
    if c.isascii() and c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) else "")
            bc = _order(b[j] if j < len(b) else "")
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_version(v: str) -> tuple[int, str, str]:
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch or 0), upstream, revision


def version_compare(a: str, b: str) -> int:
    """Compare two Debian versions as dpkg does: <0, 0 or >0."""
    ea, ua, ra = _split_version(a)
    eb, ub, rb = _split_version(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


def version_satisfies(version: str, op: str | None, wanted: str | None) -> bool:
    if op is None or wanted is None:
        return True
    c = version_compare(version, wanted)
    return {
        "<<": c < 0,
        "<": c <= 0,
        "<=": c <= 0,
        "=": c == 0,
        ">=": c >= 0,
        ">": c >= 0,
        ">>": c > 0,
    }[op]


Relation = tuple[str, str | None, str | None]
_RELATION = re.compile(
    r"^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*"
    r"(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[[^]]*\])?\s*(?:<[^>]*>)?\s*$"
)


def parse_relations(text: str) -> list[list[Relation]]:
    """'a (>= 1) | b, c' -> [[('a', '>=', '1'), ('b', None, None)], [('c', None, None)]]"""
    groups: list[list[Relation]] = []
    for group in filter(None, (g.strip() for g in text.split(","))):
        alts: list[Relation] = []
        for alt in group.split("|"):
            m = _RELATION.match(alt)
            if not m:
                raise BuildError(f"cannot parse Debian relation {alt!r}")
            alts.append((m.group(1), m.group(2), m.group(3)))
        groups.append(alts)
    return groups


# --------------------------------------------------------------------------- apt sources


@dataclass(frozen=True)
class Source:
    uri: str
    suite: str
    keyring: str


def _deb822_paragraphs(text: str) -> Iterator[dict[str, str]]:
    para: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if para:
                yield para
            para, key = {}, ""
        elif line[0] in " \t" and key:
            para[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            para[key] = value.strip()
    if para:
        yield para


def read_apt_sources(etc: Path = Path("/etc/apt")) -> list[Source]:
    """The bookworm `deb` sources apt itself uses, so downloads go to the same mirror."""
    found: list[tuple[str, list[str], list[str], str]] = []
    for path in sorted(etc.glob("sources.list.d/*.sources")):
        for p in _deb822_paragraphs(path.read_text(errors="replace")):
            if p.get("enabled", "yes").lower() == "no" or "deb" not in p.get("types", "").split():
                continue
            signed_by = p.get("signed-by", "")
            # An inline key block is rare; fall back to the archive keyring then.
            keyring = signed_by if signed_by.startswith("/") and "\n" not in signed_by else ""
            for uri in p.get("uris", "").split():
                found.append((uri, p.get("suites", "").split(), p.get("components", "").split(), keyring))
    lists = [etc / "sources.list", *sorted(etc.glob("sources.list.d/*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"^deb\s+(?:\[([^]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
            if not m:
                continue
            opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
            found.append((m.group(2), [m.group(3)], m.group(4).split(), opts.get("signed-by", "")))
    sources: list[Source] = []
    for uri, suites, components, keyring in found:
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


# --------------------------------------------------------------------------- downloads


def _http_get(url: str, dest: Path, expect_sha256: str | None = None, expect_size: int | None = None) -> None:
    """Fetch url to dest atomically; verify size and SHA-256 when given."""
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


# --------------------------------------------------------------------------- signed indexes


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


def _fields(text: str, wanted: frozenset[str]) -> Iterator[dict[str, str]]:
    for para in text.split("\n\n"):
        rec: dict[str, str] = {}
        for line in para.split("\n"):
            if line and line[0] not in " \t":
                k, _, v = line.partition(":")
                if k in wanted:
                    rec[k] = v.strip()
        if rec:
            yield rec


_PKG_FIELDS = frozenset(
    {"Package", "Version", "Architecture", "Filename", "SHA256", "Size", "Depends", "Pre-Depends", "Provides"}
)


class Index:
    """Every bookworm package of one architecture (plus arch:all), from signed indexes."""

    def __init__(self, arch: str, sources: list[Source]) -> None:
        self.arch = arch
        self.by_name: dict[str, list[Candidate]] = {}
        self.providers: dict[str, list[Candidate]] = {}
        for src in sources:
            self._load(src)

    def _load(self, src: Source) -> None:
        tag = re.sub(r"[^A-Za-z0-9.-]+", "_", src.uri.split("://", 1)[1]) + "_" + src.suite
        cache = CACHE_DIR / "indexes" / tag
        inrelease = cache / "InRelease"
        # Always refetch the small InRelease: it says what the mirror serves now.
        _http_get(f"{src.uri}/dists/{src.suite}/InRelease", inrelease)
        release = verify_inrelease(inrelease, src.keyring)
        entries: dict[str, tuple[str, int]] = {}
        in_sha = False
        for line in release.splitlines():
            if not line.startswith(" "):
                in_sha = line.startswith("SHA256:")
                continue
            if in_sha:
                digest, size, name = line.split()
                entries[name] = (digest, int(size))
        by_hash = re.search(r"^Acquire-By-Hash:\s*yes", release, re.M) is not None
        openers = {"xz": lzma.open, "gz": gzip.open}
        for comp in openers:
            name = f"main/binary-{self.arch}/Packages.{comp}"
            if name in entries:
                break
        else:
            raise BuildError(f"{src.uri} {src.suite} has no signed Packages index for {self.arch}")
        digest, size = entries[name]
        local = cache / f"Packages-{self.arch}-{digest[:16]}.{comp}"
        if not (local.is_file() and sha256_file(local) == digest):
            for old in cache.glob(f"Packages-{self.arch}-*"):
                old.unlink()
            base = f"{src.uri}/dists/{src.suite}/main/binary-{self.arch}"
            urls = [f"{base}/by-hash/SHA256/{digest}"] if by_hash else []
            urls.append(f"{base}/Packages.{comp}")
            for i, url in enumerate(urls):
                try:
                    _http_get(url, local, digest, size)
                    break
                except urllib.error.HTTPError:
                    if i == len(urls) - 1:
                        raise BuildError(f"{url} is missing although {src.suite}'s InRelease lists it") from None
        with openers[comp](local, "rt", encoding="utf-8") as f:
            text = f.read()
        for rec in _fields(text, _PKG_FIELDS):
            if rec.get("Architecture") not in (self.arch, "all"):
                continue
            deps = ", ".join(filter(None, (rec.get("Pre-Depends"), rec.get("Depends"))))
            cand = Candidate(
                rec["Package"],
                rec["Version"],
                rec["Architecture"],
                rec["Filename"],
                rec["SHA256"],
                int(rec["Size"]),
                deps,
                rec.get("Provides", ""),
                src,
            )
            self.by_name.setdefault(cand.name, []).append(cand)
            for alt in parse_relations(cand.provides):
                for virtual, _op, _ver in alt:
                    self.providers.setdefault(virtual, []).append(cand)

    def best(self, name: str, op: str | None = None, wanted: str | None = None) -> Candidate | None:
        """The newest version of `name` across the suites that meets the constraint."""
        best: Candidate | None = None
        for c in self.by_name.get(name, []):
            if not version_satisfies(c.version, op, wanted):
                continue
            if best is None or version_compare(c.version, best.version) > 0:
                best = c
        if best is None and op is None:
            provs = self.providers.get(name, [])
            best = provs[0] if provs else None
        return best

    def exact(self, name: str, version: str) -> Candidate | None:
        return next((c for c in self.by_name.get(name, []) if c.version == version), None)


_SOURCES: list[Source] | None = None
_INDEXES: dict[str, Index] = {}


def get_index(arch: str) -> Index:
    """Load the signed indexes once per run, and only when the cache cannot serve."""
    global _SOURCES
    if arch not in _INDEXES:
        if _SOURCES is None:
            _SOURCES = read_apt_sources()
        log(f"reading Debian {DISTRIBUTION} indexes for {arch} from {', '.join(sorted({s.uri for s in _SOURCES}))}")
        _INDEXES[arch] = Index(arch, _SOURCES)
    return _INDEXES[arch]


# --------------------------------------------------------------------------- .deb files


def deb_path(entry: dict[str, Any]) -> Path:
    return CACHE_DIR / "debs" / Path(entry["filename"]).name


def _stale_message(gone: list[dict[str, Any]], arch: str) -> str:
    names = " and ".join(f"{e['name']} {e['version']}" for e in gone)
    return (
        f"Debian no longer serves {names} ({arch}), which {_rel(LOCK_PATH)} pins: "
        f"re-resolve with `{LOCK_COMMAND.format(arch=arch)}` "
        f"(that is `{LOCK_COMMAND_RAW.format(arch=arch)}`), then rebuild and commit the new lock."
    )


def ensure_debs(entries: list[dict[str, Any]], arch: str) -> None:
    """Make every locked .deb present in the cache, verified; offline when cached."""
    missing = [e for e in entries if not (deb_path(e).is_file() and sha256_file(deb_path(e)) == e["sha256"])]
    if not missing:
        return
    index = get_index(arch)
    gone = [e for e in missing if index.exact(e["name"], e["version"]) is None]
    if gone:
        raise StaleLockError(_stale_message(gone, arch))
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
        futs = [pool.submit(_http_get, f"{c.source.uri}/{c.filename}", deb_path(e), c.sha256, c.size) for c, e in jobs]
        for f in futs:
            f.result()


def _ar_members(f: IO[bytes]) -> Iterator[tuple[str, int]]:
    if f.read(8) != b"!<arch>\n":
        raise BuildError("not a .deb (ar) file")
    while header := f.read(60):
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        start = f.tell()
        yield name, size
        f.seek(start + size + (size & 1))


@dataclass
class _DataTar:
    """The data.tar of a .deb as a tar stream, through dpkg-deb when there is one."""

    deb: Path
    _proc: subprocess.Popen[bytes] | None = None
    _file: IO[bytes] | None = None

    def __enter__(self) -> tarfile.TarFile:
        if shutil.which("dpkg-deb"):
            # stderr is dropped: stopping early (one member of qemu-user-static)
            # makes dpkg-deb complain of a broken pipe; a bad archive still
            # fails in tarfile.
            self._proc = subprocess.Popen(
                ["dpkg-deb", "--fsys-tarfile", str(self.deb)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            assert self._proc.stdout is not None
            return tarfile.open(fileobj=self._proc.stdout, mode="r|")
        f = self.deb.open("rb")
        self._file = f
        for name, size in _ar_members(f):
            if name.startswith("data.tar"):
                comp = name.rsplit(".", 1)[-1] if name != "data.tar" else ""
                if comp not in ("", "xz", "gz", "bz2"):
                    raise BuildError(f"{self.deb.name}: {name} needs dpkg-deb (apt-get install dpkg)")
                data = f.read(size)
                return tarfile.open(fileobj=io.BytesIO(data), mode=f"r:{comp}" if comp else "r:")
        raise BuildError(f"{self.deb.name}: no data.tar member")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            assert self._proc.stdout is not None
            self._proc.stdout.close()
            self._proc.wait()
        if self._file is not None:
            self._file.close()


def extract_deb(entry: dict[str, Any], arch: str) -> Path:
    """Unpack a cached .deb once (dpkg-deb -x needs no root) and return its tree."""
    safe = re.sub(r"[^A-Za-z0-9.+_-]", "_", f"{entry['name']}_{entry['version']}")
    dest = CACHE_DIR / "extract" / arch / safe
    marker = dest.with_name(dest.name + ".ok")
    if dest.is_dir() and marker.is_file() and marker.read_text() == entry["sha256"]:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if shutil.which("dpkg-deb"):
        subprocess.run(["dpkg-deb", "-x", str(deb_path(entry)), str(tmp)], check=True)
    else:
        with _DataTar(deb_path(entry)) as tar:
            kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
            tar.extractall(tmp, **kw)  # a verified Debian package
    tmp.replace(dest)
    marker.write_text(entry["sha256"])
    return dest


def extract_member(entry: dict[str, Any], member: str, dest: Path) -> Path:
    """Pull one file out of a cached .deb (qemu-user-static is 380 MB unpacked)."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    want = {member.lstrip("./"), "./" + member.lstrip("./")}
    with _DataTar(deb_path(entry)) as tar:
        for info in tar:
            if info.name in want and info.isfile():
                src = tar.extractfile(info)
                assert src is not None
                tmp = dest.with_name(dest.name + ".part")
                with tmp.open("wb") as out:
                    shutil.copyfileobj(src, out)
                tmp.chmod(0o755)
                tmp.replace(dest)
                return dest
    raise BuildError(f"{entry['name']} has no {member}")


# --------------------------------------------------------------------------- ELF


@dataclass
class Elf:
    machine: int
    interp: str | None
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)


PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 1, 5, 10, 14, 15, 29


def read_elf(path: Path) -> Elf | None:
    """Parse the program headers and dynamic section; None if not an ELF file.

    Done by hand (not ldd, which would run the host's loader, nor readelf,
    which a build machine may lack) so that foreign-architecture files work too.
    """
    with path.open("rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF":
            return None
        is64 = ident[4] == 2
        end = "<" if ident[5] == 1 else ">"
        hdr_fmt = end + ("HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH")
        hdr = struct.unpack(hdr_fmt, f.read(struct.calcsize(hdr_fmt)))
        machine, phoff, phentsize, phnum = hdr[1], hdr[4], hdr[8], hdr[9]
        ph_fmt = end + ("IIQQQQQQ" if is64 else "IIIIIIII")
        loads: list[tuple[int, int, int]] = []  # vaddr, offset, filesz
        dynamic: tuple[int, int] | None = None
        interp: str | None = None
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p = struct.unpack(ph_fmt, f.read(struct.calcsize(ph_fmt)))
            if is64:
                p_type, _flags, offset, vaddr, _paddr, filesz = p[:6]
            else:
                p_type, offset, vaddr, _paddr, filesz = p[:5]
            if p_type == PT_LOAD:
                loads.append((vaddr, offset, filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (offset, filesz)
            elif p_type == PT_INTERP:
                f.seek(offset)
                interp = f.read(filesz).split(b"\0", 1)[0].decode()
        elf = Elf(machine, interp)
        if dynamic is None:
            return elf
        dyn_fmt = end + ("qQ" if is64 else "iI")
        dsize = struct.calcsize(dyn_fmt)
        f.seek(dynamic[0])
        raw = f.read(dynamic[1])
        tags: list[tuple[int, int]] = []
        for off in range(0, len(raw) - dsize + 1, dsize):
            tag, val = struct.unpack_from(dyn_fmt, raw, off)
            if tag == 0:
                break
            tags.append((tag, val))
        strtab = next((v for t, v in tags if t == DT_STRTAB), None)
        strsz = next((v for t, v in tags if t == DT_STRSZ), 0)
        if strtab is None:
            return elf
        # DT_STRTAB is an address; map it to a file offset through the PT_LOADs.
        str_off = next((o + strtab - va for va, o, sz in loads if va <= strtab < va + sz), None)
        if str_off is None:
            return elf
        f.seek(str_off)
        strings = f.read(strsz)

        def s(v: int) -> str:
            return strings[v : strings.index(b"\0", v)].decode()

        for tag, val in tags:
            if tag == DT_NEEDED:
                elf.needed.append(s(val))
            elif tag == DT_SONAME:
                elf.soname = s(val)
            elif tag == DT_RPATH:
                elf.rpath = s(val).split(":")
            elif tag == DT_RUNPATH:
                elf.runpath = s(val).split(":")
        return elf


def resolve_in_tree(root: Path, path: Path) -> Path | None:
    """Follow symlinks as if `root` were /, without ever leaving it."""
    for _ in range(40):
        if not path.is_symlink():
            return path if path.exists() else None
        target = os.readlink(path)
        joined = root / target.lstrip("/") if target.startswith("/") else path.parent / target
        path = Path(os.path.normpath(joined))
        if root != path and root not in path.parents:
            return None
    return None


def libraries_in_tree(root: Path, arch: Arch) -> dict[str, Path]:
    """Every shared-object name in a package tree's library directories -> real file."""
    found: dict[str, Path] = {}
    for d in (f"lib/{arch.triplet}", f"usr/lib/{arch.triplet}", "lib", "usr/lib", "lib64", "usr/lib64"):
        base = root / d
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if ".so" in child.name and child.name not in found:
                real = resolve_in_tree(root, child)
                if real is not None and real.is_file():
                    found[child.name] = real
    return found


# --------------------------------------------------------------------------- resolving


def _package_guess(soname: str) -> str:
    # Debian policy: libfoo.so.3 -> libfoo3, libfoo2.so.1 -> libfoo2-1.
    m = re.match(r"^(.*?)\.so(?:\.(\d+))?", soname)
    stem, num = (m.group(1), m.group(2)) if m else (soname, None)
    stem = stem.lower().replace("_", "-")
    if num is None:
        return stem
    return f"{stem}-{num}" if stem[-1].isdigit() else f"{stem}{num}"


def _rank(soname: str, names: Iterable[str]) -> list[str]:
    """Likeliest providers of a soname first, so few wrong packages are fetched."""
    if GLIBC_SONAME.match(soname):
        return sorted(names, key=lambda n: n != "libc6")
    guess = _package_guess(soname)

    def score(n: str) -> tuple[int, int, str]:
        common = next((i for i, (a, b) in enumerate(zip(guess, n, strict=False)) if a != b), min(len(guess), len(n)))
        return (0 if n == guess else 1, -common, n)

    return sorted(names, key=score)


class Resolver:
    """Find the packages behind the tesseract binary's full shared-library closure.

    Starts from Debian's tesseract-ocr and follows each DT_NEEDED to the package
    (among the dependencies of the package that needs it) whose files provide it.
    tesseract-ocr's own Depends name cairo, pango and more for its training
    tools; following ELF files instead of Depends keeps those out.
    """

    def __init__(self, arch: Arch, index: Index) -> None:
        self.arch = arch
        self.index = index
        self.fetched: dict[str, Candidate] = {}
        self.trees: dict[str, Path] = {}
        self.libs: dict[str, tuple[str, Path]] = {}  # soname -> (package, file)
        self.provides: dict[str, list[str]] = {}

    def fetch(self, cand: Candidate) -> None:
        entry = cand.lock_entry()
        ensure_debs_for_candidates([cand])
        tree = extract_deb(entry, self.arch.debian)
        self.fetched[cand.name] = cand
        self.trees[cand.name] = tree
        for so, path in libraries_in_tree(tree, self.arch).items():
            self.libs.setdefault(so, (cand.name, path))

    def dependencies(self, pkg: str) -> list[Candidate]:
        out: list[Candidate] = []
        for group in parse_relations(self.fetched[pkg].depends):
            for name, op, ver in group:
                cand = self.index.best(name, op, ver)
                if cand is not None:
                    out.append(cand)
                    break
            else:
                raise BuildError(f"{pkg}: no bookworm package satisfies {group}")
        return out

    def locate(self, soname: str, owner: str) -> tuple[str, Path]:
        if soname in self.libs:
            return self.libs[soname]
        seen = {owner}
        frontier = [owner]
        # Breadth-first over the dependency graph: nearly always a direct dependency.
        while frontier:
            cands = {c.name: c for p in frontier for c in self.dependencies(p) if c.name not in seen}
            for name in _rank(soname, cands):
                if name not in self.fetched:
                    self.fetch(cands[name])
                if soname in self.libs:
                    return self.libs[soname]
            seen |= set(cands)
            frontier = [n for n in cands if n in self.fetched]
        raise BuildError(f"no dependency of {owner} provides {soname}")

    def run(self) -> list[dict[str, Any]]:
        prog = self.index.best(PROGRAM_PACKAGE)
        if prog is None:
            raise BuildError(f"{PROGRAM_PACKAGE} is not in Debian {DISTRIBUTION} for {self.arch.debian}")
        self.fetch(prog)
        used = {PROGRAM_PACKAGE}
        queue = [(PROGRAM_PACKAGE, self.trees[PROGRAM_PACKAGE] / PROGRAM_PATH)]
        done: set[str] = set()
        while queue:
            owner, path = queue.pop(0)
            elf = read_elf(path)
            if elf is None:
                raise BuildError(f"{path} is not an ELF file")
            names = list(elf.needed) + ([Path(elf.interp).name] if elf.interp else [])
            for so in names:
                if so in done:
                    continue
                done.add(so)
                pkg, file = self.locate(so, owner)
                used.add(pkg)
                self.provides.setdefault(pkg, []).append(so)
                queue.append((pkg, file))
        return [self.fetched[n].lock_entry(provides=sorted(self.provides.get(n, []))) for n in sorted(used)]


def ensure_debs_for_candidates(cands: list[Candidate]) -> None:
    for c in cands:
        path = deb_path(c.lock_entry())
        if not (path.is_file() and sha256_file(path) == c.sha256):
            _http_get(f"{c.source.uri}/{c.filename}", path, c.sha256, c.size)


def language_package(lang: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]+", lang):
        raise BuildError(f"{lang!r} is not a Tesseract language code (eng, deu, chi_sim, ...)")
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def resolve_language(index: Index, lang: str) -> dict[str, Any]:
    cand = index.best(language_package(lang))
    if cand is None:
        raise BuildError(
            f"Debian {DISTRIBUTION} has no {language_package(lang)} for language {lang!r}; "
            "see `apt-cache search tesseract-ocr-` for the codes"
        )
    return cand.lock_entry()


# --------------------------------------------------------------------------- lock file


def read_lock() -> dict[str, Any]:
    if LOCK_PATH.is_file():
        return json.loads(LOCK_PATH.read_text())
    return {}


def write_lock(lock: dict[str, Any]) -> None:
    lock["about"] = (
        "Exact Debian bookworm packages behind the Tesseract layer, per architecture, with the "
        "SHA-256 of each .deb as the signed Packages index gave it. Written by layers/build.py; "
        "`make layer-lock` (python3 layers/build.py --relock) re-resolves. `languages` holds every "
        "language ever built; a build uses those named in TESSERACT_LANGS plus osd. `tools` are "
        "what the tests need (a static shell, qemu), never part of the layer."
    )
    lock["distribution"] = f"debian/{DISTRIBUTION}"
    ordered = {k: lock[k] for k in ("about", "distribution")}
    ordered["arches"] = {}
    for name in sorted(lock.get("arches", {})):
        section = dict(lock["arches"][name])
        for key in ("languages", "tools"):  # sorted, so that adding one is a small diff
            section[key] = dict(sorted(section.get(key, {}).items()))
        ordered["arches"][name] = section
    tmp = LOCK_PATH.with_name(LOCK_PATH.name + ".tmp")
    tmp.write_text(json.dumps(ordered, indent=2) + "\n")
    tmp.replace(LOCK_PATH)


def relock_arch(lock: dict[str, Any], arch: Arch, langs: list[str]) -> None:
    index = get_index(arch.debian)
    old = lock.get("arches", {}).get(arch.debian, {})
    keep_langs = sorted(set(old.get("languages", {})) | set(langs))
    log(f"resolving tesseract's shared-library closure for {arch.debian}")
    program = Resolver(arch, index).run()
    tools = {}
    for t in TOOLS[arch.debian]:
        cand = index.best(t)
        if cand is None:
            raise BuildError(f"{t} is not in Debian {DISTRIBUTION} for {arch.debian}")
        tools[t] = cand.lock_entry()
    lock.setdefault("arches", {})[arch.debian] = {
        "resolved": time.strftime("%Y-%m-%d", time.gmtime()),
        "packages": program,
        "languages": {lang: resolve_language(index, lang) for lang in keep_langs},
        "tools": tools,
    }
    write_lock(lock)
    log(f"wrote {_rel(LOCK_PATH)} for {arch.debian}: {len(program)} packages")


def arch_lock(arch: str, lock: dict[str, Any] | None = None) -> dict[str, Any]:
    lock = read_lock() if lock is None else lock
    section = lock.get("arches", {}).get(arch)
    if not section:
        raise StaleLockError(
            f"{_rel(LOCK_PATH)} has nothing for {arch}: resolve it with "
            f"`{LOCK_COMMAND.format(arch=arch)}` (that is `{LOCK_COMMAND_RAW.format(arch=arch)}`)."
        )
    return section


def fetch_tool(name: str, arch: str, member: str | None = None) -> Path:
    """A locked helper package (busybox-static, qemu-user-static) unpacked, for the tests.

    With `member`, only that file is extracted and its path returned; otherwise
    the package's whole tree.
    """
    tools = arch_lock(arch).get("tools", {})
    if name not in tools:
        raise StaleLockError(
            f"{_rel(LOCK_PATH)} does not pin {name} for {arch}: re-resolve with "
            f"`{LOCK_COMMAND.format(arch=arch)}` (that is `{LOCK_COMMAND_RAW.format(arch=arch)}`)."
        )
    entry = tools[name]
    with exclusive():
        ensure_debs([entry], arch)
        if member is None:
            return extract_deb(entry, arch)
        safe = re.sub(r"[^A-Za-z0-9.+_-]", "_", f"{name}_{entry['version']}")
        return extract_member(entry, member, CACHE_DIR / "tools" / arch / safe / Path(member).name)


# --------------------------------------------------------------------------- assembling

WRAPPER = """#!/bin/sh
# Tesseract {version} from Debian {dist} ({arch}), written by layers/build.py.
# Debian's binaries need a newer glibc than Lambda's Amazon Linux, so they run
# through this layer's own loader and libraries: nothing of the host's libc is
# used, and the caller needs to set neither LD_LIBRARY_PATH nor TESSDATA_PREFIX.
self=$0
# A symlink to this script (say in /usr/local/bin) must still find the layer.
while [ -h "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) self=${{self%/*}}/$link ;;
  esac
done
case $self in
  */*) d=${{self%/*}} ;;
  *) d=. ;;
esac
case $d in
  /*) ;;
  *) d=$PWD/$d ;;
esac
TESSDATA_PREFIX=${{TESSDATA_PREFIX:-$d/../{tessdata}}}
export TESSDATA_PREFIX
exec "$d/../{lib}/{loader}" --library-path "$d/../{lib}" --inhibit-cache --argv0 "$0" "$d/tesseract.real" "$@"
"""


def output_dir(arch: str) -> Path:
    # Only amd64 is the layer serverless.yml packages; other arches stay out of it.
    return LAYERS_DIR / "tesseract" if arch == "amd64" else BUILD_DIR / f"tesseract-{arch}"


def zip_path(arch: str) -> Path:
    return BUILD_DIR / f"tesseract-{arch}.zip"


def _copy(src: Path, dest: Path, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def _tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def manifest(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in _tree_files(root)}


def assemble(
    arch: Arch,
    program_tree: Path,
    libs: dict[str, Path],
    data_trees: list[Path],
    package_trees: list[Path],
    version: str,
    out: Path,
) -> None:
    stage = BUILD_DIR / f"stage-{arch.debian}"
    shutil.rmtree(stage, ignore_errors=True)
    _copy(program_tree / PROGRAM_PATH, stage / "bin" / "tesseract.real", 0o755)
    wrapper = stage / "bin" / "tesseract"
    wrapper.write_text(
        WRAPPER.format(
            version=version,
            dist=DISTRIBUTION,
            arch=arch.debian,
            tessdata=TESSDATA_SUBDIR,
            lib=LIB_SUBDIR,
            loader=arch.loader,
        )
    )
    wrapper.chmod(0o755)
    for so, src in sorted(libs.items()):
        # Real files under their DT_NEEDED names: no symlinks, which zips mangle.
        _copy(src, stage / LIB_SUBDIR / so, 0o755)
    tessdata = stage / TESSDATA_SUBDIR
    for tree in data_trees:
        for model in sorted((tree / DEBIAN_TESSDATA).glob("*.traineddata")):
            _copy(resolve_in_tree(tree, model) or model, tessdata / model.name, 0o644)
    # The configs and pdf.ttf come with libtesseract5, not tesseract-ocr.
    for tree in package_trees:
        for extra in TESSDATA_EXTRAS:
            src = tree / DEBIAN_TESSDATA / extra
            for f in [src] if src.is_file() else sorted(src.rglob("*")):
                if f.is_file():
                    _copy(f, tessdata / f.relative_to(tree / DEBIAN_TESSDATA), 0o644)
    if not (tessdata / "configs" / "tsv").is_file():
        raise BuildError("no Tesseract configs (tsv, hocr, ...) in the locked packages")
    for p in [*_tree_files(stage), *sorted(q for q in stage.rglob("*") if q.is_dir()), stage]:
        os.utime(p, (FIXED_MTIME, FIXED_MTIME))
    out.parent.mkdir(parents=True, exist_ok=True)
    old = BUILD_DIR / f"old-{arch.debian}"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.replace(old)
    stage.replace(out)
    shutil.rmtree(old, ignore_errors=True)


def write_zip(root: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for p in _tree_files(root):
            info = zipfile.ZipInfo(str(p.relative_to(root)), date_time=(2000, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix, so Lambda keeps the execute bits
            info.external_attr = (0o100000 | (p.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with p.open("rb") as src, z.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(dest)


def smoke_test(out: Path) -> str:
    """Run the layer's tesseract as a function would: no helpful environment."""
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/nonexistent"}
    proc = subprocess.run([str(out / "bin" / "tesseract"), "--version"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError(f"the built layer's tesseract does not start:\n{proc.stderr.strip()}")
    return (proc.stdout + proc.stderr).splitlines()[0]


def parse_langs(text: str) -> list[str]:
    langs = [lang for lang in re.split(r"[+,\s]+", text.strip()) if lang]
    for lang in ALWAYS_LANGS:
        if lang not in langs:
            langs.append(lang)
    for lang in langs:
        language_package(lang)  # validates
    return langs


def build(arch_name: str, langs: list[str], relock: bool) -> dict[str, Any]:
    started = time.monotonic()
    arch = ARCHES[arch_name]
    lock = read_lock()
    section = lock.get("arches", {}).get(arch_name)
    if relock or not section:
        if not section and not relock:
            log(f"{_rel(LOCK_PATH)} has no {arch_name} packages yet: resolving them")
        relock_arch(lock, arch, langs)
        section = lock["arches"][arch_name]
    missing = [lang for lang in langs if lang not in section.get("languages", {})]
    if missing:
        # Adding a language only adds its data package: no other pin moves.
        index = get_index(arch_name)
        for lang in missing:
            section.setdefault("languages", {})[lang] = resolve_language(index, lang)
        write_lock(lock)
        log(f"added {', '.join(missing)} to {_rel(LOCK_PATH)}: commit it")
    packages = section["packages"]
    lang_entries = [section["languages"][lang] for lang in langs]
    out = output_dir(arch_name)
    zpath = zip_path(arch_name)
    stamp_path = BUILD_DIR / f"tesseract-{arch_name}.stamp.json"
    inputs = hashlib.sha256(
        json.dumps([packages, lang_entries, langs, Path(__file__).read_bytes().hex()]).encode()
    ).hexdigest()
    stamp: dict[str, Any] = {}
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text())
    if (
        stamp.get("inputs") == inputs
        and out.is_dir()
        and manifest(out) == stamp.get("files")
        and zpath.is_file()
        and zpath.stat().st_size == stamp.get("zip_size")
    ):
        stamp["seconds"] = round(time.monotonic() - started, 2)
        stamp["up_to_date"] = True
        return stamp

    ensure_debs(packages + lang_entries, arch_name)
    trees = {e["name"]: extract_deb(e, arch_name) for e in packages}
    data_trees = [extract_deb(e, arch_name) for e in lang_entries]
    # Walk the ELF closure again over the locked packages: the lock says which
    # packages, the files say which libraries, so nothing unused is shipped.
    available: dict[str, Path] = {}
    for name in sorted(trees):
        for so, path in libraries_in_tree(trees[name], arch).items():
            available.setdefault(so, path)
    program_tree = trees[PROGRAM_PACKAGE]
    libs: dict[str, Path] = {}
    queue = [program_tree / PROGRAM_PATH]
    while queue:
        elf = read_elf(queue.pop(0))
        assert elf is not None
        if elf.machine != arch.elf_machine:
            raise BuildError(f"expected {arch.debian} ELF files, found machine {elf.machine}")
        for so in elf.needed + ([Path(elf.interp).name] if elf.interp else []):
            if so in libs:
                continue
            if so not in available:
                raise StaleLockError(
                    f"the locked packages lack {so}, which tesseract needs: re-resolve with "
                    f"`{LOCK_COMMAND.format(arch=arch_name)}` (that is `{LOCK_COMMAND_RAW.format(arch=arch_name)}`)."
                )
            libs[so] = available[so]
            queue.append(available[so])
    prog = next(e for e in packages if e["name"] == PROGRAM_PACKAGE)
    assemble(arch, program_tree, libs, data_trees, [trees[n] for n in sorted(trees)], prog["version"], out)
    if platform.machine() == arch.uname:
        version = smoke_test(out)
    else:
        version = f"tesseract {prog['version']} (not run: {arch.uname} layer on {platform.machine()})"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    write_zip(out, zpath)
    files = manifest(out)
    stamp = {
        "inputs": inputs,
        "arch": arch_name,
        "output": _rel(out),
        "zip": _rel(zpath),
        "tesseract": version,
        "languages": langs,
        "packages": len(packages) + len(lang_entries),
        "libraries": len(libs),
        "unzipped_bytes": sum(files.values()),
        "zip_size": zpath.stat().st_size,
        "files": files,
    }
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    stamp["seconds"] = round(time.monotonic() - started, 2)
    stamp["up_to_date"] = False
    if stamp["unzipped_bytes"] > LAMBDA_LIMIT:
        raise BuildError(
            f"the layer is {stamp['unzipped_bytes'] / 1e6:.1f} MB unzipped, over Lambda's 250 MB limit "
            "(function included): build fewer languages"
        )
    return stamp


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(ARCHES), default="amd64")
    ap.add_argument(
        "--langs",
        default=os.environ.get("TESSERACT_LANGS") or "eng",
        help="Tesseract language codes joined by + (default: $TESSERACT_LANGS or eng); osd is always added",
    )
    ap.add_argument("--relock", action="store_true", help="re-resolve the packages from Debian's current indexes")
    args = ap.parse_args(argv)
    try:
        langs = parse_langs(args.langs)
        with exclusive():
            s = build(args.arch, langs, args.relock)
    except BuildError as e:
        print(f"layers/build.py: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    state = "up to date" if s["up_to_date"] else "built"
    print(f"{s['output']} {state} in {s['seconds']:.1f} s: {s['tesseract']}, languages {'+'.join(s['languages'])}")
    print(
        f"  {s['libraries']} libraries from {s['packages']} Debian packages; "
        f"unzipped {s['unzipped_bytes'] / 1e6:.1f} MB ({s['unzipped_bytes']} bytes), "
        f"zip {s['zip_size'] / 1e6:.1f} MB ({s['zip']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
