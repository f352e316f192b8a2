"""The accuracy part's verdicts, tables and chart: docs/accuracy.md and the README between their markers.

A quick run (or one written elsewhere than bench/results) prints its tables
and draws its chart beside its results, and never edits the docs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.log import log
from bench.paths import DEFAULT_RESULTS, ROOT
from bench.results import Options

DOC = ROOT / "docs" / "accuracy.md"
README = ROOT / "README.md"
CHART = ROOT / "bench" / "accuracy.png"
TABLE = ("<!-- accuracy:table:begin -->", "<!-- accuracy:table:end -->")
HEADLINE = ("<!-- accuracy:headline:begin -->", "<!-- accuracy:headline:end -->")
# Issue #10's targets, as factors of a reference's error rate or time.
TURNED_OR_SKEWED_MAX = 1.5  # CER of a turned or skewed copy / the upright page's
RESOLUTION_MAX = 1.2  # CER of the untagged 150 dpi copy / the upright page's
SPEED_TO_BARE_MAX = 0.95  # our CPU time per upright page / bare Tesseract's
SPEED_TO_MAIN_MAX = 1.05  # our CPU time per upright page / the code before orientation handling


def _cer(payload: dict[str, Any], variant: str, config: str, group: str = "all") -> float | None:
    found = payload["rates"].get(variant, {}).get(config, {}).get(group)
    return found["cer"] if found else None


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None:
        return None
    # A perfect reference page: judge by absolute edits instead of dividing by zero.
    return round(value / reference, 3) if reference > 0 else (1.0 if value == 0 else float("inf"))


def targets(payload: dict[str, Any]) -> dict[str, Any]:
    """Each of issue #10's targets with the figure it is judged on and whether it is met."""
    out: dict[str, Any] = {}
    groups = [*payload["sets"], "all"]
    upright_ok = all(
        payload["rates"]["upright"]["ours"][g][k] <= payload["rates"]["upright"]["bare"][g][k] + 1e-9
        for g in groups
        for k in ("cer", "wer")
    )
    out["upright_no_worse_than_bare_every_set"] = {"met": upright_ok}
    for variant, limit in (
        *((v, TURNED_OR_SKEWED_MAX) for v in ("rot90", "rot180", "rot270", "skew2", "skew5")),
        ("dpi150", RESOLUTION_MAX),
    ):
        if variant not in payload["rates"]:
            continue
        ratios = {g: _ratio(_cer(payload, variant, "ours", g), _cer(payload, "upright", "ours", g)) for g in groups}
        out[f"{variant}_cer_over_upright"] = {
            "ratios": ratios,
            "max": limit,
            "met": all(r is not None and r <= limit for r in ratios.values()),
        }
    time = payload["time"].get("upright", {}).get("ours", {})
    for baseline, limit in (("bare", SPEED_TO_BARE_MAX), ("main", SPEED_TO_MAIN_MAX)):
        ratio = time.get(f"cpu_ratio_to_{baseline}")
        if ratio:
            out[f"upright_cpu_ratio_to_{baseline}"] = {
                "median": ratio["median"],
                "of_totals": time.get(f"cpu_ratio_of_totals_to_{baseline}"),
                "max": limit,
                "met": ratio["median"] <= limit,
            }
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def markdown(payload: dict[str, Any]) -> str:
    """Per copy and set: each configuration's CER / WER, and its CPU time against bare Tesseract's."""
    configs = list(payload["configs"])
    head = "| copy | set | " + " | ".join(f"{c} CER / WER" for c in configs) + " | ours / bare CPU |"
    lines = [head, "|" + "---|" * (len(configs) + 3)]
    for variant, by_config in payload["rates"].items():
        for group in [*payload["sets"], "all"]:
            cells = []
            for config in configs:
                found = by_config.get(config, {}).get(group)
                cells.append(f"{_pct(found['cer'])} / {_pct(found['wer'])}" if found else "-")
            ratio = payload["time"][variant].get("ours", {}).get("cpu_ratio_to_bare") if group == "all" else None
            name = f"**{variant}**" if group == "all" else variant
            lines.append(
                f"| {name} | {group} | " + " | ".join(cells) + f" | {ratio['median']:.2f}x |"
                if ratio
                else f"| {name} | {group} | " + " | ".join(cells) + " | |"
            )
    return "\n".join(lines) + "\n"


def headline(payload: dict[str, Any]) -> str:
    """The README's few lines: overall CER of bare and ours per copy."""
    lines = ["| page arrives | bare `tesseract` CER | ours CER | ours WER |", "|---|---|---|---|"]
    for variant, by_config in payload["rates"].items():
        bare, ours = by_config.get("bare", {}).get("all"), by_config.get("ours", {}).get("all")
        if bare and ours:
            label = payload["variants"][variant]
            lines.append(f"| {label} | {_pct(bare['cer'])} | {_pct(ours['cer'])} | {_pct(ours['wer'])} |")
    speed = payload.get("targets", {}).get("upright_cpu_ratio_to_bare")
    if speed:
        lines.append("")
        lines.append(
            f"Our OCR function's CPU time per upright page against bare `tesseract`'s in the same run: "
            f"median {speed['median']:.3f}x ({speed['of_totals']:.3f}x of the totals)."
        )
    return "\n".join(lines) + "\n"


def _replace_between(path: Path, markers: tuple[str, str], text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    begin, end = markers
    if begin not in doc or end not in doc:
        log(f"{path.name}: no {begin} marker, table not written")
        return
    before, rest = doc.split(begin, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{begin}\n{text}{end}{after}", encoding="utf-8")
    log(f"wrote the accuracy table into {path}")


def chart(payload: dict[str, Any], path: Path) -> None:
    """Grouped bars: overall CER per copy, one bar per configuration (log scale: garbage is 85%)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (pip install -r requirements-bench.txt): no accuracy chart")
        return
    variants = list(payload["rates"])
    configs = [c for c in payload["configs"] if c in ("bare", "main", "ours")]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        values = [max(_cer(payload, v, config) or 0, 1e-4) * 100 for v in variants]
        ax.bar([x + i * width for x in range(len(variants))], values, width, label=config)
    ax.set_xticks([x + width * (len(configs) - 1) / 2 for x in range(len(variants))], variants)
    ax.set_yscale("log")
    ax.set_ylabel("CER, % (log)")
    ax.set_title(f"Character error rate over {payload['pages']} pages, per altered copy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    log(f"wrote {path}")


def publish(opts: Options, payload: dict[str, Any]) -> None:
    official = opts.results_dir.resolve() == DEFAULT_RESULTS.resolve() and not opts.quick
    chart(payload, CHART if official else opts.results_dir / "accuracy.png")
    if official:
        _replace_between(DOC, TABLE, markdown(payload))
        _replace_between(README, HEADLINE, headline(payload))
