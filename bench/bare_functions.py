"""The cold start's baselines: each function as a user would write it with nothing but boto3 and the standard library.

Started in a fresh process by ``python -m bench.worker --cold bench.bare_functions:ocr``
(or ``:indexer``), as our handlers are, so that "import + first invocation" of
ours is measured against "import boto3 + the same work". The same work: the
OCR function GETs the image from S3, runs the Tesseract CLI once on it (TSV,
``--psm 3``, the DPI our code passes, one thread) and PUTs the output; the
indexer GETs a bulk body from S3 and sends it in one ``_bulk`` request. What
ours does beyond that (Powertools, validation, the page JSON, idempotence
checks, the index check and the page's previous version) is what the
comparison charges to ours. No retries, no logging: a lower bound, not a
recommendation.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3

# The page's DPI as our code decides it (lib.ocr.images reads the file; a bare function would hard-code it).
DPI_VARIABLE = "PAGESEARCH_BENCH_DPI"


def _s3_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The S3 records of an SNS-wrapped event (the OCR trigger) or of a direct S3 event (the indexer's)."""
    records = []
    for record in event.get("Records", []):
        if "Sns" in record:
            records.extend(json.loads(record["Sns"]["Message"]).get("Records", []))
        else:
            records.append(record)
    return records


def ocr(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Image from S3 -> one Tesseract run -> its TSV to the results bucket."""
    s3 = boto3.client("s3")
    pages = []
    for record in _s3_records(event):
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with tempfile.TemporaryDirectory() as tmp:
            image = Path(tmp) / f"page{Path(key).suffix}"
            image.write_bytes(body)
            out = Path(tmp) / "out"
            command = [os.environ.get("TESSERACT_CMD") or "tesseract", str(image), str(out), "-l", "eng"]
            command += ["--psm", "3", "--dpi", os.environ.get(DPI_VARIABLE, "300"), "tsv"]
            subprocess.run(command, env={**os.environ, "OMP_THREAD_LIMIT": "1"}, check=True, capture_output=True)
            tsv = out.with_suffix(".tsv").read_bytes()
        s3.put_object(Bucket=os.environ["RESULTS_BUCKET"], Key=key.rsplit(".", 1)[0] + ".tsv", Body=tsv)
        pages.append({"key": key, "status": "ocr"})
    return {"pages": pages}


def indexer(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """A bulk body from S3 -> one ``POST /INDEX/_bulk``."""
    s3 = boto3.client("s3")
    url, index = os.environ["OPENSEARCH_URL"].rstrip("/"), os.environ["OPENSEARCH_INDEX"]
    pages = []
    for record in _s3_records(event):
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        request = urllib.request.Request(
            f"{url}/{index}/_bulk", data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise RuntimeError(f"bulk of {key} had errors")
        pages.append({"key": key, "status": "indexed"})
    return {"pages": pages}
