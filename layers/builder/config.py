"""The fixed facts of the build: which Debian, which architectures, the layer's layout, where files go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DISTRIBUTION = "bookworm"
SUITES = ("bookworm", "bookworm-updates", "bookworm-security")

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


@dataclass(frozen=True)
class Arch:
    debian: str
    triplet: str
    loader: str
    elf_machine: str  # e_machine as pyelftools names it
    uname: str


ARCHES = {
    "amd64": Arch("amd64", "x86_64-linux-gnu", "ld-linux-x86-64.so.2", "EM_X86_64", "x86_64"),
    "arm64": Arch("arm64", "aarch64-linux-gnu", "ld-linux-aarch64.so.1", "EM_AARCH64", "aarch64"),
}
# Packages the tests need to prove the layer: a static shell for the empty root,
# and (on an x86_64 host) the emulator that runs the arm64 layer.
TOOLS = {"amd64": ("busybox-static", "qemu-user-static"), "arm64": ("busybox-static",)}


@dataclass(frozen=True)
class Paths:
    """Where a build reads and writes; layers/build.py fills it in, a test may point it elsewhere."""

    repo: Path
    layers: Path
    lock: Path
    build: Path  # staging, stamps, zips and the non-amd64 trees (git-ignored)
    cache: Path  # downloads and unpacked packages (git-ignored, LAYER_CACHE_DIR)

    def output_dir(self, arch: str) -> Path:
        # Only amd64 is the layer serverless.yml packages; other arches stay out of it.
        return self.layers / "tesseract" if arch == "amd64" else self.build / f"tesseract-{arch}"

    def zip_path(self, arch: str) -> Path:
        return self.build / f"tesseract-{arch}.zip"

    def stamp_path(self, arch: str) -> Path:
        return self.build / f"tesseract-{arch}.stamp.json"

    def rel(self, path: Path) -> str:
        """A path as a user in the repository would type it, for messages."""
        try:
            return str(path.relative_to(self.repo))
        except ValueError:
            return str(path)
