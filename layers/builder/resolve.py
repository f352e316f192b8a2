"""Which packages and libraries tesseract needs, found by following its ELF files.

The ELF files are followed rather than Debian's Depends: tesseract-ocr's own
Depends name cairo, pango and more for its training tools, which the layer
does not ship. Depends only narrow the search for the package of a library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import ALWAYS_LANGS, DISTRIBUTION, PROGRAM_PACKAGE, PROGRAM_PATH, TOOLS, Arch
from .debs import extract_deb, libraries_in_tree
from .elf import Elf, read_elf
from .fetch import download_candidates
from .index import Candidate, Index, parse_relations
from .report import BuildError, StaleLockError, relock_hint

# glibc's libraries all live in libc6; naming them saves fetching unrelated
# dependencies while looking for e.g. libm.so.6.
GLIBC_SONAME = re.compile(
    r"^(ld-linux[-\w.]*\.so\.\d+|lib(c|m|dl|pthread|rt|resolv|util|anl|mvec|nsl|thread_db)\.so\.\d+)$"
)


def _read(path: Path) -> Elf:
    elf = read_elf(path)
    if elf is None:
        raise BuildError(f"{path} is not an ELF file")
    return elf


def _loads(elf: Elf) -> list[str]:
    """The names a program or library makes the loader find: DT_NEEDED, then the interpreter's."""
    return elf.needed + ([Path(elf.interp).name] if elf.interp else [])


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
    """

    def __init__(self, arch: Arch, index: Index, cache: Path) -> None:
        self.arch = arch
        self.index = index
        self.cache = cache
        self.fetched: dict[str, Candidate] = {}
        self.trees: dict[str, Path] = {}
        self.libs: dict[str, tuple[str, Path]] = {}  # soname -> (package, file)
        self.provides: dict[str, list[str]] = {}

    def fetch(self, cand: Candidate) -> None:
        download_candidates([cand], self.cache)
        tree = extract_deb(cand.lock_entry(), self.arch.debian, self.cache)
        self.fetched[cand.name] = cand
        self.trees[cand.name] = tree
        for so, path in libraries_in_tree(tree, self.arch).items():
            self.libs.setdefault(so, (cand.name, path))

    def dependencies(self, pkg: str) -> list[Candidate]:
        """For each Depends group of `pkg`, the first alternative the index can satisfy."""
        out: list[Candidate] = []
        for group in parse_relations(self.fetched[pkg].depends):
            cand = next((c for rel in group if (c := self.index.best(rel["name"], rel["version"]))), None)
            if cand is None:
                wanted = " | ".join(rel["name"] for rel in group)
                raise BuildError(f"{pkg}: no {DISTRIBUTION} package satisfies {wanted}")
            out.append(cand)
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
        """The lock entries of every package that provides a library of the closure."""
        prog = self.index.best(PROGRAM_PACKAGE)
        if prog is None:
            raise BuildError(f"{PROGRAM_PACKAGE} is not in Debian {DISTRIBUTION} for {self.arch.debian}")
        self.fetch(prog)
        used = {PROGRAM_PACKAGE}
        queue = [(PROGRAM_PACKAGE, self.trees[PROGRAM_PACKAGE] / PROGRAM_PATH)]
        done: set[str] = set()
        while queue:
            owner, path = queue.pop(0)
            for so in _loads(_read(path)):
                if so in done:
                    continue
                done.add(so)
                pkg, file = self.locate(so, owner)
                used.add(pkg)
                self.provides.setdefault(pkg, []).append(so)
                queue.append((pkg, file))
        return [self.fetched[n].lock_entry(provides=sorted(self.provides.get(n, []))) for n in sorted(used)]


def locked_libraries(trees: dict[str, Path], arch: Arch) -> dict[str, Path]:
    """Walk the closure again over the locked packages' trees: soname -> the file to ship.

    The lock says which packages, the files say which libraries, so nothing
    unused is shipped.
    """
    available: dict[str, Path] = {}
    for name in sorted(trees):
        for so, path in libraries_in_tree(trees[name], arch).items():
            available.setdefault(so, path)
    libs: dict[str, Path] = {}
    queue = [trees[PROGRAM_PACKAGE] / PROGRAM_PATH]
    while queue:
        elf = _read(queue.pop(0))
        if elf.machine != arch.elf_machine:
            raise BuildError(f"expected {arch.debian} ELF files, found machine {elf.machine}")
        for so in _loads(elf):
            if so in libs:
                continue
            if so not in available:
                raise StaleLockError(
                    f"the locked packages lack {so}, which tesseract needs: re-resolve with {relock_hint(arch.debian)}."
                )
            libs[so] = available[so]
            queue.append(available[so])
    return libs


def language_package(lang: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]+", lang):
        raise BuildError(f"{lang!r} is not a Tesseract language code (eng, deu, chi_sim, ...)")
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def parse_langs(text: str) -> list[str]:
    """'eng+deu' -> ['eng', 'deu', 'osd']: Tesseract's codes, validated, with osd always added."""
    langs = [lang for lang in re.split(r"[+,\s]+", text.strip()) if lang]
    for lang in ALWAYS_LANGS:
        if lang not in langs:
            langs.append(lang)
    for lang in langs:
        language_package(lang)  # validates
    return langs


def resolve_language(index: Index, lang: str) -> dict[str, Any]:
    cand = index.best(language_package(lang))
    if cand is None:
        raise BuildError(
            f"Debian {DISTRIBUTION} has no {language_package(lang)} for language {lang!r}; "
            "see `apt-cache search tesseract-ocr-` for the codes"
        )
    return cand.lock_entry()


def resolve_tools(index: Index, arch: str) -> dict[str, dict[str, Any]]:
    """The test helpers' packages (static busybox, qemu), pinned like the layer's."""
    tools = {}
    for t in TOOLS[arch]:
        cand = index.best(t)
        if cand is None:
            raise BuildError(f"{t} is not in Debian {DISTRIBUTION} for {arch}")
        tools[t] = cand.lock_entry()
    return tools
