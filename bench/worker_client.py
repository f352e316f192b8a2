"""The parent's side of a Lambda container stand-in (bench/worker.py): a warm Worker, and the functions' environment."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.cpu import CpuLimit
from bench.pages import Page
from bench.paths import ROOT
from bench.processes import Run, child_env, run_measured
from bench.runtime import runtime
from bench.services import PAGES_BUCKET, RESULTS_BUCKET, fresh_key, upload_page
from bench.tesseract import read_counts
from pagesearch.lambda_local import FUNCTIONS


class Worker:
    """A warm `python -m bench.worker`: one Lambda container that keeps its imports between invocations."""

    def __init__(self, env: dict[str, str], log_path: Path, cpu: CpuLimit | None = None) -> None:
        env = {**env, "PYTHONPATH": runtime().pythonpath}
        cmd = [*runtime().python, "-m", "bench.worker"]
        self._log = open(log_path, "ab")  # noqa: SIM115 - the child writes to it for its whole life
        self.proc = subprocess.Popen(
            cpu.wrap(cmd) if cpu else cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=ROOT,
            text=True,
            bufsize=1,
        )
        self.log_path = log_path

    def call(self, op: str, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker died; see {self.log_path}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"bench worker: {answer['error']} (log: {self.log_path})")
        return answer

    def invoke(self, function: str, event: dict[str, Any], profile: bool = False) -> dict[str, Any]:
        answer = self.call("invoke", function=function, event=event, profile=profile)
        pages = answer["result"]["pages"]
        bad = [p for p in pages if p.get("status") not in ("ocr", "indexed")]
        if bad:
            raise RuntimeError(f"{function} did not process the page: {bad} (log: {self.log_path})")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def function_env(
    aws_endpoint: str,
    *,
    opensearch_url: str = "http://127.0.0.1:9",
    index: str = "bench",
    tesseract_cmd: Path | None = None,
    count_file: Path | None = None,
) -> dict[str, str]:
    """The functions' environment as serverless.yml sets it, pointed at the bench's local servers.

    OMP_THREAD_LIMIT is left unset on purpose: what Tesseract gets is what lib/ocr.py ships.
    """
    env = child_env(
        {
            "AWS_ENDPOINT_URL": aws_endpoint,
            "PAGES_BUCKET": PAGES_BUCKET,
            "RESULTS_BUCKET": RESULTS_BUCKET,
            "OPENSEARCH_URL": opensearch_url,
            "OPENSEARCH_INDEX": index,
            "POWERTOOLS_SERVICE_NAME": "pagesearch",
            "POWERTOOLS_METRICS_NAMESPACE": "PageSearchBench",
        }
    )
    if tesseract_cmd:
        env["TESSERACT_CMD"] = str(tesseract_cmd)
    if count_file:
        env["PAGESEARCH_BENCH_COUNT_FILE"] = str(count_file)
    return env


def cold_container(
    target: str,
    events: list[dict[str, Any]],
    env: dict[str, str],
    events_path: Path,
    *,
    flags: Sequence[str] = (),
    cpu: CpuLimit | None = None,
    sample: bool = False,
) -> tuple[dict[str, Any], Run]:
    """A fresh ``python -m bench.worker --cold TARGET``: TARGET imported, then called on each event in turn.

    ``flags`` go to the interpreter (``-X pycache_prefix=...``). Returns the
    worker's answer (import time, each invocation's result, time and stamps)
    and the process as run_measured saw it.
    """
    events_path.write_text(json.dumps(events))
    run = run_measured(
        [*runtime().python, *flags, "-m", "bench.worker", "--cold", target, str(events_path)],
        env={**env, "PYTHONPATH": runtime().pythonpath},
        cwd=ROOT,
        capture=True,
        sample=sample,
        cpu=cpu,
    )
    if run.returncode != 0:
        raise RuntimeError(f"cold worker {target} failed: {run.stderr}")
    return json.loads(run.stdout.decode().strip().splitlines()[-1]), run


def cold_invocation(
    s3: Any, env: dict[str, str], page: Page, work: Any, count_file: Any, *, invocations: int = 2, cpu: Any = None
) -> dict[str, Any]:
    """One fresh container: import the OCR handler, invoke it ``invocations`` times on the page under new keys."""
    keys = [fresh_key(page, "cold") for _ in range(invocations)]
    events = [upload_page(s3, page, key) for key in keys]
    _, seen = read_counts(count_file)
    answer, run = cold_container(FUNCTIONS["ocr"], events, env, work / f"events-{page.stem}.json", cpu=cpu, sample=True)
    starts, _ = read_counts(count_file, seen)
    for item in answer["invocations"]:
        status = item["result"]["pages"][0]["status"]
        if status != "ocr":
            raise RuntimeError(f"cold invocation on {page.name} ended {status}: {item['result']}")
    assert run.sampler is not None
    answer.update(
        python_at_peak_mb=run.sampler.root_rss_at_peak_mb,
        keys=keys,
        process_wall_s=run.wall_s,
        tree_sampled_peak_mb=run.sampler.peak_sum_mb,
        tesseract_peak_mb=run.sampler.peak_of("tesseract"),
        ocr_starts=sum(1 for s in starts if "--version" not in s[-1]),
        version_starts=sum(1 for s in starts if "--version" in s[-1]),
    )
    return answer
