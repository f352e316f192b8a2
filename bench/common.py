"""What every benchmark part shares: the pages, statistics, child processes and their peak memory,
the local S3 and OpenSearch servers, Lambda-sized CPU limits, and the result files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pagesearch.lambda_local import REGION, s3_record, sns_event
from pagesearch.servers import running, start_moto, start_opensearch

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_RESULTS = BENCH / "results"
DEFAULT_CHART = BENCH / "summary.png"
# Scratch space that survives between runs (page JSON made once); ignored by git as `.cache/`.
CACHE = BENCH / ".cache"
PAGES_BUCKET = "bench-pages"
RESULTS_BUCKET = "bench-results"
# Lambda gives one full vCPU at 1,769 MB and CPU in proportion to memory below that.
LAMBDA_MB_PER_VCPU = 1769
# The small, fast pages a --quick run uses (Tesseract's own test pages).
QUICK_PAGES = ("phototest", "eurotext")


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    """One evaluation page with its ground truth, and what our code would tell Tesseract about it."""

    path: Path
    set: str
    stem: str
    truth: str
    width: int
    height: int
    dpi: int  # what lib.images decides (the oldbooks TIFFs claim 1 dpi: it passes 300)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def name(self) -> str:
        return f"{self.set}/{self.stem}"


def pages_dir() -> Path:
    """PAGESEARCH_BENCH_PAGES, else the shared evaluation pages beside the repository, else the shipped samples."""
    configured = os.environ.get("PAGESEARCH_BENCH_PAGES")
    if configured:
        if not Path(configured).is_dir():
            raise SystemExit(f"PAGESEARCH_BENCH_PAGES={configured} is not a directory")
        return Path(configured)
    shared = ROOT.parent / "shared" / "data" / "pages"
    if shared.is_dir():
        return shared
    log(f"no evaluation pages at {shared}: using the three shipped samples")
    return ROOT / "samples" / "pages"


@lru_cache(maxsize=1)
def all_pages() -> tuple[Page, ...]:
    """Every page image that has ground truth, in a stable order."""
    from lib.ocr.images import page_image
    from lib.settings import Settings

    settings = Settings.from_env()
    found = []
    for image in sorted(pages_dir().rglob("*")):
        if image.suffix.lower() not in (".tif", ".tiff", ".png", ".jpg", ".jpeg"):
            continue
        truth = image.with_suffix(".gt.txt")
        if not truth.exists():
            continue
        # The DPI our code passes to Tesseract, so that the bare CLI gets the same.
        with page_image(
            image.read_bytes(), max_pixels=settings.max_image_pixels, default_dpi=settings.default_dpi
        ) as prepared:
            found.append(
                Page(
                    path=image,
                    set=image.parent.name,
                    stem=image.stem,
                    truth=truth.read_text(encoding="utf-8"),
                    width=prepared.width,
                    height=prepared.height,
                    dpi=prepared.dpi,
                )
            )
    if not found:
        raise SystemExit(f"no page images with *.gt.txt under {pages_dir()}")
    return tuple(found)


def select_pages(quick: bool) -> list[Page]:
    pages = list(all_pages())
    if quick:
        return [p for p in pages if p.stem in QUICK_PAGES]
    return pages


# --------------------------------------------------------------------------- statistics


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Median with min and max (and p95 when there are enough values): what every figure reports."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    out: dict[str, Any] = {
        "median": round(statistics.median(ordered), digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "n": len(ordered),
    }
    if len(ordered) >= 2:
        out["p95"] = round(percentile(ordered, 95), digits)
    return out


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --------------------------------------------------------------------------- child processes


@dataclass
class Run:
    """A finished child process: wall time, its own rusage (peak RSS of it and its waited children)."""

    wall_s: float
    rusage_maxrss_mb: float  # includes the parent's memory at fork: see TreeSampler
    user_s: float
    sys_s: float
    returncode: int
    stdout: bytes = b""
    stderr: str = ""
    sampler: TreeSampler | None = None
    output: Path | None = None  # what the command wrote, when the caller knows

    @property
    def peak_mb(self) -> float:
        """The process's own peak (VmHWM sampled; rusage's figure includes its parent's at fork)."""
        assert self.sampler is not None, "run with sample=True"
        return self.sampler.root_hwm()

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def child_env(extra: dict[str, str] | None = None, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """A clean environment for children: nothing of a developer's endpoints or thread settings leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "OPENSEARCH_", "PAGESEARCH_", "POWERTOOLS_"))
        and k not in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "TESSERACT_CMD", "AWS_PROFILE")
        and k not in drop
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    # The project's venv first, as `make` does.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _proc_status(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("Name", "VmRSS", "VmHWM"):
                out[key] = value.strip()
    return out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(c) for c in children.read().split())
    except OSError:
        pass
    return found


class TreeSampler:
    """Samples a process tree's memory from /proc: each process's high-water mark and the tree's summed RSS.

    Why not getrusage: Linux carries a process's ru_maxrss across fork and exec,
    so a Tesseract started by a 70 MB Python (or by this benchmark) reports at
    least 70 MB whatever it used itself. VmHWM, the high-water mark of the
    process's current memory map, starts afresh at exec. Sampling can miss growth
    in the last interval of a process's life; the tree sum can miss a short
    spike, so it is the lower bound, and the sum of the processes' VmHWM the upper.
    """

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self._root = pid
        self._interval = interval
        self.peak_sum_mb = 0.0
        self.root_rss_at_peak_mb = 0.0  # what the root (Python) held at the tree's peak
        self.hwm_mb: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        pending, total, root_name, root_rss = [self._root], 0.0, None, 0.0
        while pending:
            pid = pending.pop()
            try:
                status = _proc_status(pid)
            except OSError:
                continue
            pending.extend(_children(pid))
            rss = float(status.get("VmRSS", "0 kB").split()[0]) / 1024
            hwm = float(status.get("VmHWM", "0 kB").split()[0]) / 1024
            name = status.get("Name", "?")
            if pid == self._root:
                root_name, root_rss = name, rss
            elif name == root_name:
                # A child between fork and exec is a copy of its parent sharing the
                # parent's pages: counting it would count the parent twice.
                continue
            total += rss
            seen_name, seen_hwm = self.hwm_mb.get(pid, (name, 0.0))
            # A new name means exec: a new memory map whose high-water mark starts afresh.
            self.hwm_mb[pid] = (name, max(hwm, seen_hwm) if seen_name == name else hwm)
        if total > self.peak_sum_mb:
            self.peak_sum_mb, self.root_rss_at_peak_mb = total, root_rss

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_sum_mb

    def peak_of(self, name: str) -> float:
        """The largest high-water mark among processes of that name (0 if none was seen)."""
        return max((hwm for n, hwm in self.hwm_mb.values() if n == name), default=0.0)

    def root_hwm(self) -> float:
        return self.hwm_mb.get(self._root, ("", 0.0))[1]


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    stdin: bytes | None = None,
    capture: bool = False,
    sample: bool = False,
    cpu: CpuLimit | None = None,
    timeout: float = 900,
    stderr_tail: int = 2000,
) -> Run:
    """Run a command to completion; wall time and the child's own rusage via wait4 (not Popen.wait)."""
    argv = cpu.wrap(list(cmd)) if cpu else list(cmd)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
        )
        sampler = TreeSampler(proc.pid) if sample else None
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        # A blocking wait4 returns the moment the child exits (no polling quantum in the timing).
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        if sampler:
            sampler.stop()
        err.seek(0)
        out.seek(0)
        return Run(
            wall_s=wall,
            rusage_maxrss_mb=usage.ru_maxrss / 1024,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            returncode=proc.returncode,
            stdout=out.read() if capture else b"",
            stderr=err.read().decode(errors="replace")[-stderr_tail:],
            sampler=sampler,
        )


