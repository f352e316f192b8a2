"""The benchmark's progress lines: on standard error, timestamped, so results on standard output stay clean."""

from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
