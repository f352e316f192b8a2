"""What an ELF file loads: its DT_NEEDED, DT_SONAME, RPATH/RUNPATH and PT_INTERP, read with pyelftools.

Read from the file rather than asked of ldd (which would run the host's loader)
or readelf (which a build machine may lack), so foreign-architecture files
work too. The dynamic *segment* is read, as the loader does, not the section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import InterpSegment


@dataclass
class Elf:
    machine: str  # e_machine as pyelftools names it: EM_X86_64, EM_AARCH64
    interp: str | None
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)


def read_elf(path: Path) -> Elf | None:
    """The dynamic-linking facts of an ELF file, in file order; None if it is not an ELF file."""
    with path.open("rb") as f:
        if f.read(4) != b"\x7fELF":
            return None
        f.seek(0)
        elffile = ELFFile(f)
        elf = Elf(elffile["e_machine"], None)
        for seg in elffile.iter_segments():
            if isinstance(seg, InterpSegment):
                elf.interp = seg.get_interp_name()
            elif isinstance(seg, DynamicSegment):
                for tag in seg.iter_tags():
                    kind = tag.entry.d_tag
                    if kind == "DT_NEEDED":
                        elf.needed.append(tag.needed)
                    elif kind == "DT_SONAME":
                        elf.soname = tag.soname
                    elif kind == "DT_RPATH":
                        elf.rpath = tag.rpath.split(":")
                    elif kind == "DT_RUNPATH":
                        elf.runpath = tag.runpath.split(":")
        return elf
