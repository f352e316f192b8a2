"""Fixtures that build the Tesseract layer once per session and run it in an empty root.

The empty root is the proof that the layer needs nothing of the machine it runs
on: a directory holding only the layer (at /opt, as Lambda mounts layers), a
static busybox as /bin/sh and the page to read, entered with chroot (as root,
which CI is) or a user namespace, with only Lambda's default environment.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "layers" / "build.py"
PAGES = Path(os.environ.get("PAGES_DIR", REPO.parent / "shared" / "data" / "pages"))

# What Lambda's Python runtimes set, and nothing else: the layer must work with it.
LAMBDA_ENV = {
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "LANG": "en_US.UTF-8",
}
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())

# Figures the tests measured, printed at the end of the run (sizes, timings).
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("tesseract layer")
        for line in REPORT:
            terminalreporter.write_line(line)


def _load_build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["layer_build"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_module() -> ModuleType:
    """layers/build.py as a module: the tests reuse its verified download path."""
    return _load_build_module()


def build_layer(build: ModuleType, arch: str) -> Path:
    """Run `python3 layers/build.py` unless the layer (and its zip) are already there."""
    out: Path = build.output_dir(arch)
    if not ((out / "bin" / "tesseract").is_file() and build.zip_path(arch).is_file()):
        python = shutil.which("python3") or sys.executable
        proc = subprocess.run(
            [python, str(BUILD_SCRIPT), "--arch", arch],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            pytest.fail(f"python3 layers/build.py --arch {arch} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        REPORT.append(f"build --arch {arch}: " + " ".join(proc.stdout.split()))
    return out


@pytest.fixture(scope="session")
def layer_amd64(build_module: ModuleType) -> Path:
    return build_layer(build_module, "amd64")


@pytest.fixture(scope="session")
def layer_arm64(build_module: ModuleType) -> Path:
    return build_layer(build_module, "arm64")


@pytest.fixture(scope="session")
def host_busybox(build_module: ModuleType) -> Path:
    """Debian's static busybox for this machine, fetched and checked like the layer's packages."""
    if HOST_ARCH not in build_module.ARCHES:
        pytest.skip(f"no Debian busybox-static for this machine ({platform.machine()})")
    tree: Path = build_module.fetch_tool("busybox-static", HOST_ARCH)
    return tree / "bin" / "busybox"


def _link_or_copy(src: str, dst: str) -> None:
    # Hard links make an 80 MB layer copy instant; fall back across filesystems.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@dataclass
class EmptyRoot:
    path: Path
    enter: list[str]  # the command prefix that makes `path` the root

    def add(self, src: Path, dest: str, mode: int | None = None) -> Path:
        target = self.path / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True, copy_function=_link_or_copy)
        else:
            shutil.copyfile(src, target)
            if mode is not None:
                target.chmod(mode)
        return target

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 300):
        return subprocess.run(
            [*self.enter, str(self.path), *argv],
            env=LAMBDA_ENV if env is None else env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _enter_commands() -> Iterator[list[str]]:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
    chroot = shutil.which("chroot", path=search)
    unshare = shutil.which("unshare", path=search)
    if chroot and os.geteuid() == 0:
        yield [chroot]
    if chroot and unshare:
        # A user namespace grants chroot to an ordinary user where the kernel allows it.
        yield [unshare, "--user", "--map-root-user", chroot]


@pytest.fixture(scope="session")
def root_entry(host_busybox: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A way into an empty root that works here, or a skip that says why not."""
    probe = tmp_path_factory.mktemp("probe-root")
    (probe / "bin").mkdir()
    shutil.copyfile(host_busybox, probe / "bin" / "sh")
    (probe / "bin" / "sh").chmod(0o755)
    tried = []
    for enter in _enter_commands():
        proc = subprocess.run(
            [*enter, str(probe), "/bin/sh", "-c", "echo ok"], capture_output=True, text=True, env=LAMBDA_ENV
        )
        if proc.returncode == 0 and proc.stdout.strip() == "ok":
            return enter
        tried.append(f"{' '.join(enter)}: {proc.stderr.strip() or proc.returncode}")
    reason = "; ".join(tried) or "no chroot, or not root and no unshare"
    pytest.skip(f"cannot enter an empty root filesystem here ({reason})")


@pytest.fixture
def empty_root(tmp_path: Path, root_entry: list[str], host_busybox: Path) -> EmptyRoot:
    """A root with nothing but a static shell; each test adds the layer and its page."""
    root = EmptyRoot(tmp_path / "root", root_entry)
    root.add(host_busybox, "/bin/sh", 0o755)
    (root.path / "tmp").mkdir()
    return root
