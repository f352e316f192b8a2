"""The Serverless Framework for real: `sls invoke local` with the sample events, `sls package` offline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.e2e
SLS = ROOT / "node_modules" / ".bin" / "sls"


def sls(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(SLS), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def returned(output: str) -> dict[str, Any]:
    """`sls invoke local` prints the function's logs, then its return value as indented JSON, last."""
    start = output.rindex("\n{\n") + 1 if "\n{\n" in output else output.index("{\n")
    return json.loads(output[start:])


@pytest.fixture
def stack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Moto and the OpenSearch API server, with the bucket names the sample events use; no dispatcher."""
    from pagesearch import stack

    monkeypatch.setenv("PAGES_BUCKET", "pagesearch-dev-pages")
    monkeypatch.setenv("RESULTS_BUCKET", "pagesearch-dev-results")
    running = stack.up(dispatcher=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(running.env(), PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", SLS_TELEMETRY_DISABLED="1")
    yield env
    stack.down()


def test_invoke_local_runs_both_functions_on_the_sample_events(stack_env: dict[str, str]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=stack_env["AWS_ENDPOINT_URL"])
    s3.put_object(
        Bucket="pagesearch-dev-pages", Key="samples/phototest.tif", Body=(SAMPLES / "phototest.tif").read_bytes()
    )

    ocr = returned(sls("invoke", "local", "-f", "ocr", "-p", "events/ocr.json", env=stack_env).stdout)
    assert ocr["pages"][0]["status"] == "ocr" and ocr["pages"][0]["words"] > 40 and ocr["pages"][0]["ms"] > 0
    page = json.loads(s3.get_object(Bucket="pagesearch-dev-results", Key="samples/phototest.json")["Body"].read())
    assert page["book"] == "samples" and "lazy fox" in page["text"]

    test_event = returned(sls("invoke", "local", "-f", "ocr", "-p", "events/ocr-test-event.json", env=stack_env).stdout)
    assert test_event == {"records": 0, "pages": []}

    indexer = returned(sls("invoke", "local", "-f", "indexer", "-p", "events/indexer.json", env=stack_env).stdout)
    assert indexer["pages"][0]["status"] == "indexed" and indexer["pages"][0]["lines"] == page["stats"]["lines"]
    from lib.opensearch import client
    from lib.search.query import search

    hits = search(client(stack_env["OPENSEARCH_URL"]), stack_env["OPENSEARCH_INDEX"], '"lazy fox"')
    assert hits.total == 1 and hits.pages[0].book == "samples" and len(hits.pages[0].hits) == 4


def package_env(home: Path, **extra: str) -> dict[str, str]:
    """No AWS variable from the developer's shell and an empty HOME: no credentials unless `extra` gives some."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), SLS_TELEMETRY_DISABLED="1", PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}")
    env.update(extra)
    return env


def not_compared(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if line.endswith("not compared with the last deployment."))


def test_package_offline_gives_linux_artifacts_for_the_lambda_python(tmp_path: Path) -> None:
    result = sls("package", "--package", str(tmp_path / "out"), env=package_env(tmp_path))
    assert not_compared(result.stderr) == [
        f"No AWS credentials: layer {layer} not compared with the last deployment."
        for layer in ("pythonDeps", "tesseract")
    ]
    out = tmp_path / "out"
    code = zipfile.ZipFile(out / "pagesearch.zip").namelist()
    assert {"handlers/ocr.py", "lib/ocr/flow.py", "lib/notifications.json", "schema/page.schema.json"} <= set(code)
    assert not [n for n in code if n.startswith(("tests/", "node_modules/", ".venv/", "layers/", "bench/"))]
    deps = zipfile.ZipFile(out / "pythonDeps.zip").namelist()
    assert any(n.startswith("python/PIL/_imaging.cpython-312-x86_64-linux-gnu") for n in deps), "Pillow for Python 3.12"
    assert any(n.startswith("python/pytesseract/") for n in deps) and any(
        n.startswith("python/opensearchpy/") for n in deps
    )
    assert not any(n.startswith("python/boto3/") for n in deps)
    bytecode = [n for n in code if "__pycache__" in n]
    assert all(n.endswith(".cpython-312.pyc") for n in bytecode), "this machine's bytecode is not Lambda's"
    from scripts.build_python_deps import runtime_python

    if runtime_python("3.12"):  # then the layer and our code carry bytecode for Lambda's Python
        assert any(n.startswith("python/PIL/__pycache__/") and n.endswith(".cpython-312.pyc") for n in deps)
        assert {"handlers/__pycache__/ocr.cpython-312.pyc", "lib/ocr/__pycache__/flow.cpython-312.pyc"} <= set(code)
        # Flags 0b11: hash-based and checked against the source, so an edited file never runs stale bytecode.
        header = zipfile.ZipFile(out / "pagesearch.zip").read("handlers/__pycache__/ocr.cpython-312.pyc")[:8]
        assert int.from_bytes(header[4:8], "little") == 0b11
    layer = zipfile.ZipFile(out / "tesseract.zip").namelist()
    assert "bin/tesseract" in layer
    template = json.loads((out / "cloudformation-template-update-stack.json").read_text())
    ocr = template["Resources"]["OcrLambdaFunction"]["Properties"]
    assert ocr["Runtime"] == "python3.12"
    # The thread limit has one home, lib.settings (tested through the handler in test_ocr_function.py).
    assert "OMP_THREAD_LIMIT" not in ocr["Environment"]["Variables"]


@pytest.fixture
def cloudformation_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    """An endpoint CloudFormation requests cannot get an answer from, of the kind `request.param` names."""
    if request.param == "unresolvable":
        yield "https://cloudformation.invalid"  # .invalid never resolves (RFC 6761)
        return
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if request.param == "silent":
            server.listen(16)  # the kernel accepts; nothing ever reads or answers
        # (bound but not listening: connections are refused)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize(
    ("cloudformation_endpoint", "why"),
    [
        ("unresolvable", "CloudFormation not reachable (getaddrinfo ENOTFOUND cloudformation.invalid)"),
        ("refused", "CloudFormation not reachable (connect ECONNREFUSED 127.0.0.1:"),
        ("silent", "CloudFormation did not answer within 10 s"),
    ],
    indirect=["cloudformation_endpoint"],
    ids=["unresolvable", "refused", "silent"],
)
def test_package_with_credentials_but_no_cloudformation_skips_the_layer_comparison(
    tmp_path: Path, cloudformation_endpoint: str, why: str
) -> None:
    # The endpoint stands in for "no network" on any machine: with a network,
    # AWS itself would answer the dummy keys, an error that must propagate.
    env = package_env(
        tmp_path,
        AWS_ACCESS_KEY_ID="AKIAFAKE",
        AWS_SECRET_ACCESS_KEY="fake",
        AWS_ENDPOINT_URL_CLOUDFORMATION=cloudformation_endpoint,
    )
    result = sls("package", "--package", str(tmp_path / "out"), env=env)
    notices = not_compared(result.stderr)
    assert all(notice.startswith(why) for notice in notices), notices
    assert [notice.split(": layer ")[-1] for notice in notices] == [
        f"{layer} not compared with the last deployment." for layer in ("pythonDeps", "tesseract")
    ]
    assert (tmp_path / "out" / "cloudformation-template-update-stack.json").exists()
