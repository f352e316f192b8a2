"""What every figure reports: median with min and max, and p95 when there are enough values."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Median with min and max (and p95 when there are enough values): what every figure reports."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    out: dict[str, Any] = {
        "median": round(statistics.median(ordered), digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "n": len(ordered),
    }
    if len(ordered) >= 2:
        out["p95"] = round(percentile(ordered, 95), digits)
    return out


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
