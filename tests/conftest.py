"""Shared fixtures: real Tesseract, moto (in-process or server), a real OpenSearch API server.

No test needs AWS credentials or a particular order: each gets its own
buckets or index name, and every endpoint variable is set or cleared here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "pages"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGES_BUCKET = "test-pages"
RESULTS_BUCKET = "test-results"


def shared_pages_dir() -> Path | None:
    """The evaluation pages beside the repository (../shared/data/pages), if present."""
    configured = os.environ.get("PAGESEARCH_TEST_PAGES")
    for candidate in ([Path(configured)] if configured else []) + [ROOT.parent / "shared" / "data" / "pages"]:
        if candidate.is_dir():
            return candidate
    return None


def evaluation_pages() -> list[Path]:
    """Every page image with ground truth: the shared set when present, else the shipped samples."""
    base = shared_pages_dir()
    images = sorted(
        p
        for p in (base.rglob("*") if base else SAMPLES.iterdir())
        if p.suffix.lower() in (".tif", ".tiff") and p.with_suffix(".gt.txt").exists()
    )
    return images


def ground_truth(image: Path) -> str:
    return image.with_suffix(".gt.txt").read_text(encoding="utf-8")


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here rather than in tests/browser/conftest.py: pytest reads options only from the conftest files it loads
    # first, and a plain `pytest` run loads that one later.
    parser.addoption(
        "--browser-shots",
        metavar="DIR",
        default=None,
        help="keep the browser tests' screenshots in DIR (default: each test's own tmp_path)",
    )


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test talks to a real AWS account or inherits a developer's endpoints."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "OPENSEARCH_URL", "OPENSEARCH_INDEX"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("PAGESEARCH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PAGES_BUCKET", PAGES_BUCKET)
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS_BUCKET)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with both buckets; lib's cached client is rebuilt inside the mock."""
    from moto import mock_aws

    from lib import storage

    storage.s3_client.cache_clear()
    with mock_aws():
        client = storage.s3_client()
        client.create_bucket(Bucket=PAGES_BUCKET)
        client.create_bucket(Bucket=RESULTS_BUCKET)
        yield client
    storage.s3_client.cache_clear()


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """A real OpenSearch HTTP API: OPENSEARCH_TEST_URL when given, else osmem-server for the session."""
    if os.environ.get("OPENSEARCH_TEST_URL"):
        yield os.environ["OPENSEARCH_TEST_URL"]
        return
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    yield server.url
    server.close()


@pytest.fixture
def index_name() -> str:
    return f"pages-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, opensearch_url: str, index_name: str) -> Any:
    from lib.settings import Settings

    monkeypatch.setenv("OPENSEARCH_URL", opensearch_url)
    monkeypatch.setenv("OPENSEARCH_INDEX", index_name)
    return Settings.from_env()


@pytest.fixture(scope="session")
def tesseract() -> str:
    path = shutil.which("tesseract")
    if not path:
        pytest.fail("tesseract is not installed: run `make setup` (apt-get install tesseract-ocr tesseract-ocr-eng)")
    return path


@pytest.fixture(scope="session")
def page_json_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Page JSON of real pages, OCR'd once per session (keyed by file name)."""
    return {}


def ocr_page_json(
    cache: dict[str, dict[str, Any]], image: Path, book: str = "book", page: str | None = None
) -> dict[str, Any]:
    """Real OCR output for ``image`` (cached), renamed to ``book``/``page``."""
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    if image.name not in cache:
        ref = PageRef("book", "p")
        cache[image.name] = ocr_document(
            image.read_bytes(), ref, Settings.from_env(), source={"bucket": PAGES_BUCKET, "key": f"book/{image.name}"}
        )
    document = json.loads(json.dumps(cache[image.name]))
    page = page or image.stem
    document.update(book=book, page=page, page_number=int(page) if page.isdigit() else None)
    document["source"]["key"] = f"{book}/{image.name}"
    return document


def s3_event(
    bucket: str,
    key: str,
    *,
    name: str = "ObjectCreated:Put",
    sequencer: str = "0062A1B2C3D4E5F601",
    event_time: str = "2026-11-25T09:00:00.000Z",
    etag: str = "",
    size: int = 1,
) -> dict[str, Any]:
    """One S3 record as S3 sends it, with a fixed sequencer and time unless given (so a test can repeat one)."""
    from pagesearch.lambda_local import s3_record

    return s3_record(bucket, key, name=name, etag=etag, size=size, sequencer=sequencer, event_time=event_time)


def sns_event(*records: dict[str, Any], message: str | None = None) -> dict[str, Any]:
    """The SNS-triggered Lambda event wrapping an S3 event (or a raw message)."""
    from pagesearch.lambda_local import sns_event as wrap

    return wrap(*records, message=message)


def words_of(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