def tesseract_bin() -> str:
    path = shutil.which("tesseract") or "/usr/bin/tesseract"
    if not os.path.exists(path):
        raise SystemExit("tesseract is not installed: run `make setup`")
    return path


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    out = subprocess.run([tesseract_bin(), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def bare_tesseract(
    page: Page,
    outdir: Path,
    *,
    threads_limit: bool = True,
    lang: str = "eng",
    renderer: str = "tsv",
    tessdata: Path | None = None,
    cpu: CpuLimit | None = None,
    sample: bool = False,
) -> Run:
    """The baseline: `tesseract IMAGE OUT -l eng --psm 3 --dpi N tsv`, the DPI our code would pass."""
    env = child_env({"OMP_THREAD_LIMIT": "1"} if threads_limit else None)
    if tessdata:
        env["TESSDATA_PREFIX"] = str(tessdata)
    outbase = outdir / f"bare-{uuid.uuid4().hex[:8]}"
    run = run_measured(
        [tesseract_bin(), str(page.path), str(outbase), "-l", lang, "--psm", "3", "--dpi", str(page.dpi), renderer],
        env=env,
        cpu=cpu,
        sample=sample,
    )
    if run.returncode != 0:
        raise RuntimeError(f"tesseract failed on {page.name}: {run.stderr}")
    run.output = outbase.with_name(f"{outbase.name}.{renderer}")
    return run


def bare_output(outdir: Path) -> None:
    for path in outdir.glob("bare-*"):
        path.unlink(missing_ok=True)


COUNTING_WRAPPER = """#!/bin/sh
# Bench only: records every Tesseract start (thread setting and arguments) of the code under test.
printf '%s\\t%s\\n' "${{OMP_THREAD_LIMIT-unset}}" "$*" >> "$PAGESEARCH_BENCH_COUNT_FILE"
exec {tesseract} "$@"
"""


def counting_wrapper(directory: Path) -> Path:
    """A TESSERACT_CMD that logs each start to $PAGESEARCH_BENCH_COUNT_FILE, then execs the real one."""
    path = directory / "tesseract-counting"
    path.write_text(COUNTING_WRAPPER.format(tesseract=tesseract_bin()))
    path.chmod(0o755)
    return path


def read_counts(count_file: Path, start: int = 0) -> tuple[list[list[str]], int]:
    """Tesseract starts logged since line ``start``: ([thread setting, args], new line count)."""
    if not count_file.exists():
        return [], start
    lines = count_file.read_text().splitlines()
    return [line.split("\t", 1) for line in lines[start:]], len(lines)


# --------------------------------------------------------------------------- Lambda-sized CPU


class CpuLimit:
    """A CFS quota for child processes, as Lambda sizes CPU by memory (cgroup v1 `cpu` or v2 `cpu.max`).

    Lambda itself runs functions under such a quota, so a page's duration under
    ``CpuLimit.for_memory(512)`` stands for its duration in a 512 MB function.
    """

    PERIOD_US = 100_000

    def __init__(self, vcpus: float) -> None:
        self.vcpus = vcpus
        self.path: Path | None = None
        base_v1 = Path("/sys/fs/cgroup/cpu")
        base_v2 = Path("/sys/fs/cgroup")
        name = f"pagesearch-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        quota = max(1000, int(vcpus * self.PERIOD_US))
        if (base_v1 / "cpu.cfs_quota_us").exists():
            path = base_v1 / name
            path.mkdir()
            (path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
        elif "cpu" in (base_v2 / "cgroup.subtree_control").read_text().split():
            path = base_v2 / name
            path.mkdir()
            (path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            raise OSError("no writable cgroup cpu controller")
        self.path = path

    @classmethod
    def for_memory(cls, memory_mb: int) -> CpuLimit:
        return cls(memory_mb / LAMBDA_MB_PER_VCPU)

    def wrap(self, cmd: list[str]) -> list[str]:
        """The command, started inside the group (its children inherit it)."""
        assert self.path is not None
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path), *cmd]

    def close(self) -> None:
        if self.path is not None:
            for _ in range(50):
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)  # the last child may not be reaped by the kernel yet
            self.path = None

    def __enter__(self) -> CpuLimit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_limits_available() -> str | None:
    """None when Lambda-sized CPU quotas can be set here, else the reason."""
    try:
        CpuLimit(0.5).close()
    except OSError as exc:
        return f"cgroup cpu quota unavailable ({exc}): durations at Lambda sizes are scaled, not measured"
    return None


# --------------------------------------------------------------------------- local servers


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """moto's S3 over HTTP in its own process, as the functions would reach S3 over the network, with our buckets."""
    with running(start_moto(log_dir / "moto.log")) as url:
        s3 = s3_client(url)
        for bucket in (PAGES_BUCKET, RESULTS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        yield url


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def opensearch_server(log_dir: Path) -> contextlib.AbstractContextManager[str]:
    """The OpenSearch API server (osmem-server) for a block: its URL."""
    return running(start_opensearch(log_dir / "opensearch.log"))


def opensearch_client(url: str) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[url], timeout=120, http_compress=True)


# --------------------------------------------------------------------------- results


@dataclass
class Options:
    """What the command line asked for: which parts, how big, where results go."""

    quick: bool
    results_dir: Path
    chart: Path
    work: Path  # scratch directory of this run
    parts: list[str] = field(default_factory=list)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def code_changes() -> list[str]:
    """Uncommitted changes to the code under test: results of a dirty tree say so."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "lib", "handlers", "pagesearch"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in out.stdout.splitlines()]


def meta(opts: Options, part: str) -> dict[str, Any]:
    return {
        "part": part,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": opts.quick,
        "git_commit": git_commit(),
        "uncommitted_code_changes": code_changes(),
        "handler_runtime": _runtime.label if _runtime else "not used by this part",
        "host": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "system": platform.platform(terse=True),
        },
        "tesseract": tesseract_version(),
    }


def write_result(opts: Options, part: str, payload: dict[str, Any]) -> Path:
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    path = opts.results_dir / f"{part}.json"
    path.write_text(json.dumps({"meta": meta(opts, part), **payload}, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {path}")
    return path


def read_result(opts: Options, part: str) -> dict[str, Any] | None:
    path = opts.results_dir / f"{part}.json"
    return json.loads(path.read_text()) if path.exists() else None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- Lambda events


def upload_page(s3: Any, page: Page, key: str) -> dict[str, Any]:
    """Upload a page image (the user's part, never timed) and return the OCR function's event for it."""
    body = page.path.read_bytes()
    put = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=body)
    return sns_event(s3_record(PAGES_BUCKET, key, etag=put["ETag"], size=len(body)))


def fresh_key(page: Page, tag: str) -> str:
    """A key no earlier run used, so the duplicate-delivery skip never kicks in."""
    return f"bench-{tag}/{page.stem}-{uuid.uuid4().hex[:10]}{page.path.suffix}"


def result_key(image_key: str) -> str:
    return image_key.rsplit(".", 1)[0] + ".json"


# --------------------------------------------------------------------------- the functions' Python


@dataclass(frozen=True)
class Runtime:
    """How the handlers' processes start: which packages they can import."""

    python: tuple[str, ...]
    pythonpath: str
    label: str


_runtime: Runtime | None = None
BOTO3_NOTE = "boto3 at the dev venv's version (the Lambda runtime brings its own)"


def lambda_site() -> Path:
    """The functions' dependencies as the Lambda artifact pins them, plus boto3, in a private directory.

    The dev venv holds more (numpy, pulled in by other tools), and pytesseract
    imports numpy whenever it is importable: +10 MB and +50 ms per cold start
    that a Lambda built from requirements-lambda.txt never pays. Installed once
    (cp311 wheels of the same pins) under bench/.cache.
    """
    import hashlib
    from importlib.metadata import version

    requirements = (ROOT / "requirements-lambda.txt").read_text()
    boto3 = f"boto3=={version('boto3')}"
    digest = hashlib.sha256((requirements + boto3).encode()).hexdigest()[:12]
    site = CACHE / f"lambda-site-{digest}"
    if not (site / ".complete").exists():
        log(f"installing requirements-lambda.txt and {boto3} into {site}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(site),
                "-r",
                str(ROOT / "requirements-lambda.txt"),
                boto3,
            ],
            check=True,
        )
        (site / ".complete").write_text(boto3 + "\n")
    return site


def set_runtime(quick: bool) -> Runtime:
    """Full runs: the Lambda artifact's packages only (``python -S``); quick runs: the dev venv (no install)."""
    global _runtime
    if quick:
        _runtime = Runtime((sys.executable,), str(ROOT), "dev venv (quick run)")
        return _runtime
    try:
        site = lambda_site()
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"cannot build the Lambda-like site ({exc}): the handlers run in the dev venv")
        _runtime = Runtime((sys.executable,), str(ROOT), "dev venv (Lambda-like site unavailable)")
        return _runtime
    # -S: no site-packages of the venv; only the repository and the artifact's packages.
    _runtime = Runtime(
        (sys.executable, "-S"), f"{ROOT}{os.pathsep}{site}", f"requirements-lambda.txt + {BOTO3_NOTE}, python -S"
    )
    return _runtime


def runtime() -> Runtime:
    return _runtime or set_runtime(True)


# --------------------------------------------------------------------------- the container stand-in


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
