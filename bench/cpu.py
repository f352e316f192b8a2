"""Lambda's CPU share by memory size, emulated with a cgroup CPU quota for child processes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

# Lambda gives one full vCPU at 1,769 MB and CPU in proportion to memory below that.
LAMBDA_MB_PER_VCPU = 1769


class CpuLimit:
    """A CFS quota for child processes, as Lambda sizes CPU by memory (cgroup v1 `cpu` or v2 `cpu.max`).

    Lambda itself runs functions under such a quota, so a page's duration under
    ``CpuLimit.for_memory(512)`` stands for its duration in a 512 MB function.
    """

    PERIOD_US = 100_000

    def __init__(self, vcpus: float) -> None:
        self.vcpus = vcpus
        self.path: Path | None = None
        base_v1 = Path("/sys/fs/cgroup/cpu")
        base_v2 = Path("/sys/fs/cgroup")
        name = f"pagesearch-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        quota = max(1000, int(vcpus * self.PERIOD_US))
        if (base_v1 / "cpu.cfs_quota_us").exists():
            path = base_v1 / name
            path.mkdir()
            (path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
        elif "cpu" in (base_v2 / "cgroup.subtree_control").read_text().split():
            path = base_v2 / name
            path.mkdir()
            (path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            raise OSError("no writable cgroup cpu controller")
        self.path = path

    @classmethod
    def for_memory(cls, memory_mb: int) -> CpuLimit:
        return cls(memory_mb / LAMBDA_MB_PER_VCPU)

    def wrap(self, cmd: list[str]) -> list[str]:
        """The command, started inside the group (its children inherit it)."""
        assert self.path is not None
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path), *cmd]

    def close(self) -> None:
        if self.path is not None:
            for _ in range(50):
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)  # the last child may not be reaped by the kernel yet
            self.path = None

    def __enter__(self) -> CpuLimit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_limits_available() -> str | None:
    """None when Lambda-sized CPU quotas can be set here, else the reason."""
    try:
        CpuLimit(0.5).close()
    except OSError as exc:
        return f"cgroup cpu quota unavailable ({exc}): durations at Lambda sizes are scaled, not measured"
    return None
