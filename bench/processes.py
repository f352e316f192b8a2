"""Child processes measured: wall time and CPU time from wait4, peak memory sampled from /proc, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import CpuLimit
from pagesearch.lambda_local import REGION


@dataclass
class Run:
    """A finished child process: wall time, its own rusage (peak RSS of it and its waited children)."""

    wall_s: float
    rusage_maxrss_mb: float  # includes the parent's memory at fork: see TreeSampler
    user_s: float
    sys_s: float
    returncode: int
    stdout: bytes = b""
    stderr: str = ""
    sampler: TreeSampler | None = None
    output: Path | None = None  # what the command wrote, when the caller knows
    started_at: float = 0.0  # perf_counter just before the spawn, to place the child's own stamps

    @property
    def peak_mb(self) -> float:
        """The process's own peak (VmHWM sampled; rusage's figure includes its parent's at fork)."""
        assert self.sampler is not None, "run with sample=True"
        return self.sampler.root_hwm()

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def child_env(extra: dict[str, str] | None = None, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """A clean environment for children: nothing of a developer's endpoints or thread settings leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "OPENSEARCH_", "PAGESEARCH_", "POWERTOOLS_"))
        and k not in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "TESSERACT_CMD", "AWS_PROFILE")
        and k not in drop
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    # The project's venv first, as `make` does.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _proc_status(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("Name", "VmRSS", "VmHWM"):
                out[key] = value.strip()
    return out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(c) for c in children.read().split())
    except OSError:
        pass
    return found


class TreeSampler:
    """Samples a process tree's memory from /proc: each process's high-water mark and the tree's summed RSS.

    Why not getrusage: Linux carries a process's ru_maxrss across fork and exec,
    so a Tesseract started by a 70 MB Python (or by this benchmark) reports at
    least 70 MB whatever it used itself. VmHWM, the high-water mark of the
    process's current memory map, starts afresh at exec. Sampling can miss growth
    in the last interval of a process's life; the tree sum can miss a short
    spike, so it is the lower bound, and the sum of the processes' VmHWM the upper.
    """

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self._root = pid
        self._interval = interval
        self.peak_sum_mb = 0.0
        self.root_rss_at_peak_mb = 0.0  # what the root (Python) held at the tree's peak
        self.hwm_mb: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        pending, total, root_name, root_rss = [self._root], 0.0, None, 0.0
        while pending:
            pid = pending.pop()
            try:
                status = _proc_status(pid)
            except OSError:
                continue
            pending.extend(_children(pid))
            rss = float(status.get("VmRSS", "0 kB").split()[0]) / 1024
            hwm = float(status.get("VmHWM", "0 kB").split()[0]) / 1024
            name = status.get("Name", "?")
            if pid == self._root:
                root_name, root_rss = name, rss
            elif name == root_name:
                # A child between fork and exec is a copy of its parent sharing the
                # parent's pages: counting it would count the parent twice.
                continue
            total += rss
            seen_name, seen_hwm = self.hwm_mb.get(pid, (name, 0.0))
            # A new name means exec: a new memory map whose high-water mark starts afresh.
            self.hwm_mb[pid] = (name, max(hwm, seen_hwm) if seen_name == name else hwm)
        if total > self.peak_sum_mb:
            self.peak_sum_mb, self.root_rss_at_peak_mb = total, root_rss

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_sum_mb

    def peak_of(self, name: str) -> float:
        """The largest high-water mark among processes of that name (0 if none was seen)."""
        return max((hwm for n, hwm in self.hwm_mb.values() if n == name), default=0.0)

    def root_hwm(self) -> float:
        return self.hwm_mb.get(self._root, ("", 0.0))[1]


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin: bytes | None = None,
    capture: bool = False,
    sample: bool = False,
    cpu: CpuLimit | None = None,
    timeout: float = 900,
    stderr_tail: int = 2000,
) -> Run:
    """Run a command to completion; wall time and the child's own rusage via wait4 (not Popen.wait)."""
    argv = cpu.wrap(list(cmd)) if cpu else list(cmd)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
        )
        sampler = TreeSampler(proc.pid) if sample else None
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        # A blocking wait4 returns the moment the child exits (no polling quantum in the timing).
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        if sampler:
            sampler.stop()
        err.seek(0)
        out.seek(0)
        return Run(
            wall_s=wall,
            rusage_maxrss_mb=usage.ru_maxrss / 1024,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            returncode=proc.returncode,
            stdout=out.read() if capture else b"",
            stderr=err.read().decode(errors="replace")[-stderr_tail:],
            sampler=sampler,
            started_at=started,
        )
