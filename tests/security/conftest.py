"""Fixtures of the security tests: the packaged CloudFormation templates, built once per session.

`sls package` runs exactly as a user types it (offline, no AWS account): the
templates checked here are the ones a deploy would send to CloudFormation.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLS = ROOT / "node_modules" / ".bin" / "sls"
# Variables serverless.yml reads with `${env:...}`: a developer's shell must not
# change what the template says, so the tests see the defaults.
_CONFIG_VARIABLES = (
    "PAGES_BUCKET",
    "RESULTS_BUCKET",
    "ACCESS_LOGS_BUCKET",
    "OPENSEARCH_URL",
    "OPENSEARCH_INDEX",
    "OCR_LANG",
    "TESSERACT_CMD",
    "PUBLIC_BASE_URL",
)

# What each packaging run is given. `retain-off` also proves that stage
# parameters reach the template (deletion policy, the indexer's concurrency,
# the search API opened to the public and its throttle).
PACKAGES: dict[str, tuple[str, ...]] = {
    "external": (),
    "create": ("--param=opensearch=create",),
    "retain-off": (
        "--param=opensearch=create",
        "--param=retainBuckets=false",
        "--param=indexerConcurrency=7",
        "--param=searchAuth=public",
        "--param=searchRateLimit=5",
        "--param=searchBurstLimit=9",
    ),
}


@dataclass(frozen=True)
class Packaged:
    name: str
    directory: Path

    @property
    def template_path(self) -> Path:
        return self.directory / "cloudformation-template-update-stack.json"

    @property
    def create_template_path(self) -> Path:
        return self.directory / "cloudformation-template-create-stack.json"

    @property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())


def _package_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in _CONFIG_VARIABLES}
    # No credentials anywhere: the plugin then skips the layer comparison that
    # calls CloudFormation, and nothing can reach a real account.
    env.update(
        HOME=str(home),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_CONFIG_FILE=str(home / "no-config"),
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
    )
    return env


def _start(out: Path, home: Path, params: tuple[str, ...]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SLS), "package", "--package", str(out), *params],
        cwd=ROOT,
        env=_package_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str], name: str, timeout: float = 600) -> None:
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        pytest.fail(f"`sls package` ({name}) failed with exit {process.returncode}:\n{output[-4000:]}")


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Packaged]:
    """Every variant of PACKAGES, packaged into its own directory."""
    if not SLS.exists():
        pytest.fail("node_modules/.bin/sls is missing: run `make setup` (npm ci installs the pinned osls)")
    base = tmp_path_factory.mktemp("sls-package")
    home = base / "home"
    home.mkdir()
    result = {name: Packaged(name, base / name) for name in PACKAGES}
    # One after the other: osls stages every package in the service's own
    # .serverless/ before moving it to --package, so two runs would collide.
    for name, params in PACKAGES.items():
        _finish(_start(result[name].directory, home, params), name)
    return result
