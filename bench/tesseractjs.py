"""Part 4, against the original design's engine: Tesseract.js (npm) beside our OCR handler, same pages.

Six ways to OCR each page, run one after another page by page (the order
rotates, so none always goes first):

- ``js_cold``: ``node run.js once``, one page per Node process, as a Lambda
  invocation of the original design would run it (WebAssembly and model load included);
- ``ours_cold``: our handler in a fresh Python process (import, first invocation);
- ``js_warm``: one Tesseract.js worker kept alive over all pages;
- ``ours_warm``: our handler in a warm container;
- ``cli_same_model``: the Tesseract CLI with Tesseract.js's own model
  (``4.0.0_best_int`` from the npm package), so engine and model are told apart;
- ``cli``: the Tesseract CLI with Debian's ``eng`` data (what ours runs).

All with page segmentation mode 3 and the resolution our code passes. The
character error rate of each against the ground truth, whitespace-normalised.
The Tesseract.js harness is bench/tesseractjs/ with its own pinned package.json;
`npm ci` installs it there on first use.
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench.log import log
from bench.pages import Page, select_pages
from bench.paths import BENCH
from bench.processes import TreeSampler, child_env, run_measured
from bench.results import Options, write_result
from bench.services import RESULTS_BUCKET, fresh_key, moto_server, result_key, s3_client, upload_page
from bench.stats import summary
from bench.tesseract import bare_output, bare_tesseract, counting_wrapper
from bench.worker_client import Worker, cold_invocation, function_env
from pagesearch.text_metrics import cer

PART = "tesseractjs"
HARNESS = BENCH / "tesseractjs"
SIDES = ("js_cold", "ours_cold", "js_warm", "ours_warm", "cli_same_model", "cli")


def ensure_harness() -> str | None:
    """None when `node run.js` can run (installing the pinned packages if needed), else why not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node and npm are not installed"
    if not (HARNESS / "node_modules" / "tesseract.js").is_dir():
        log(f"{PART}: npm ci in {HARNESS}")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HARNESS, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return f"npm ci failed: {done.stderr.strip()[-500:]}"
    return None


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()


def package_version(name: str) -> str:
    manifest = HARNESS / "node_modules" / name / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else "?"


def same_model_tessdata(work: Path) -> Path:
    """Tesseract.js's model, unpacked for the CLI (TESSDATA_PREFIX is the directory holding it)."""
    source = HARNESS / "node_modules" / "@tesseract.js-data" / "eng" / "4.0.0_best_int" / "eng.traineddata.gz"
    target = work / "tessdata-best-int"
    target.mkdir(parents=True, exist_ok=True)
    (target / "eng.traineddata").write_bytes(gzip.decompress(source.read_bytes()))
    return target


