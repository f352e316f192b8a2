"""Where the benchmark reads and writes: the repository, its results, its chart and its scratch cache."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_RESULTS = BENCH / "results"
DEFAULT_CHART = BENCH / "summary.png"
# Scratch space that survives between runs (page JSON made once); ignored by git as `.cache/`.
CACHE = BENCH / ".cache"
