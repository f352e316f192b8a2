"""#14, 11-13: what a user sees when the CLI cannot do what was asked: one line and an exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.e2e.conftest import BIN, run

pytestmark = pytest.mark.e2e
PAGESEARCH = str(BIN / "pagesearch")


def exports(up_stdout: str) -> dict[str, str]:
    """What `eval "$(pagesearch up)"` puts in a shell."""
    return dict(line.removeprefix("export ").split("=", 1) for line in up_stdout.splitlines() if "=" in line)


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 3, stderr


def test_up_again_with_the_first_stacks_exports_in_the_shell(cli_env: dict[str, str]) -> None:
    """11: the second `up` used to reuse the OpenSearch URL it had just stopped; ingest then hung, search crashed."""
    first = exports(run(PAGESEARCH, "up", env=cli_env).stdout)
    shell = {**cli_env, **first}
    second = exports(run(PAGESEARCH, "up", env=shell).stdout)
    assert second["OPENSEARCH_URL"] != first["OPENSEARCH_URL"], "the stopped server's URL was reused"
    ingest = run(PAGESEARCH, "ingest", str(SAMPLES / "phototest.tif"), "--book", "again", "--json", env=shell)
    assert json.loads(ingest.stdout)["indexed"] == 1
    assert "ignoring OPENSEARCH_URL" in ingest.stderr  # the stale export is named, and not used
    hits = json.loads(run(PAGESEARCH, "search", '"lazy fox"', "--book", "again", "--json", env=shell).stdout)
    assert hits["hits"], hits

    run(PAGESEARCH, "down", env=shell)
    after = run(PAGESEARCH, "search", "fox", env={**shell, **second}, check=False)
    assert after.returncode in (2, 3) and after.stdout == ""
    no_traceback(after.stderr)
    assert "pagesearch up" in after.stderr


def test_search_against_a_server_that_is_gone_is_one_line(cli_env: dict[str, str]) -> None:
    gone = {**cli_env, "OPENSEARCH_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = run(PAGESEARCH, "search", "fox", env=gone, check=False)
    assert result.returncode == 3 and result.stdout == ""
    no_traceback(result.stderr)
    assert "cannot reach OpenSearch at http://127.0.0.1:9" in result.stderr


@pytest.mark.parametrize(
    ("files", "book", "says"),
    [
        (["page.jp2"], "b", "does not end in one of"),
        (["book.pdf", "page.png"], "b", "must be alone in its --book"),
        (["page.png"], "failed", "reserved"),
        (["page.png"], "", "--book is empty"),
        (["page.png", "missing.png"], "b", "missing.png: no such file"),
    ],
    ids=["jp2", "pdf-beside-a-page", "reserved-book", "empty-book", "missing-file"],
)
def test_ingest_refuses_before_uploading_anything(
    cli_env: dict[str, str], tmp_path: Path, files: list[str], book: str, says: str
) -> None:
    """12: it exited 0 with uploaded=0 when every file was skipped, and a missing file crashed after uploads."""
    import boto3

    up = exports(run(PAGESEARCH, "up", env=cli_env).stdout)
    for name in files:
        if name != "missing.png":
            (tmp_path / name).write_bytes((SAMPLES / "phototest.tif").read_bytes())
    result = run(PAGESEARCH, "ingest", *[str(tmp_path / f) for f in files], "--book", book, env=cli_env, check=False)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    s3 = boto3.client(
        "s3",
        endpoint_url=up["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    assert s3.list_objects_v2(Bucket=up["PAGES_BUCKET"]).get("KeyCount", 0) == 0, "something was uploaded"


@pytest.mark.parametrize("limit", ["0", "-5", "101", "ten"])
def test_search_limit_outside_1_to_100_is_refused(cli_env: dict[str, str], limit: str) -> None:
    """13: --limit 0 and --limit -5 silently returned one hit."""
    result = run(PAGESEARCH, "search", "fox", "--limit", limit, env=cli_env, check=False)
    assert result.returncode == 2 and "--limit" in result.stderr and result.stdout == ""
