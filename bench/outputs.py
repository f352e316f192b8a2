"""Part 10, standard outputs: what ALTO, hOCR and the searchable PDF add to a page's time and storage.

Three warm OCR handlers (bench.worker), one per OUTPUTS setting: ``none``,
``alto,hocr`` (the default) and ``alto,hocr,pdf``. Page by page each handles
a fresh upload of the same page, in an order that rotates, so a noisy minute
slows all three alike. The time is the handler's end to end (image from S3,
Tesseract, outputs and page JSON to S3 over HTTP); the storage is what each
output adds to the results bucket. Tesseract's starts are counted through a
wrapper: one per page, whatever the setting.

Where each output should come from, measured on the same pages: Tesseract's
own renderers (the bare CLI with ``tsv`` alone against ``tsv`` plus ``hocr``,
``alto`` or ``pdf``, interleaved, by the child's CPU time, which a busy
neighbour disturbs less than wall time), with the size of what each writes;
and ALTO and hOCR rendered from the page model in this process.
"""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

from bench.log import log
from bench.pages import Page, select_pages
from bench.processes import child_env, run_measured
from bench.results import Options, write_result
from bench.services import RESULTS_BUCKET, fresh_key, moto_server, result_key, s3_client, upload_page
from bench.stats import summary
from bench.tesseract import counting_wrapper, read_counts, tesseract_bin
from bench.worker_client import Worker, function_env

PART = "outputs"
SETTINGS = {"none": "none", "alto_hocr": "alto,hocr", "all": "alto,hocr,pdf"}
# Tesseract's renderers against TSV alone: the cost of asking the page's one run for more.
RENDERERS = {"tsv": (), "tsv_hocr": ("hocr",), "tsv_alto": ("alto",), "tsv_pdf": ("pdf",)}
TARGET_RATIO = 1.10  # all outputs together: at most 10% of a page's time


