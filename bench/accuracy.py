"""Part accuracy: error rates of our OCR against ground truth, beside bare ``tesseract IMAGE stdout``, per alteration.

``make accuracy`` (``python -m bench accuracy [--quick]``). Every evaluation
page (shared/data/pages) is read as it is and in altered copies made on the
fly (bench.alterations: turned, skewed, rescaled, JPEG-compressed). Each copy
is OCR'd by:

- ``bare``: ``tesseract FILE stdout``, Tesseract's defaults (no ``--dpi``,
  no ``--psm``): what a user gets without this project;
- ``ours`` and the other configurations: ``lib.ocr.flow.ocr_document``, the
  very function the OCR handler runs (no S3), with the shipped settings or
  with one setting changed, the text taken from the page JSON.

Both read the same file, one thread each (``OMP_THREAD_LIMIT=1``, as
Lambda's code runs it). Error rates are rapidfuzz's Levenshtein distances
after pagesearch.text_normalise, summed over pages (edits over truth length),
per set and overall. Times are CPU seconds of the process and its children
(user + system, from getrusage), which a noisy neighbour on the shared 2
cores disturbs far less than wall time; wall time is recorded too. Within a
task the configurations run back to back in alternating order, so that
drift hits all alike; ratios are taken page by page against ``bare`` (or
``main``) of the same copy in the same run.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import accuracy_report
from bench.alterations import VARIANTS, alter
from bench.log import log
from bench.pages import Page, all_pages
from bench.results import Options, write_result
from bench.stats import summary
from bench.tesseract import tesseract_bin
from pagesearch.text_metrics import Errors, errors
from pagesearch.text_normalise import normalise

PART = "accuracy"
# At most two processes: the machine has two cores, shared with other work.
JOBS = 2
# A --quick run: Tesseract's clean test page, the multilingual one and a short old-book page.
QUICK_PAGES = ("phototest", "eurotext", "c015")
# Environment the code under test must not inherit from a developer's shell.
_UNSET = ("TESSERACT_PSM", "TESSERACT_CMD", "OCR_LANG", "OUTPUTS", "DEFAULT_DPI", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class Config:
    """One way of OCR'ing a copy: bare Tesseract, or our function with some settings changed."""

    name: str
    label: str
    overrides: dict[str, Any] | None = None  # None: bare Tesseract
    variants: tuple[str, ...] | None = None  # None: every variant
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    def runs_on(self, variant: str) -> bool:
        return self.variants is None or variant in self.variants


# The code before this part's changes: no orientation check, no deskew, no scaling, no extra variables.
MAIN = {
    "ocr_rotate": False,
    "ocr_min_deskew": 0.0,
    "ocr_max_dpi": 0,
    "assume_default_dpi": True,
    "ocr_bilevel_scale": 1.0,
    "tesseract_variables": (),
}
CONFIGS = (
    Config("bare", "bare `tesseract IMAGE stdout`, default settings"),
    Config(
        "main",
        "our OCR function as before issue #10 (no orientation, deskew or scaling)",
        overrides=MAIN,
        variants=("upright", "dpi150"),
    ),
    Config("ours", "our OCR function (lib.ocr), shipped settings", overrides={}),
    Config("no_deskew", "ours without deskew", overrides={"ocr_min_deskew": 0.0}, variants=("skew2", "skew5")),
    Config("no_scale", "ours without scaling oversized scans", overrides={"ocr_max_dpi": 0}, variants=("dpi600",)),
    Config(
        "no_grey",
        "ours, 1-bit pages read as they are (not in grey at 2/3)",
        overrides={"ocr_bilevel_scale": 1.0},
        variants=("upright",),
    ),
    Config(
        "no_invert",
        "ours with -c tessedit_do_invert=0",
        overrides={"tesseract_variables": ("tessedit_do_invert=0",)},
        variants=("upright",),
    ),
    Config(
        "no_tables",
        "ours with -c textord_tabfind_find_tables=0",
        overrides={"tesseract_variables": ("textord_tabfind_find_tables=0",)},
        variants=("upright",),
    ),
    Config(
        "scale_300", "ours, oversized scans scaled to 300 dpi", overrides={"ocr_max_dpi": 300}, variants=("dpi600",)
    ),
    # Not a reading: the cost of Tesseract's orientation detection alone, as lib.ocr.orientation runs it.
    Config("osd", "OSD alone on a reduced copy (--psm 0), cost only", overrides={}, variants=("upright",)),
)


