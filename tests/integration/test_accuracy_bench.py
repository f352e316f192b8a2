"""`make accuracy` still works: one page's upright and upside-down copies through bare Tesseract and ours.

A smoke test of bench/accuracy.py's pieces on Tesseract's small test page
(a few seconds); the full run is its own command. Error rates only, never
a time.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import accuracy, accuracy_report
from bench.pages import Page
from tests.conftest import SAMPLES, ground_truth

pytestmark = pytest.mark.integration


def test_one_page_upright_and_upside_down_gives_rates_targets_and_a_table() -> None:
    accuracy._init_worker()
    image = SAMPLES / "phototest.tif"
    page = Page(image, "samples", "phototest", ground_truth(image), 640, 480, 300)
    configs = tuple(c for c in accuracy.CONFIGS if c.name in ("bare", "ours"))
    rows = []
    for variant in ("upright", "rot180"):
        rows += accuracy._run_task(accuracy.Task(page, variant, configs, reverse=variant == "rot180"))
    payload = {"pages": 1, "variants": {"upright": "as is", "rot180": "upside down"}}
    payload |= {"configs": {c.name: {} for c in configs}, **accuracy.aggregate(rows, configs, ["upright", "rot180"])}
    rates = payload["rates"]
    assert rates["upright"]["ours"]["all"]["cer"] <= rates["upright"]["bare"]["all"]["cer"] + 1e-9
    assert rates["rot180"]["bare"]["all"]["cer"] > 0.5  # bare Tesseract reads an upside-down page as garbage
    assert rates["rot180"]["ours"]["all"]["cer"] < 0.02
    assert {r["applied"]["rotation"] for r in rows if r["config"] == "ours"} == {0, 180}
    targets = accuracy_report.targets(payload)
    assert targets["upright_no_worse_than_bare_every_set"]["met"]
    assert "rot180" in accuracy_report.markdown(payload) and "| upside down |" in accuracy_report.headline(payload)
    assert replace(configs[0], variants=("upright",)).runs_on("upright")
