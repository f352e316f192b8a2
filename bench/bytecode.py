"""The compiled bytecode a cold start finds: the layer's but not our code's (as shipped), or all of it.

Lambda's code and layer filesystems are read-only, so a module without a
``.pyc`` there is compiled from source at every cold start. The runtime's own
files (the standard library, boto3, botocore, s3transfer) come compiled;
scripts/build_python_deps.py compiles the pythonDeps layer for Lambda's
Python when this machine has one (otherwise the layer ships none), and our
own modules (handlers/, lib/) with it (checked-hash .pyc beside the sources).
``shipped`` reproduces that;
``compiled`` gives every module its ``.pyc``. Each state is a pycache prefix private to
the run (``-X pycache_prefix``), filled by unmeasured runs, so neither the
repository's ``__pycache__`` nor a developer's PYTHONDONTWRITEBYTECODE decides
what is measured.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path

from bench.paths import BENCH, CACHE, ROOT

STATES = ("shipped", "compiled")
# Besides the standard library, what Lambda's Python runtime brings compiled.
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer"})


@dataclass(frozen=True)
class Bytecode:
    """One bytecode state: a name and the pycache prefix the measured interpreters read."""

    state: str
    prefix: Path

    def flags(self, *, write: bool = False) -> list[str]:
        """Interpreter flags: read .pyc from this prefix only; write none unless filling it (-B)."""
        return ["-X", f"pycache_prefix={self.prefix}", *(() if write else ("-B",))]


def states(work: Path) -> dict[str, Bytecode]:
    """Both states, with their (empty until filled) prefixes under ``work``."""
    return {state: Bytecode(state, work / f"pycache-{state}") for state in STATES}


def layer_compiled() -> bool:
    """Whether `sls package` would ship the pythonDeps layer compiled from this machine."""
    from scripts.build_python_deps import RUNTIME_PYTHON, runtime_python

    return runtime_python(RUNTIME_PYTHON) is not None


def _runtime_provided(source: Path) -> bool:
    """Whether a cold start on Lambda finds this module compiled (the bench's own harness counts too).

    The harness (bench/worker.py and the baseline functions) is kept compiled
    on both sides alike; the Lambda-like site under bench/.cache is the layer.
    """
    if source.is_relative_to(CACHE) or source.is_relative_to(ROOT / "lib") or source.is_relative_to(ROOT / "handlers"):
        return layer_compiled()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    in_stdlib = source.is_relative_to(stdlib) or source.is_relative_to(stdlib.resolve())
    if in_stdlib and "site-packages" not in source.parts:
        return True
    if source.is_relative_to(BENCH) and not source.is_relative_to(CACHE):
        return True
    return bool(RUNTIME_PACKAGES & set(source.parts))


def strip_to_runtime(bytecode: Bytecode) -> int:
    """Delete every .pyc a cold start on Lambda would not find; returns how many went."""
    removed = 0
    for pyc in bytecode.prefix.rglob("*.pyc"):
        # A prefix mirrors the source's absolute directory: PREFIX/work/lib/x.cpython-311.pyc is /work/lib/x.py.
        if not _runtime_provided(Path("/") / pyc.relative_to(bytecode.prefix)):
            pyc.unlink()
            removed += 1
    return removed