@dataclass(frozen=True)
class Task:
    page: Page
    variant: str
    configs: tuple[Config, ...]
    reverse: bool  # run the configurations in reverse order (alternation)
    repeat: int = 0  # the how-manieth reading of this copy (only the first counts for error rates)


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (Tesseract)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _init_worker() -> None:
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ["OMP_THREAD_LIMIT"] = "1"


def _bare(path: Path, extra: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    out = subprocess.run(
        [tesseract_bin(), str(path), "stdout", *extra], capture_output=True, text=True, check=False, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"tesseract failed on {path}: {out.stderr[-300:]}")
    return out.stdout, {}


def _ours(data: bytes, suffix: str, overrides: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    from lib.keys import page_ref_from_key
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    settings = dataclasses.replace(Settings.from_env(), **overrides)
    key = f"accuracy/{name}{suffix}"
    document = ocr_document(data, page_ref_from_key(key), settings, source={"bucket": "bench", "key": key})
    image = document["image"]
    applied = {k: image[k] for k in ("rotation", "deskew", "scale") if k in image}
    return document["text"], {"applied": applied, "tesseract_ms": document["ocr"]["duration_ms"]}


def _osd(path: Path, dpi: int) -> dict[str, Any]:
    from lib.ocr.orientation import detect

    found = detect(str(path), dpi=dpi, cmd=tesseract_bin(), timeout=900)
    return {"osd": vars(found) if found else None}


def _run_task(task: Task) -> list[dict[str, Any]]:
    page = task.page
    data, suffix = alter(task.variant, page.path.read_bytes(), page.path.suffix, page.dpi)
    rows = []
    configs = [c for c in task.configs if c.runs_on(task.variant)]
    with tempfile.TemporaryDirectory(prefix="accuracy-") as work:
        path = Path(work) / f"page{suffix}"
        path.write_bytes(data)
        for config in reversed(configs) if task.reverse else configs:
            cpu, wall = _cpu(), time.perf_counter()
            if config.overrides is None:
                text, extra = _bare(path, config.extra_args)
            elif config.name == "osd":
                text, extra = None, _osd(path, page.dpi)
            else:
                text, extra = _ours(data, suffix, config.overrides, page.stem)
            cpu, wall = _cpu() - cpu, time.perf_counter() - wall
            found = dataclasses.asdict(errors(text, page.truth, normalise)) if text is not None else {}
            rows.append(
                {
                    "page": page.name,
                    "set": page.set,
                    "variant": task.variant,
                    "config": config.name,
                    "repeat": task.repeat,
                    "cpu_s": round(cpu, 4),
                    "wall_s": round(wall, 4),
                    **found,
                    **extra,
                }
            )
    return rows


def _tasks(pages: list[Page], variants: list[str], configs: tuple[Config, ...], repeats: int) -> Iterator[Task]:
    n = 0
    for repeat in range(repeats):
        for page in pages:
            for variant in variants:
                yield Task(page, variant, configs, reverse=n % 2 == 1, repeat=repeat)
                n += 1


def _chosen(env: str, known: dict[str, Any] | tuple[Config, ...]) -> list[str] | None:
    """A comma list from the environment (a speed-only run: PAGESEARCH_ACCURACY_VARIANTS=upright), checked."""
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    valid = list(known) if isinstance(known, dict) else [c.name for c in known]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise SystemExit(f"{env}: unknown {', '.join(unknown)}; choose from {', '.join(valid)}")
    return names


def _rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((Errors(r["char_edits"], r["chars"], r["word_edits"], r["words"]) for r in rows), Errors(0, 0, 0, 0))
    return {"cer": round(total.cer, 5), "wer": round(total.wer, 5), "pages": len(rows), **dataclasses.asdict(total)}


def aggregate(rows: list[dict[str, Any]], configs: tuple[Config, ...], variants: list[str]) -> dict[str, Any]:
    """Error rates per variant, configuration and set (plus ``all``); time ratios page by page."""
    sets = sorted({r["set"] for r in rows})
    rates: dict[str, Any] = {}
    timing: dict[str, Any] = {}
    by = {(r["page"], r["variant"], r["config"], r.get("repeat", 0)): r for r in rows}
    for variant in variants:
        rates[variant], timing[variant] = {}, {}
        for config in configs:
            mine = [r for r in rows if r["variant"] == variant and r["config"] == config.name]
            if not mine:
                continue
            if "chars" in mine[0]:
                # Readings are deterministic: a repeat only adds timings.
                first = [r for r in mine if r.get("repeat", 0) == 0]
                rates[variant][config.name] = {s: _rates([r for r in first if r["set"] == s]) for s in sets}
                rates[variant][config.name]["all"] = _rates(first)
            ratios = {}
            for baseline in ("bare", "main"):
                pairs = [(r, by.get((r["page"], variant, baseline, r.get("repeat", 0)))) for r in mine]
                pairs = [(r, b) for r, b in pairs if b is not None and b["cpu_s"] > 0 and baseline != config.name]
                if pairs:
                    ratios[f"cpu_ratio_to_{baseline}"] = summary([r["cpu_s"] / b["cpu_s"] for r, b in pairs], 3)
                    ratios[f"cpu_ratio_of_totals_to_{baseline}"] = round(
                        sum(r["cpu_s"] for r, _ in pairs) / sum(b["cpu_s"] for _, b in pairs), 3
                    )
            timing[variant][config.name] = {
                "cpu_s": summary([r["cpu_s"] for r in mine], 3),
                "wall_s": summary([r["wall_s"] for r in mine], 3),
                "cpu_s_total": round(sum(r["cpu_s"] for r in mine), 2),
                **ratios,
            }
    return {"sets": sets, "rates": rates, "time": timing}


def run(opts: Options) -> dict[str, Any]:
    pages = [p for p in all_pages() if not opts.quick or p.stem in QUICK_PAGES]
    variants = _chosen("PAGESEARCH_ACCURACY_VARIANTS", VARIANTS) or list(VARIANTS)
    wanted = _chosen("PAGESEARCH_ACCURACY_CONFIGS", CONFIGS)
    configs = tuple(c for c in CONFIGS if wanted is None or c.name in wanted)
    repeats = int(os.environ.get("PAGESEARCH_ACCURACY_REPEATS", "1"))
    tasks = list(_tasks(pages, variants, configs, repeats))
    log(
        f"accuracy: {len(pages)} pages x {len(variants)} variants x {repeats}, "
        f"{len(configs)} configurations, {JOBS} processes"
    )
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=JOBS, initializer=_init_worker) as pool:
        for done, result in enumerate(pool.map(_run_task, tasks), 1):
            rows.extend(result)
            if done % 10 == 0 or done == len(tasks):
                log(f"accuracy: {done}/{len(tasks)} copies in {time.monotonic() - started:.0f} s")
    payload = {
        "pages": len(pages),
        "variants": VARIANTS,
        "configs": {c.name: {"label": c.label, "variants": c.variants or "all"} for c in configs},
        "repeats": repeats,
        "normalisation": "pagesearch.text_normalise (docs/accuracy.md, Rules)",
        "edit_distance": "rapidfuzz.distance.Levenshtein (characters; words as sequences)",
        "jobs": JOBS,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        **aggregate(rows, configs, variants),
        "per_page": rows,
    }
    payload["targets"] = accuracy_report.targets(payload)
    write_result(opts, PART, payload)
    print(accuracy_report.markdown(payload))
    accuracy_report.publish(opts, payload)
    return payload


def median_ratio(payload: dict[str, Any], variant: str, config: str, baseline: str) -> float | None:
    found = payload["time"].get(variant, {}).get(config, {}).get(f"cpu_ratio_to_{baseline}")
    return found["median"] if found else None
