"""The local S3 and OpenSearch the parts run against, their clients, and a page uploaded as a user would.

The servers are pagesearch.servers' (the local stack's and the tests'); what
is the bench's own is its two buckets and the keys it uploads under.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.pages import Page
from pagesearch.lambda_local import REGION, s3_record, sns_event
from pagesearch.servers import Server, running, start_moto, start_opensearch

PAGES_BUCKET = "bench-pages"
RESULTS_BUCKET = "bench-results"


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


@contextlib.contextmanager
def opensearch_servers(log_dir: Path, names: tuple[str, ...]) -> Iterator[dict[str, Server]]:
    """One OpenSearch API server per name, for the block (so each one's memory and pauses are its own)."""
    with contextlib.ExitStack() as stack:
        servers = {}
        for name in names:
            server = start_opensearch(log_dir / f"opensearch-{name}.log")
            stack.callback(server.stop)
            servers[name] = server
        yield servers


def resident_mb(pid: int) -> float:
    """A process's resident memory now (VmRSS), in MB."""
    with open(f"/proc/{pid}/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmRSS:"))) / 1024


def opensearch_client(url: str) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[url], timeout=120, http_compress=True)


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
