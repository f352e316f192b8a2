"""Fetch the functions' Python dependencies as Linux wheels for Lambda's Python, without Docker.

pip's --platform/--python-version/--only-binary pick the manylinux wheels for
the runtime (Pillow and rpds-py are compiled: a wheel for this machine's
Python would not import there). Output: build/python-deps/python, the layout
of a Lambda layer. Skipped when the requirements, architecture and Python
version are those of the last build.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-lambda.txt"
OUTPUT = ROOT / "build" / "python-deps"
RUNTIME_PYTHON = "3.12"
PLATFORMS = {"amd64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="amd64")
    parser.add_argument("--python-version", default=RUNTIME_PYTHON)
    args = parser.parse_args()
    stamp = hashlib.sha256(f"{REQUIREMENTS.read_text()}{args.arch}{args.python_version}".encode()).hexdigest()
    stamp_file = OUTPUT / ".stamp"
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
    stamp_file.write_text(stamp)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(
        f"python deps for {args.arch}/cp{args.python_version}: {size / 1e6:.1f} MB in {OUTPUT.relative_to(ROOT)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
