"""Part 7, cold start: what each handler adds to a Lambda cold start beyond a function that only imports boto3.

Whole processes, as Lambda starts one: ``python -S -c "import X"`` for X in
boto3, handlers.ocr, handlers.indexer and handlers.search, with the Lambda artifact's packages
(bench.runtime), fresh processes taking turns round after round. What a
handler adds is the median over rounds of its time minus boto3's in the same
round, in wall time and in CPU time (user + system, steadier on a shared
machine). Each process stamps the moment its import is done, and the figure
is its life from the spawn to that moment: interpreter start-up and imports,
not the interpreter's exit (a garbage collection over every module loaded,
which no Lambda invocation waits for: a container is frozen, then killed).
In two bytecode states (bench.bytecode): ``shipped``, the headline, with ours
and the layer's modules compiled from source at every start as on Lambda,
and ``compiled``, with every .pyc there.

``python -X importtime`` in separate processes of the same rounds explains the
figure: the own times, by package, of the modules boto3 does not import.

The first invocation: a fresh process imports a handler and invokes it on a
real page (OCR: an image in S3; indexer: a page JSON in S3) against a fresh
process that imports boto3 and does the same work by hand
(bench.bare_functions). That difference, import plus first call, is what a
user waits for and Lambda bills when a container starts.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

from bench import corpus
from bench.bytecode import Bytecode, layer_compiled, states, strip_to_runtime
from bench.log import log
from bench.pages import Page, select_pages
from bench.paths import ROOT
from bench.processes import child_env, run_measured
from bench.results import Options, write_result
from bench.runtime import runtime
from bench.services import (
    RESULTS_BUCKET,
    fresh_key,
    moto_server,
    opensearch_client,
    opensearch_server,
    s3_client,
    upload_page,
)
from bench.stats import summary
from bench.tesseract import counting_wrapper
from bench.worker_client import cold_container, function_env
from pagesearch.lambda_local import FUNCTIONS, s3_record

PART = "cold_start"
MODULES = ("boto3", "handlers.ocr", "handlers.indexer", "handlers.search")
HANDLERS = MODULES[1:]
TARGET_ADDED_MS = 50
HEADLINE = "shipped"
TOP_PACKAGES = 8
BARE = {"ocr": "bench.bare_functions:ocr", "indexer": "bench.bare_functions:indexer"}
INDEX = {"ours": "bench-cold", "bare": "bench-cold-bare"}
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)$")


def probe(module: str) -> str:
    """The measured program: the import between two stamps (see bench.worker._stamp), then exit as usual."""
    return (
        f"import time\nt0 = time.perf_counter()\nimport {module}\nt1 = time.perf_counter()\nimport os\n"
        "os.write(1, f'{t0!r} {t1!r} {time.process_time()!r}'.encode())\n"
    )


def parse_importtime(stderr: str) -> dict[str, tuple[float, float, int]]:
    """module -> (self ms, cumulative ms, depth) from -X importtime's report."""
    out = {}
    for line in stderr.splitlines():
        match = _LINE.match(line.rstrip())
        if match:
            own, cumulative, indent, name = match.groups()
            out.setdefault(name, (int(own) / 1000, int(cumulative) / 1000, (len(indent) - 1) // 2))
    return out


def added_by_package(
    report: dict[str, tuple[float, float, int]], base: dict[str, tuple[float, float, int]]
) -> dict[str, float]:
    """What a handler imports that `import boto3` does not, by top-level package (sum of own times, ms)."""
    totals: dict[str, float] = {}
    for name, (own, _cumulative, _depth) in report.items():
        if name not in base:
            top = name.split(".")[0]
            totals[top] = totals.get(top, 0.0) + own
    return totals


def _whole_process(module: str, bytecode: Bytecode, env: dict[str, str], *, write: bool = False) -> dict[str, float]:
    done = run_measured(
        [*runtime().python, *bytecode.flags(write=write), "-c", probe(module)], env=env, cwd=ROOT, capture=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr}")
    t0, t1, cpu = (float(x) for x in done.stdout.split())
    return {
        "until_imported_ms": (t1 - done.started_at) * 1000,
        "cpu_until_imported_ms": cpu * 1000,
        "startup_ms": (t0 - done.started_at) * 1000,
        "exit_ms": (done.started_at + done.wall_s - t1) * 1000,
        "whole_process_ms": done.wall_s * 1000,
        "whole_process_cpu_ms": done.cpu_s * 1000,
    }


def _importtime(module: str, bytecode: Bytecode, env: dict[str, str]) -> dict[str, tuple[float, float, int]]:
    argv = [*runtime().python, *bytecode.flags(), "-X", "importtime", "-c", f"import {module}"]
    done = run_measured(argv, env=env, cwd=ROOT, stderr_tail=10**7)
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed: {done.stderr[-2000:]}")
    return parse_importtime(done.stderr)


def _bytecode_of(module: str, state: str, bytecodes: dict[str, Bytecode]) -> Bytecode:
    """The baseline, a function without a layer, loads only the runtime's files, which Lambda has compiled."""
    return bytecodes["compiled"] if module == "boto3" else bytecodes[state]


def _paired(rows: list[dict[str, dict[str, float]]], key: str) -> dict[str, dict[str, Any]]:
    """Each handler's figure minus boto3's of the same round (adjacent processes), summarised over rounds."""
    return {h: summary([r[h][key] - r["boto3"][key] for r in rows], 1) for h in HANDLERS}


def measure_imports(rounds: int, bytecodes: dict[str, Bytecode], env: dict[str, str]) -> dict[str, Any]:
    """Whole processes and -X importtime reports, every state and module in every round, in rotation."""
    whole: dict[str, list[dict[str, dict[str, float]]]] = {s: [] for s in bytecodes}
    reports: dict[str, list[dict[str, dict[str, tuple[float, float, int]]]]] = {s: [] for s in bytecodes}
    groups = [(s, kind) for s in bytecodes for kind in ("whole", "importtime")]
    for r in range(rounds):
        rows: dict[tuple[str, str], dict[str, Any]] = {g: {} for g in groups}
        for state, kind in groups[r % len(groups) :] + groups[: r % len(groups)]:
            for module in MODULES[r % len(MODULES) :] + MODULES[: r % len(MODULES)]:
                measure = _whole_process if kind == "whole" else _importtime
                rows[state, kind][module] = measure(module, _bytecode_of(module, state, bytecodes), env)
        for state in bytecodes:
            whole[state].append(rows[state, "whole"])
            reports[state].append(rows[state, "importtime"])
        log(f"{PART}: round {r + 1}/{rounds}")
    out: dict[str, Any] = {"whole_process": {}, "importtime": {}}
    for state in bytecodes:
        rows_w = whole[state]
        keys = rows_w[0]["boto3"].keys()
        out["whole_process"][state] = {
            **{k: {m: summary([r[m][k] for r in rows_w], 1) for m in MODULES} for k in keys},
            "added_ms": _paired(rows_w, "until_imported_ms"),
            "added_cpu_ms": _paired(rows_w, "cpu_until_imported_ms"),
            "startup_added_ms": _paired(rows_w, "startup_ms"),
            "exit_added_ms": _paired(rows_w, "exit_ms"),
            "whole_process_added_ms": _paired(rows_w, "whole_process_ms"),
            "whole_process_added_cpu_ms": _paired(rows_w, "whole_process_cpu_ms"),
        }
        out["importtime"][state] = _explain(reports[state])
    return out


def _explain(rounds: list[dict[str, dict[str, tuple[float, float, int]]]]) -> dict[str, Any]:
    """-X importtime's view: cumulative times, what each handler adds, by package, and what that sum misses."""
    cumulative = {m: [r[m][m][1] for r in rounds] for m in MODULES}
    out: dict[str, Any] = {"import_ms": {m: summary(v, 1) for m, v in cumulative.items()}}
    for key in ("added_ms", "added_by_package_sum_ms", "shared_modules_extra_ms", "added_by_package"):
        out[key] = {}
    for h in HANDLERS:
        added = [c - b for c, b in zip(cumulative[h], cumulative["boto3"], strict=True)]
        packages = [added_by_package(r[h], r["boto3"]) for r in rounds]
        sums = [sum(p.values()) for p in packages]
        names = {name for p in packages for name in p}
        medians = {name: statistics.median(p.get(name, 0.0) for p in packages) for name in names}
        ranked = sorted(medians.items(), key=lambda kv: kv[1], reverse=True)[:TOP_PACKAGES]
        out["added_ms"][h] = summary(added, 1)
        out["added_by_package_sum_ms"][h] = summary(sums, 1)
        # The cumulative difference minus the sum: time that lands in modules boto3 imports too
        # (mostly garbage collections over the handler's larger heap, run while they load).
        out["shared_modules_extra_ms"][h] = summary([a - s for a, s in zip(added, sums, strict=True)], 1)
        out["added_by_package"][h] = [{"package": name, "own_ms": round(ms, 1)} for name, ms in ranked]
    return out


def _indexer_event(s3: Any, key: str, body: bytes) -> dict[str, Any]:
    put = s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=body)
    return {"Records": [s3_record(RESULTS_BUCKET, key, etag=put["ETag"], size=len(body))]}


def _events(s3: Any, function: str, side: str, page: Page, document: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """Two fresh events for one cold container (first and second invocation), uploaded untimed."""
    if function == "ocr":
        return [upload_page(s3, page, fresh_key(page, f"cold-{side}")) for _ in range(2)]
    from lib.index.documents import index_action, page_document

    events = []
    for n in range(2):
        book = f"{tag}{side[0]}{n}"
        copy = corpus.renamed(document, book, page.stem)
        if side == "ours":
            body = json.dumps(copy, ensure_ascii=False).encode()
            events.append(_indexer_event(s3, f"{book}/{page.stem}.json", body))
        else:
            # The bare side sends the very request ours builds; building it is charged to ours.
            built = page_document(copy, corpus.version(book, page.stem), "2026-01-01")
            body = corpus.bulk_body([index_action(built)])
            events.append(_indexer_event(s3, f"{book}/{page.stem}.ndjson", body))
    return events


def _first(answer: dict[str, Any], started_at: float) -> dict[str, float]:
    first, second = answer["invocations"][:2]
    done = first["done"]
    return {
        "until_first_done_ms": (done["t"] - started_at) * 1000,
        "cpu_until_first_done_ms": (done["cpu_s"] + done["children_cpu_s"]) * 1000,
        "import_ms": answer["import_s"] * 1000,
        "first_call_ms": first["s"] * 1000,
        "second_call_ms": second["s"] * 1000,
    }


def measure_first(
    env: dict[str, str], s3: Any, bytecodes: dict[str, Bytecode], work: Path, rounds: int, *, write: bool = False
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Cold containers, ours and the bare function in turn, for both functions; per-round figures.

    ``bytecodes`` names the state of each side (``ours``, ``bare``).
    """
    pages = select_pages(True)
    docs = corpus.documents(pages)
    out: dict[str, dict[str, list[dict[str, float]]]] = {f: {"ours": [], "bare": []} for f in BARE}
    for r in range(rounds):
        page = pages[r % len(pages)]
        for function in BARE:
            for side in ("ours", "bare") if r % 2 == 0 else ("bare", "ours"):
                target = FUNCTIONS[function] if side == "ours" else BARE[function]
                fenv = {**env, "OPENSEARCH_INDEX": INDEX[side], "PAGESEARCH_BENCH_DPI": str(page.dpi)}
                # Books no other round used: the indexer must find no previous version, on either side.
                tag = f"{'fill' if write else 'run'}{bytecodes['ours'].state[0]}{r:02d}"
                events = _events(s3, function, side, page, docs[page.stem], tag)
                answer, done = cold_container(
                    target,
                    events,
                    fenv,
                    work / f"events-{function}-{side}.json",
                    flags=bytecodes[side].flags(write=write),
                )
                for item in answer["invocations"]:
                    if item["result"]["pages"][0]["status"] not in ("ocr", "indexed"):
                        raise RuntimeError(f"cold {target} on {page.name}: {item['result']}")
                out[function][side].append(_first(answer, done.started_at))
    return out


def _first_summary(rows: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    ours, bare = rows["ours"], rows["bare"]
    out: dict[str, Any] = {}
    for key in ours[0]:
        out[f"ours_{key}"] = summary([r[key] for r in ours], 1)
        out[f"bare_{key}"] = summary([r[key] for r in bare], 1)
    for key in ("until_first_done_ms", "cpu_until_first_done_ms"):
        out[f"added_{key}"] = summary([o[key] - b[key] for o, b in zip(ours, bare, strict=True)], 1)
    return out


def run(opts: Options) -> dict[str, Any]:
    rounds = 2 if opts.quick else 20
    first_rounds = 2 if opts.quick else 10
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    bytecodes = states(work)
    # Writes .pyc only into the prefixes: the developer's PYTHONDONTWRITEBYTECODE must not decide the state.
    env = child_env({"PYTHONPATH": runtime().pythonpath}, drop=("PYTHONDONTWRITEBYTECODE",))
    with moto_server(work) as aws, opensearch_server(work) as opensearch_url:
        s3 = s3_client(aws)
        client = opensearch_client(opensearch_url)
        from lib.index.store import ensure_index

        for index in INDEX.values():
            ensure_index(client, index)
        fenv = function_env(
            aws,
            opensearch_url=opensearch_url,
            tesseract_cmd=counting_wrapper(work),
            count_file=work / "tesseract-starts.log",
        )
        fenv.pop("PYTHONDONTWRITEBYTECODE", None)  # as for env: the fill runs must write
        # Unmeasured: every module the measured processes load, compiled into each prefix once.
        for bytecode in bytecodes.values():
            for module in MODULES:
                _whole_process(module, bytecode, env, write=True)
            measure_first(fenv, s3, {"ours": bytecode, "bare": bytecode}, work, 1, write=True)
        removed = strip_to_runtime(bytecodes["shipped"])
        log(f"{PART}: {removed} .pyc removed for the shipped state; {rounds} rounds of imports")
        imports = measure_imports(rounds, bytecodes, env)
        log(f"{PART}: {first_rounds} rounds of first invocations, {HEADLINE}")
        sides = {"ours": bytecodes[HEADLINE], "bare": bytecodes["compiled"]}
        first = measure_first(fenv, s3, sides, work, first_rounds)
    headline = imports["whole_process"][HEADLINE]
    explained = imports["importtime"][HEADLINE]
    firsts = {function: _first_summary(rows) for function, rows in first.items()}
    ocr = first["ocr"]["ours"]
    added = {h: headline["added_ms"][h]["median"] for h in HANDLERS}
    log(f"{PART}: handlers add {added} ms to boto3's whole process ({HEADLINE})")
    result = {
        "what": "whole processes `python -S -c 'import X'` (the Lambda artifact's packages), from spawn until the "
        "import is done, each handler minus boto3 in the same round (median, min, max; wall and CPU); bytecode "
        "as shipped (ours compiled from source at every start, the layer as scripts/build_python_deps.py builds "
        "it) and compiled; -X importtime by "
        "package as the explanation; import + first invocation of each handler against boto3 + the same work",
        "method": "each process stamps perf_counter (CLOCK_MONOTONIC, shared with the parent) and process_time "
        "when its import is done; the interpreter's exit is left out (a container is frozen, then killed) and "
        "reported apart as exit_ms; -X importtime runs are separate processes, as its report costs time itself",
        "rounds": rounds,
        "bytecode": {
            "headline": HEADLINE,
            # Since ba9620b the layer ships .pyc when the build machine has Lambda's Python (bench.bytecode).
            "layer_compiled": layer_compiled(),
            "shipped": (
                "the layer's packages compiled (built with Lambda's Python), "
                if layer_compiled()
                else "no .pyc for the layer's packages (no Lambda Python to compile them with), "
            )
            + (
                "lib and handlers compiled (checked-hash, by scripts/build_python_deps.py at sls package); "
                if layer_compiled()
                else "none for lib and handlers (no Lambda Python to compile them with); "
            )
            + "the standard library, boto3, botocore, s3transfer compiled",
            "baseline": "always compiled: a function without a layer loads only the runtime's files, which are",
            "compiled": "every module with its .pyc (what compiling the artifact would give)",
            "pyc_removed_for_shipped": removed,
        },
        "whole_process": imports["whole_process"],
        "importtime": imports["importtime"],
        # The keys earlier results had, now meaning the headline state.
        "import_ms": explained["import_ms"],
        "process_wall_ms": headline["whole_process_ms"],
        "added_to_boto3_ms": added,
        "added_to_boto3_cpu_ms": {h: headline["added_cpu_ms"][h]["median"] for h in HANDLERS},
        "added_to_boto3_per_round_ms": headline["added_ms"],
        "added_by_package_sum_ms": {h: explained["added_by_package_sum_ms"][h]["median"] for h in HANDLERS},
        "added_by_package": explained["added_by_package"],
        "first_invocation": {
            "pages": [p.name for p in select_pages(True)],
            "rounds": first_rounds,
            "bytecode": HEADLINE,
            "baseline": "a fresh process importing boto3 and doing the same work by hand (bench.bare_functions): "
            "OCR GETs the image, runs the Tesseract CLI once, PUTs the TSV; indexer GETs the bulk body our code "
            "would build and sends it in one _bulk request",
            "ocr": firsts["ocr"],
            "indexer": firsts["indexer"],
            "extra_ms": summary([r["first_call_ms"] - r["second_call_ms"] for r in ocr], 1),
            "first_ms": summary([r["first_call_ms"] for r in ocr], 1),
            "second_ms": summary([r["second_call_ms"] for r in ocr], 1),
            "handler_import_in_worker_ms": summary([r["import_ms"] for r in ocr], 1),
            "what_it_includes": "the S3 client's creation (botocore loads the S3 model), Pillow's plugin "
            "registration on the first Image.open, pytesseract's import, and `tesseract --version` (once per "
            "container)",
        },
        "target": {
            "max_added_ms": TARGET_ADDED_MS,
            "met": all(v <= TARGET_ADDED_MS for v in added.values()),
            "judged_on": f"added_to_boto3_ms: whole process until imported, wall, median, bytecode {HEADLINE}",
        },
    }
    write_result(opts, PART, result)
    return result
