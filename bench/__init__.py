"""Benchmarks of the page-search pipeline against the baselines users would otherwise pick.

Every figure is measured against a baseline run in the same process of the
same ``make bench``, interleaved page by page where both sides are per-page,
because the machines this runs on are shared and noisy: results are ratios and
medians with min and max, never absolute numbers to compare across runs.

``python -m bench`` runs every part and writes ``bench/results/<part>.json``
and ``bench/summary.png``; ``python -m bench ocr memory`` runs only those
parts; ``--quick`` is a small smoke run (used by tests/test_bench_smoke.py).
"""
