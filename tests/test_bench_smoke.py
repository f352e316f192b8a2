"""The benchmark still runs: `python -m bench --quick` on two small pages writes every result with its keys.

No timed assertion (the machine is shared and noisy; the benchmark is its own
command, `make bench`). What is asserted are counts and settings that the
benchmark observes and that must not regress: one Tesseract process per page,
and the thread limit Tesseract actually sees. The slow parts (threads,
Tesseract.js with its npm install, the whole local stack) are left to `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["ocr", "memory", "indexing", "search", "quality", "coldstart", "cost", "outputs", "split"]
EXPECTED = {
    "ocr_overhead": {
        "ratio",
        "ratio_of_totals",
        "overhead_ms",
        "ours_s",
        "bare_s",
        "tesseract_starts",
        "target",
        "per_page",
    },
    "memory": {"ours_peak_upper_mb", "bare_tesseract_peak_mb", "above_tesseract_mb", "largest_page", "target"},
    "indexing": {"rates", "ratio_to_bare", "target", "profile"},
    "index_layout": {"layouts", "ratios_to_lines", "queries", "target"},
    "search": {"index", "queries", "latency_ms", "bare_request_ms", "overhead"},
    "search_quality": {"settings", "shipped", "target", "query_counts", "phrases_exact_in_every_setting"},
    "cold_start": {"import_ms", "added_to_boto3_ms", "added_by_package", "first_invocation", "target"},
    "outputs": {
        "handler_s",
        "ratio_to_none",
        "storage_bytes",
        "tesseract_starts",
        "tesseract_renderers",
        "model_render_ms",
        "target",
        "per_page",
    },
    "split": {"pages", "pages_per_s", "ratio_ours_to_bare", "target_ratio", "met", "function_on_moto"},
    "cost": {
        "prices",
        "measured",
        "compute_per_million_pages",
        "other_charges_per_million_pages",
        "textract_per_million_pages",
    },
}


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_quick_bench_writes_every_result(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), *PARTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]

    results = {}
    for part, keys in EXPECTED.items():
        path = out / f"{part}.json"
        assert path.exists(), f"{part}.json not written; stderr:\n{done.stderr[-2000:]}"
        results[part] = json.loads(path.read_text())
        assert keys <= results[part].keys(), f"{part}.json lacks {keys - results[part].keys()}"
        assert results[part]["meta"]["quick"] is True

    ocr = results["ocr_overhead"]
    assert ocr["tesseract_starts"]["exactly_one_per_page"] is True
    assert all(row["omp_thread_limit_seen"] == ["1"] for row in ocr["per_page"])
    assert {"median", "min", "max"} <= ocr["ratio"].keys()
    memory = results["memory"]
    assert memory["tesseract_starts_cold_container"] == {"ocr_per_invocation": 1, "version_per_container": 1}
    queries = {"word", "two_words_far", "phrase", "fuzzy_word", "book_filtered_phrase"}
    assert set(results["search"]["latency_ms"]) == queries
    assert all({"median", "p95"} <= s.keys() for s in results["search"]["latency_ms"].values())
    assert "function" in results["search"]["overhead"]["added_to_bare"]
    layouts = results["index_layout"]["layouts"]
    assert set(layouts) == {"lines", "pages", "hybrid"}
    assert all(set(layout["query_ms"]) == queries for layout in layouts.values())
    # One document per page is what the shipped layout is; the previous one wrote a document per line.
    assert layouts["pages"]["documents_per_page"] == 1
    quality = results["search_quality"]
    assert {"exact", quality["shipped"]} <= quality["settings"].keys()
    assert all(0 <= s["all_word_queries"]["recall"] <= 1 for s in quality["settings"].values())
    assert "as_of" in results["cost"]["prices"]
    outputs = results["outputs"]
    assert outputs["tesseract_starts"]["exactly_one_per_page"] is True  # the PDF comes from the page's one run
    assert {"alto", "hocr", "pdf", "page_json"} == outputs["storage_bytes"].keys()
    assert results["split"]["function_on_moto"]["outcome"].startswith(f"{results['split']['pages']} pages")

    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"], "the summary table is empty"
    if importlib.util.find_spec("matplotlib"):
        assert (out / "summary.png").stat().st_size > 10_000
