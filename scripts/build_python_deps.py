"""Fetch the functions' Python dependencies as Linux wheels for Lambda's Python, without Docker.

pip's --platform/--python-version/--only-binary pick the manylinux wheels for
the runtime (Pillow and rpds-py are compiled: a wheel for this machine's
Python would not import there). Output: build/python-deps/python, the layout
of a Lambda layer. Skipped when the requirements, architecture and Python
version are those of the last build.

The layer ships bytecode compiled by a Python of the runtime's version when
one is on this machine (``python3.12`` on PATH, pyenv's, or
``$RUNTIME_PYTHON_BIN``): Lambda's /opt is read-only, so without it every
cold start compiles these packages from source, 170 ms for the OCR function
and 280 ms for the indexer (measured, docs/bench.md). The .pyc files are
"unchecked-hash": valid whatever mtimes the zip gives the sources, and the
layer never changes once built. Without such a Python the layer works, slower.

Our own code (handlers/, lib/) is compiled by the same Python at every run,
into its ``__pycache__`` as ``*.cpython-312.pyc``, which `sls package` ships
(serverless.yml's patterns) and this machine's own Python never reads. Those
are "checked-hash": Lambda's Python hashes the source and uses the .pyc only
if it matches, so a file edited after a build can never run stale bytecode.
Measured: the OCR handler's import over boto3's fell from +48..88 ms to
+31 ms with it (docs/bench.md, cold start).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-lambda.txt"
OUTPUT = ROOT / "build" / "python-deps"
RUNTIME_PYTHON = "3.12"
PLATFORMS = {"amd64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


def runtime_python(version: str) -> str | None:
    """A Python of the runtime's minor version on this machine, to compile the layer's bytecode."""
    configured = os.environ.get("RUNTIME_PYTHON_BIN")
    candidates = [configured] if configured else []
    candidates += [shutil.which(f"python{version}")]
    # pyenv's, wherever HOME points (the package tests run with an empty HOME, free of AWS credentials).
    roots = {
        os.environ.get("PYENV_ROOT", ""),
        os.path.expanduser("~/.pyenv"),
        pwd.getpwuid(os.getuid()).pw_dir + "/.pyenv",
    }
    for root in sorted(r for r in roots if r):
        candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        found = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
        if found.returncode == 0 and found.stdout.strip() == version:
            return candidate
    return None


def compile_bytecode(target: Path, version: str) -> str:
    """Compile every module for the runtime's Python; returns what was done, for the log line."""
    python = runtime_python(version)
    if python is None:
        return f"no Python {version} here to compile bytecode: cold starts compile the layer (set RUNTIME_PYTHON_BIN)"
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
        check=True,
    )
    return f"bytecode compiled by {python}"


OWN_CODE = ("handlers", "lib")


def compile_own_code(version: str) -> str:
    """Compile handlers/ and lib/ for the runtime's Python beside the sources; returns what was done."""
    python = runtime_python(version)
    if python is None:
        return f"no Python {version} here: our own code ships as source"
    tag = f"cpython-{version.replace('.', '')}"
    for directory in OWN_CODE:
        # Bytecode of a module since removed would be shipped for nothing (Python never reads it).
        for pyc in (ROOT / directory).rglob(f"__pycache__/*.{tag}.pyc"):
            if not (pyc.parent.parent / f"{pyc.name.split('.')[0]}.py").exists():
                pyc.unlink()
    subprocess.run(
        [python, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", *(str(ROOT / d) for d in OWN_CODE)],
        check=True,
    )
    return f"our code compiled by {python}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="amd64")
    parser.add_argument("--python-version", default=RUNTIME_PYTHON)
    args = parser.parse_args()
    compiler = runtime_python(args.python_version) or "none"
    stamp_text = f"{REQUIREMENTS.read_text()}{args.arch}{args.python_version}{compiler}"
    stamp = hashlib.sha256(stamp_text.encode()).hexdigest()
    stamp_file = OUTPUT / ".stamp"
    print(compile_own_code(args.python_version), file=sys.stderr)
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        print(f"python deps up to date in {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
        return 0
    shutil.rmtree(OUTPUT, ignore_errors=True)
    target = OUTPUT / "python"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        PLATFORMS[args.arch],
        "--python-version",
        args.python_version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--target",
        str(target),
        "-r",
        str(REQUIREMENTS),
    ]
    subprocess.run(command, check=True)
    # Lambda provides boto3/botocore; opensearch-py's optional gRPC transport
    # (grpcio, protobuf: 20 MB) is never imported by its HTTP client.
    pruned = (
        "boto3",
        "botocore",
        "s3transfer",
        "grpc",
        "grpcio-*",
        "google",
        "protobuf-*",
        "opensearch",
        "opensearch_protobufs-*",
        "**/__pycache__",
    )
    for pattern in pruned:
        for path in target.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)
    compiled = compile_bytecode(target, args.python_version)
    stamp_file.write_text(stamp)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(
        f"python deps for {args.arch}/cp{args.python_version}: {size / 1e6:.1f} MB in {OUTPUT.relative_to(ROOT)}"
        f" ({compiled})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
