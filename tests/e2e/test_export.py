"""``pagesearch export`` as a user runs it: pages ingested into the local stack, the book exported, a progress bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.e2e.conftest import BIN, run
from tests.standards import pdf_pages_text

pytestmark = pytest.mark.e2e


def test_ingested_pages_export_as_one_searchable_pdf_and_as_text(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "OUTPUTS": "alto,hocr,pdf"}  # the stack's functions inherit it, as Lambda its environment
    run(str(BIN / "pagesearch"), "up", env=env)
    pages = [SAMPLES / "phototest.tif", SAMPLES / "eurotext.tif"]
    ingest = run(str(BIN / "pagesearch"), "ingest", *map(str, pages), "--book", "tests", "--json", env=env)
    assert json.loads(ingest.stdout)["indexed"] == 2
    pdf = tmp_path / "tests.pdf"
    exported = run(str(BIN / "pagesearch"), "export", "tests", "--format", "pdf", "-o", str(pdf), env=env)
    assert exported.stdout == "" and "export pdf" in exported.stderr and "100%" in exported.stderr
    texts = pdf_pages_text(pdf.read_bytes())
    # Pages without numbers go by name: eurotext, then phototest.
    assert len(texts) == 2 and "Fuchs" in texts[0] and "quick brown dog" in texts[1]
    text = run(str(BIN / "pagesearch"), "export", "tests", "--format", "txt", "-o", "-", "--quiet", env=env)
    assert text.stdout.count("\f") == 1 and "quick brown dog" in text.stdout and text.stderr.startswith("exported 2")
