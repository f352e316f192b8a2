"""What the end-to-end tests share: running the CLI as a user does, with a private local stack."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = ROOT / ".venv" / "bin"


def run(*args: str, env: dict[str, str], check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=check)


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a user's shell with no endpoints set, and a state directory of the test's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "OPENSEARCH_", "PAGES_", "RESULTS_", "FAILED_EVENTS"))
    }
    env.update(PAGESEARCH_STATE_DIR=str(tmp_path / "state"), PATH=f"{BIN}:{env['PATH']}")
    yield env
    run(str(BIN / "pagesearch"), "down", env=env, check=False)