class WarmJs:
    """`node run.js serve`: one Tesseract.js worker for the whole run, its memory sampled throughout."""

    def __init__(self, log_path: Path) -> None:
        self._log = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
        self.proc = subprocess.Popen(
            ["node", "run.js", "serve"],
            cwd=HARNESS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            env=child_env(),
        )
        self.sampler = TreeSampler(self.proc.pid, interval=0.01)
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the Tesseract.js worker died (see its log)")
        return json.loads(line)

    def recognize(self, page: Page) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"image": str(page.path), "dpi": page.dpi}) + "\n")
        return self._read()

    def close(self) -> float:
        """Stop the worker; returns its peak memory (MB) over the run."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(60)
        self.sampler.stop()
        self._log.close()
        return self.sampler.peak_sum_mb


def run(opts: Options) -> dict[str, Any]:
    unavailable = ensure_harness()
    if unavailable:
        result = {"skipped": unavailable}
        write_result(opts, PART, result)
        return result
    pages = select_pages(opts.quick)
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    tessdata = same_model_tessdata(work)
    count_file = work / "tesseract-starts.log"
    rows: list[dict[str, Any]] = []
    with moto_server(work) as aws:
        s3 = s3_client(aws)
        env = function_env(aws, tesseract_cmd=counting_wrapper(work), count_file=count_file)

        def document(key: str) -> dict[str, Any]:
            return json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=result_key(key))["Body"].read())

        warm_js = WarmJs(work / "tesseractjs-serve.log")
        with Worker(env, work / "worker.log") as ours:
            ours_sampler = TreeSampler(ours.proc.pid, interval=0.01)
            # Both warm sides OCR one page before the clock: first-call costs are the cold sides' subject.
            warm_js.recognize(pages[0])
            ours.invoke("ocr", upload_page(s3, pages[0], fresh_key(pages[0], "warmup")))
            for i, page in enumerate(pages):
                row: dict[str, Any] = {"page": page.name, "pixels": page.pixels}
                order = SIDES[i % len(SIDES) :] + SIDES[: i % len(SIDES)]
                for side in order:
                    if side == "js_cold":
                        done = run_measured(
                            ["node", "run.js", "once", str(page.path), str(page.dpi)],
                            cwd=HARNESS,
                            env=child_env(),
                            capture=True,
                            sample=True,
                        )
                        if done.returncode != 0:
                            raise RuntimeError(f"tesseract.js failed on {page.name}: {done.stderr}")
                        out = json.loads(done.stdout.decode().strip().splitlines()[-1])
                        assert done.sampler is not None
                        row[side] = {
                            "s": done.wall_s,
                            "peak_mb": done.sampler.peak_sum_mb,
                            "init_s": out["init_ms"] / 1000,
                            "cer": cer(out["text"], page.truth),
                        }
                    elif side == "ours_cold":
                        cold = cold_invocation(s3, env, page, work, count_file, invocations=1)
                        first = cold["invocations"][0]
                        row[side] = {
                            "s": cold["process_wall_s"],
                            "handler_s": first["s"],
                            "peak_mb": first["self_mb"] + cold["tesseract_peak_mb"],
                            "cer": cer(document(cold["keys"][0])["text"], page.truth),
                        }
                    elif side == "js_warm":
                        out = warm_js.recognize(page)
                        row[side] = {"s": out["recognize_ms"] / 1000, "cer": cer(out["text"], page.truth)}
                    elif side == "ours_warm":
                        key = fresh_key(page, "warm")
                        answer = ours.invoke("ocr", upload_page(s3, page, key))
                        row[side] = {"s": answer["s"], "cer": cer(document(key)["text"], page.truth)}
                    else:
                        done = bare_tesseract(
                            page,
                            work,
                            renderer="txt",
                            sample=True,
                            tessdata=tessdata if side == "cli_same_model" else None,
                        )
                        assert done.output is not None
                        row[side] = {
                            "s": done.wall_s,
                            "peak_mb": done.peak_mb,
                            "cer": cer(done.output.read_text(encoding="utf-8"), page.truth),
                        }
                bare_output(work)
                rows.append(row)
                log(
                    f"{PART}: {page.name} "
                    + ", ".join(
                        f"{side} {row[side]['s']:.2f} s" for side in ("js_cold", "ours_cold", "js_warm", "ours_warm")
                    )
                )
            ours_sampler.stop()
            ours_rss = ours.call("rusage")
        js_warm_peak = warm_js.close()
    ours_warm_peak = ours_rss["self_mb"] + ours_sampler.peak_of("tesseract")

    def ratios(num: str, den: str, key: str = "s") -> dict[str, Any]:
        return summary([r[num][key] / r[den][key] for r in rows], 3)

    engines = {
        side: {
            "s": summary([r[side]["s"] for r in rows], 3),
            "cer": summary([r[side]["cer"] for r in rows], 4),
            **({"peak_mb": summary([r[side]["peak_mb"] for r in rows], 1)} if "peak_mb" in rows[0][side] else {}),
        }
        for side in SIDES
    }
    engines["js_warm"]["peak_mb_whole_run"] = round(js_warm_peak, 1)
    engines["ours_warm"]["peak_mb_whole_run"] = round(ours_warm_peak, 1)
    result = {
        "what": "Tesseract.js one page per process and one warm worker vs our OCR handler cold and warm, "
        "and the Tesseract CLI with Tesseract.js's model and with Debian's; interleaved page by page",
        "versions": {
            "node": node_version(),
            "tesseract.js": package_version("tesseract.js"),
            "tesseract.js-core": package_version("tesseract.js-core"),
            "@tesseract.js-data/eng": package_version("@tesseract.js-data/eng"),
            "tesseract.js_model": "4.0.0_best_int (loaded from the npm package on disk, cacheMethod none)",
            "cli_model": "Debian tesseract-ocr-eng",
        },
        "settings": "psm 3 everywhere; the resolution our code passes (user_defined_dpi for Tesseract.js); "
        "OMP_THREAD_LIMIT=1 for the CLI and ours; Tesseract.js's WebAssembly is single-threaded",
        "pages": len(rows),
        "ratios": {
            "js_cold_to_ours_cold_time": ratios("js_cold", "ours_cold"),
            "js_cold_to_ours_cold_peak_memory": ratios("js_cold", "ours_cold", "peak_mb"),
            "js_warm_to_ours_warm_time": ratios("js_warm", "ours_warm"),
            "js_warm_to_ours_warm_peak_memory": round(js_warm_peak / ours_warm_peak, 3),
            "js_warm_to_cli_same_model_time": ratios("js_warm", "cli_same_model"),
            "js_warm_to_cli_time": ratios("js_warm", "cli"),
        },
        "engines": engines,
        "cer_median": {side: round(statistics.median(r[side]["cer"] for r in rows), 4) for side in SIDES},
        "js_warm_init_s": round(warm_js.ready["init_ms"] / 1000, 3),
        "per_page": [
            {"page": r["page"], **{side: {k: round(v, 4) for k, v in r[side].items()} for side in SIDES}} for r in rows
        ],
    }
    write_result(opts, PART, result)
    return result
