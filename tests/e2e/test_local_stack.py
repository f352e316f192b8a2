"""The README's main job end to end: the local stack, the demo, and the pagesearch CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.index.documents import INDEX_VERSION
from tests.conftest import SAMPLES
from tests.e2e.conftest import BIN, run

pytestmark = pytest.mark.e2e


def test_demo_runs_the_main_job_and_the_cli_speaks_json(cli_env: dict[str, str]) -> None:
    demo = run("bash", "scripts/demo.sh", env=cli_env, timeout=600)
    assert "uploaded=3 indexed=3 failed=[] pending=[]" in demo.stderr, demo.stderr[-2000:]
    assert "page(s) for 'quick brown dog'" in demo.stdout
    assert "samples  p.d015" in demo.stdout  # "child of the moat" on the 1-dpi oldbooks page
    result = run(str(BIN / "pagesearch"), "search", '"lazy fox"', "--book", "samples", "--json", env=cli_env)
    payload = json.loads(result.stdout)  # only JSON on standard output
    assert payload["total"] == 1
    hit = payload["hits"][0]
    assert (hit["book"], hit["page"]) == ("samples", "phototest")
    assert len(hit["snippets"]) == 4 and all(len(s["words"]) == 2 for s in hit["snippets"])
    assert [w["text"].strip(".") for w in hit["snippets"][0]["words"]] == ["lazy", "fox"]
    assert all(len(w["bbox"]) == 4 for w in hit["words"]) and len(hit["words"]) == 8
    # The index rebuilt from the page JSONs, the alias swapped: the same answers.
    report = json.loads(run(str(BIN / "pagesearch"), "reindex", "--json", env=cli_env).stdout)
    assert (report["pages"], report["indexed"], report["failed"]) == (3, 3, [])
    assert report["index"].endswith(f"-v{INDEX_VERSION}-r1")
    again = json.loads(run(str(BIN / "pagesearch"), *result.args[1:], env=cli_env).stdout)
    for answer in (again, payload):  # scores depend on the index's statistics, which a rebuild resets
        for page in answer["hits"]:
            page.pop("score")
    assert again == payload


def test_ingest_reports_failures_and_failures_lists_them(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(str(BIN / "pagesearch"), "up", env=cli_env)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    good = SAMPLES / "phototest.tif"
    ingest = run(
        str(BIN / "pagesearch"), "ingest", str(good), str(broken), "--book", "mixed", "--json", env=cli_env, check=False
    )
    summary = json.loads(ingest.stdout)
    assert ingest.returncode == 1
    assert (summary["uploaded"], summary["indexed"], summary["failed"]) == (2, 1, ["mixed/broken.png"])
    records = json.loads(run(str(BIN / "pagesearch"), "failures", "--json", env=cli_env).stdout)
    assert [(r["source"]["key"], r["stage"]) for r in records] == [("mixed/broken.png", "ocr")]
    assert records[0]["book"] == "mixed" and records[0]["page"] == "broken"
    # Re-driving makes S3 announce the object again: the same bytes fail again, and say so.
    retried = json.loads(run(str(BIN / "pagesearch"), "retry", "--json", env=cli_env).stdout)
    assert [(r["key"], r["status"]) for r in retried] == [("mixed/broken.png", "redriven")]


def test_search_without_a_stack_says_what_to_do(cli_env: dict[str, str]) -> None:
    result = run(str(BIN / "pagesearch"), "search", "whale", env=cli_env, check=False)
    assert result.returncode == 2 and "pagesearch up" in result.stderr and result.stdout == ""