def _cpu_s(pid: int) -> float:
    """CPU time of a process and of its children it has waited for (Tesseract), from /proc: user + system.

    A busy neighbour stretches wall time much more than CPU time, and on
    Lambda the vCPU is the function's own: this is the steadier estimate of
    what a page costs there.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _rotated(items: list[str], by: int) -> list[str]:
    by %= len(items)
    return items[by:] + items[:by]


def _renderer_run(page: Page, work: Path, renderers: tuple[str, ...]) -> tuple[float, float, dict[str, int]]:
    """One bare Tesseract run with these renderers: (wall s, CPU s, size of each file it wrote)."""
    base = work / f"bare-{'-'.join(renderers) or 'tsv'}"
    switches = [arg for name in ("tsv", *renderers) for arg in ("-c", f"tessedit_create_{name}=1")]
    cmd = [tesseract_bin(), str(page.path), str(base), "-l", "eng", "--psm", "3", "--dpi", str(page.dpi), *switches]
    run = run_measured(cmd, env=child_env({"OMP_THREAD_LIMIT": "1"}))
    if run.returncode != 0:
        raise RuntimeError(f"tesseract failed on {page.name}: {run.stderr}")
    sizes = {}
    for path in work.glob(f"{base.name}.*"):
        sizes[path.suffix.lstrip(".")] = path.stat().st_size
        path.unlink()
    return run.wall_s, run.user_s + run.sys_s, sizes


def _tesseract_renderers(pages: list[Page], work: Path, repeats: int) -> dict[str, Any]:
    cpu: dict[str, dict[str, list[float]]] = {p.name: {r: [] for r in RENDERERS} for p in pages}
    sizes: dict[str, dict[str, int]] = {p.name: {} for p in pages}
    for rep in range(repeats):
        for i, page in enumerate(pages):
            for name in _rotated(list(RENDERERS), i + rep):
                _, seconds, written = _renderer_run(page, work, RENDERERS[name])
                cpu[page.name][name].append(seconds)
                if rep == 0 and name != "tsv":
                    sizes[page.name].update({k: v for k, v in written.items() if k != "tsv"})
    added: dict[str, list[float]] = {name: [] for name in RENDERERS if name != "tsv"}
    share: dict[str, list[float]] = {name: [] for name in added}
    for page in pages:
        base = statistics.median(cpu[page.name]["tsv"])
        for name in added:
            extra = statistics.median(cpu[page.name][name]) - base
            added[name].append(extra * 1000)
            share[name].append(extra / base)
    return {
        "what": "bare `tesseract IMAGE OUT -l eng --psm 3 --dpi N -c tessedit_create_tsv=1 [-c tessedit_create_X=1]`, "
        "OMP_THREAD_LIMIT=1, interleaved; CPU time (user + system) of the child",
        "added_cpu_ms": {name: summary(values, 1) for name, values in added.items()},
        "added_share": {name: summary(values) for name, values in share.items()},
        "file_bytes": {
            kind: summary([sizes[p.name][kind] for p in pages if kind in sizes[p.name]], 0)
            for kind in ("hocr", "xml", "pdf")
        },
        "note": "Tesseract's alto renderer writes ALTO v3 (its file is OUT.xml); hOCR and PDF as shipped would be "
        "these files",
    }


def _model_render_ms(documents: dict[str, dict[str, Any]], rounds: int) -> dict[str, Any]:
    """ALTO and hOCR rendered from each page JSON, in this process: median of ``rounds`` per page."""
    import time

    from lib.outputs import alto, hocr

    times: dict[str, list[float]] = {"alto": [], "hocr": []}
    for document in documents.values():
        for name, render in (("alto", alto.render), ("hocr", hocr.render)):
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                render(document)
                samples.append((time.perf_counter() - started) * 1000)
            times[name].append(statistics.median(samples))
    return {name: summary(values, 2) for name, values in times.items()}


def _stored_sizes(s3: Any, document: dict[str, Any], key: str) -> dict[str, int]:
    sizes = {"page_json": int(s3.head_object(Bucket=RESULTS_BUCKET, Key=key)["ContentLength"])}
    for name, output_key in document.get("outputs", {}).items():
        sizes[name] = int(s3.head_object(Bucket=RESULTS_BUCKET, Key=output_key)["ContentLength"])
    return sizes


def _handlers(pages: list[Page], work: Path, repeats: int) -> dict[str, Any]:
    """The OCR handler under each setting, page by page, in rotating order."""
    wrapper = counting_wrapper(work)
    rows: dict[str, dict[str, Any]] = {
        p.name: {
            "s": {k: [] for k in SETTINGS},
            "cpu_s": {k: [] for k in SETTINGS},
            "tesseract_s": {k: [] for k in SETTINGS},
            "pixels": p.pixels,
        }
        for p in pages
    }
    starts_per_page: dict[str, list[int]] = {k: [] for k in SETTINGS}
    documents: dict[str, dict[str, Any]] = {}
    with moto_server(work) as aws:
        s3 = s3_client(aws)
        workers, counts = {}, {}
        try:
            for name, value in SETTINGS.items():
                counts[name] = work / f"starts-{name}.log"
                env = {**function_env(aws, tesseract_cmd=wrapper, count_file=counts[name]), "OUTPUTS": value}
                workers[name] = Worker(env, work / f"worker-{name}.log")
                # A warm container, as for most pages: the first invocation is part 7's subject.
                workers[name].invoke("ocr", upload_page(s3, pages[0], fresh_key(pages[0], f"warm-{name}")))
            seen = {name: read_counts(counts[name])[1] for name in SETTINGS}
            for rep in range(repeats):
                for i, page in enumerate(pages):
                    for name in _rotated(list(SETTINGS), i + rep):
                        key = fresh_key(page, f"out-{name}")
                        event = upload_page(s3, page, key)
                        cpu_before = _cpu_s(workers[name].proc.pid)
                        answer = workers[name].invoke("ocr", event)
                        cpu = _cpu_s(workers[name].proc.pid) - cpu_before
                        starts, seen[name] = read_counts(counts[name], seen[name])
                        starts_per_page[name].append(sum(1 for s in starts if "--version" not in s[-1]))
                        body = s3.get_object(Bucket=RESULTS_BUCKET, Key=result_key(key))["Body"].read()
                        document = json.loads(body)
                        row = rows[page.name]
                        row["s"][name].append(answer["s"])
                        row["cpu_s"][name].append(cpu)
                        row["tesseract_s"][name].append(document["ocr"]["duration_ms"] / 1000)
                        if rep == 0:
                            row[f"bytes_{name}"] = _stored_sizes(s3, document, result_key(key))
                            if name == "none":
                                documents[page.name] = document
                log(f"{PART}: round {rep + 1}/{repeats} done")
        finally:
            for worker in workers.values():
                worker.close()
    return {"rows": rows, "starts": starts_per_page, "documents": documents}


def run(opts: Options) -> dict[str, Any]:
    pages = select_pages(opts.quick)
    # Five rounds: the machines this runs on are shared, and the three settings differ by a few percent.
    repeats = 1 if opts.quick else 5
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    measured = _handlers(pages, work, repeats)
    rows, starts = measured["rows"], measured["starts"]
    renderers = _tesseract_renderers(pages, work, 1 if opts.quick else 3)
    model = _model_render_ms(measured["documents"], 3 if opts.quick else 9)

    others = [k for k in SETTINGS if k != "none"]
    per_page: list[dict[str, Any]] = []
    ratios: dict[str, list[float]] = {k: [] for k in others}
    added_ms: dict[str, list[float]] = {k: [] for k in others}
    # The noise-proof part: the handler's time outside Tesseract, both timed in the same invocation.
    outside_ms: dict[str, list[float]] = {k: [] for k in SETTINGS}
    outside_share: dict[str, list[float]] = {k: [] for k in others}
    tesseract_ratio: dict[str, list[float]] = {k: [] for k in others}
    cpu_ratio: dict[str, list[float]] = {k: [] for k in others}
    for page in pages:
        row = rows[page.name]
        medians = {k: statistics.median(v) for k, v in row["s"].items()}
        for name in SETTINGS:
            outside = [(s - t) * 1000 for s, t in zip(row["s"][name], row["tesseract_s"][name], strict=True)]
            outside_ms[name].append(statistics.median(outside))
        tesseract = {k: statistics.median(v) for k, v in row["tesseract_s"].items()}
        cpu = {k: statistics.median(v) for k, v in row["cpu_s"].items()}
        for name in others:
            ratios[name].append(medians[name] / medians["none"])
            added_ms[name].append((medians[name] - medians["none"]) * 1000)
            outside_share[name].append((outside_ms[name][-1] - outside_ms["none"][-1]) / 1000 / medians["none"])
            tesseract_ratio[name].append(tesseract[name] / tesseract["none"])
            cpu_ratio[name].append(cpu[name] / cpu["none"])
        per_page.append(
            {
                "page": page.name,
                "pixels": row["pixels"],
                "handler_s": {k: round(v, 4) for k, v in medians.items()},
                "tesseract_s": {k: round(statistics.median(v), 4) for k, v in row["tesseract_s"].items()},
                "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
                "ratio_to_none": {k: round(medians[k] / medians["none"], 4) for k in ratios},
                "outside_tesseract_ms": {k: round(outside_ms[k][-1], 1) for k in SETTINGS},
                "bytes": row.get("bytes_all", {}),
            }
        )
    totals = {k: sum(statistics.median(rows[p.name]["s"][k]) for p in pages) for k in SETTINGS}
    sizes = {
        kind: [rows[p.name]["bytes_all"][kind] for p in pages if kind in rows[p.name].get("bytes_all", {})]
        for kind in ("page_json", "alto", "hocr", "pdf")
    }
    one_each = all(n == 1 for counts in starts.values() for n in counts)
    result = {
        "what": "OCR handler end to end (SNS event in, image from S3, Tesseract, outputs and page JSON to S3; moto "
        "over HTTP; warm containers) with OUTPUTS=none, alto,hocr and alto,hocr,pdf, interleaved page by page",
        "pages": len(pages),
        "repeats_per_page": repeats,
        "settings": SETTINGS,
        "handler_s": {k: summary([statistics.median(rows[p.name]["s"][k]) for p in pages]) for k in SETTINGS},
        "ratio_to_none": {k: summary(v) for k, v in ratios.items()},
        "ratio_of_totals": {k: round(totals[k] / totals["none"], 4) for k in ratios},
        # The same invocations by CPU time (the handler and its Tesseract; /proc, 10 ms ticks).
        "handler_cpu_s": {k: summary([statistics.median(rows[p.name]["cpu_s"][k]) for p in pages]) for k in SETTINGS},
        "cpu_ratio_to_none": {k: summary(v) for k, v in cpu_ratio.items()},
        "added_ms": {k: summary(v, 1) for k, v in added_ms.items()},
        "outside_tesseract_ms": {k: summary(v, 1) for k, v in outside_ms.items()},
        "added_outside_tesseract_ms": {
            k: summary([a - b for a, b in zip(outside_ms[k], outside_ms["none"], strict=True)], 1) for k in others
        },
        # What the outputs add outside Tesseract as a share of the page's time with none.
        "added_outside_tesseract_share": {k: summary(v) for k, v in outside_share.items()},
        # Tesseract's own time in the handler (the PDF renderer runs inside it), against none.
        "tesseract_ratio_to_none": {k: summary(v) for k, v in tesseract_ratio.items()},
        "storage_bytes": {kind: summary(values, 0) for kind, values in sizes.items()},
        "storage_total_bytes": {kind: sum(values) for kind, values in sizes.items()},
        "storage_ratio_to_page_json": {
            kind: summary([size / json_size for size, json_size in zip(sizes[kind], sizes["page_json"], strict=True)])
            for kind in ("alto", "hocr", "pdf")
        },
        "tesseract_starts": {
            "ocr_per_page": {k: summary(v, 0) for k, v in starts.items()},
            "exactly_one_per_page": one_each,
        },
        "tesseract_renderers": renderers,
        "model_render_ms": model,
        "target": {
            "ratio_median_max": TARGET_RATIO,
            "met": statistics.median(ratios["all"]) <= TARGET_RATIO,
            "one_tesseract_per_page_met": one_each,
        },
        "per_page": per_page,
    }
    write_result(opts, PART, result)
    return result


def report_rows(add: Any, r: dict[str, Any] | None) -> None:
    """Part 10's rows of the summary table (bench/report.py)."""
    if not r:
        return
    from bench.report import _met, _mmm

    none = _mmm(r["handler_s"]["none"], " s")
    for name, label in (("alto_hocr", "alto,hocr (default)"), ("all", "alto,hocr,pdf")):
        add(
            "10 Outputs",
            f"OCR handler per page with OUTPUTS={label} ({r['pages']} pages x {r['repeats_per_page']})",
            _mmm(r["handler_s"][name], " s"),
            f"OUTPUTS=none {none}",
            _mmm(r["ratio_to_none"][name], digits=3),
            f"median ≤ {r['target']['ratio_median_max']}" if name == "all" else "",
            _met(r["target"]["met"]) if name == "all" else "",
        )
    if "cpu_ratio_to_none" in r:
        cpu = r["cpu_ratio_to_none"]
        add(
            "10 Outputs",
            "the same by CPU time (handler + Tesseract), alto,hocr / alto,hocr,pdf",
            f"{cpu['alto_hocr']['median']:.3f} / {cpu['all']['median']:.3f}",
            f"OUTPUTS=none {_mmm(r['handler_cpu_s']['none'], ' s')}",
        )
    if "added_outside_tesseract_ms" in r:
        outside = r["added_outside_tesseract_ms"]
        add(
            "10 Outputs",
            "time the outputs add outside Tesseract (render, PUTs), alto,hocr / alto,hocr,pdf",
            f"+{outside['alto_hocr']['median']:.0f} / +{outside['all']['median']:.0f} ms",
            f"OUTPUTS=none {r['outside_tesseract_ms']['none']['median']:.0f} ms outside Tesseract",
        )
    b = r["storage_bytes"]
    add(
        "10 Outputs",
        "storage per page: ALTO / hOCR / PDF",
        f"{b['alto']['median'] / 1000:.0f} / {b['hocr']['median'] / 1000:.0f} / {b['pdf']['median'] / 1000:.0f} kB",
        f"page JSON {b['page_json']['median'] / 1000:.0f} kB",
    )
    add(
        "10 Outputs",
        "Tesseract processes per page, all outputs on (counted)",
        f"{r['tesseract_starts']['ocr_per_page']['all']['max']:.0f}",
        "",
        "",
        "exactly 1",
        _met(r["target"]["one_tesseract_per_page_met"]),
    )
