"""The IIIF Presentation 3 manifest of a book (#9) through the search function's handler: real sample pages
OCR'd by the OCR function (real Tesseract, moto's S3), indexed by the indexer (the OpenSearch API server).

The book mixes what a library uploads: 1-bit and greyscale TIFFs, which browsers cannot show (their manifest
image is the display derivative the OCR function wrote), a PNG and a JPEG, shown as uploaded. The manifest is
checked field by field against Presentation 3, validated by loading it with iiif-prezi3 (the IIIF community's
own models, which the function does not import: docs/viewer.md), and every image it names is fetched through
its presigned URL and decoded, to be the format and size the manifest states.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from pagesearch import lambda_local
from pagesearch.lambda_local import http_event
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, s3_event, sns_event
from tests.integration.conftest import index, synthetic_page

pytestmark = pytest.mark.integration

BASE = "http://127.0.0.1:8080"
BOOK = "Manifest Book"  # a space: every id must encode it
ENCODED = "Manifest%20Book"
PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}


def _greyscale_tiff() -> bytes:
    # A greyscale scan: its display image is a JPEG, where a 1-bit page's is a PNG (lib.ocr.display).
    out = io.BytesIO()
    Image.open(SAMPLES / "eurotext.tif").convert("L").save(out, format="TIFF", dpi=(300, 300))
    return out.getvalue()


def _as(sample: str, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.open(SAMPLES / sample).convert("L").save(out, format=fmt)
    return out.getvalue()


# Uploaded out of page order, names that sort differently as text ("10" < "2") and as numbers.
UPLOADS: dict[str, Any] = {
    "cover.png": lambda: _as("phototest.tif", "PNG"),
    "10.tif": _greyscale_tiff,
    "appendix.jpg": lambda: _as("phototest.tif", "JPEG"),
    "2.tiff": lambda: (SAMPLES / "d015.tiff").read_bytes(),
}
PAGE_ORDER = ["2", "10", "appendix", "cover"]  # numbered pages by number, then the others by name
# What the manifest's image of each page must be: the display derivative of a TIFF, the upload otherwise.
SHOWN_AS = {"2": "PNG", "10": "JPEG", "appendix": "JPEG", "cover": "PNG"}


def call(path: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    answer = lambda_local.invoke("search", http_event(path, query))
    return answer["statusCode"], answer["headers"], json.loads(answer["body"])


@pytest.fixture
def book(s3: Any, settings: Any, tesseract: str) -> dict[str, dict[str, Any]]:
    """The book's pages uploaded, OCR'd and indexed by the functions' handlers; their page JSONs by page."""
    records = []
    for name, make in UPLOADS.items():
        data = make()
        put = s3.put_object(Bucket=PAGES_BUCKET, Key=f"{BOOK}/{name}", Body=data)
        records.append(s3_event(PAGES_BUCKET, f"{BOOK}/{name}", etag=put["ETag"].strip('"'), size=len(data)))
    done = lambda_local.invoke("ocr", sns_event(*records), stage="test")
    assert [p["status"] for p in done["pages"]] == ["ocr"] * len(UPLOADS), done
    pages = {}
    for page in PAGE_ORDER:
        key = f"{BOOK}/{page}.json"
        head = s3.head_object(Bucket=RESULTS_BUCKET, Key=key)
        record = s3_event(RESULTS_BUCKET, key, etag=head["ETag"].strip('"'), size=head["ContentLength"])
        [outcome] = lambda_local.invoke("indexer", {"Records": [record]}, stage="test")["pages"]
        assert outcome["status"] == "indexed", outcome
        pages[page] = json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())
    return pages


def fetch(url: str) -> tuple[int, bytes]:
    """GET a presigned URL as a browser would; moto's S3 answers it (the s3 fixture intercepts its host)."""
    import requests

    answer = requests.get(url, timeout=30)
    return answer.status_code, answer.content


def test_the_manifest_is_presentation_3_with_a_canvas_per_page_in_page_order(
    book: dict[str, dict[str, Any]], settings: Any
) -> None:
    status, headers, manifest = call(f"/iiif/{ENCODED}/manifest")
    assert status == 200, manifest
    assert headers["Content-Type"] == f'application/ld+json;profile="{PRESENTATION_CONTEXT}"'
    assert headers["Access-Control-Allow-Origin"] == "*"

    assert manifest["@context"] == PRESENTATION_CONTEXT
    assert manifest["type"] == "Manifest" and manifest["id"] == f"{BASE}/iiif/{ENCODED}/manifest"
    assert manifest["label"] == {"none": [BOOK]}
    canvases = manifest["items"]
    assert [c["id"] for c in canvases] == [f"{BASE}/iiif/{ENCODED}/canvas/{p}" for p in PAGE_ORDER]
    assert [c["label"] for c in canvases] == [
        {"none": ["p. 2"]},
        {"none": ["p. 10"]},
        {"none": ["appendix"]},
        {"none": ["cover"]},
    ]
    for page, canvas in zip(PAGE_ORDER, canvases, strict=True):
        image = book[page]["image"]
        assert canvas["type"] == "Canvas"
        # The canvas is the page's own pixels: the space of every box in the page JSON and every search hit.
        assert (canvas["width"], canvas["height"]) == (image["width"], image["height"])
        [annotations] = canvas["items"]
        assert annotations["type"] == "AnnotationPage" and annotations["id"].startswith(canvas["id"] + "/")
        [painting] = annotations["items"]
        assert painting["type"] == "Annotation" and painting["motivation"] == "painting"
        assert painting["target"] == canvas["id"] and painting["id"].startswith(canvas["id"] + "/")
        body = painting["body"]
        assert body["type"] == "Image" and body["format"] == MIME[SHOWN_AS[page]]
        shown = image.get("display") or image
        assert (body["width"], body["height"]) == (shown["width"], shown["height"])
        assert ("display" in image) == (image["format"] == "TIFF"), "a derivative exactly for what browsers lack"
        for value in (canvas["id"], annotations["id"], painting["id"], body["id"]):
            assert value.startswith(("http://", "https://")) and " " not in value, value

    one, two = manifest["service"]
    assert one == {
        "@context": SEARCH1_CONTEXT,
        "@id": f"{BASE}/iiif/{ENCODED}/search/1",
        "@type": "SearchService1",
        # Mirador finds the service by this exact profile, and appends ?q= to the id (no "?" of its own).
        "profile": "http://iiif.io/api/search/1/search",
        "service": {
            "@id": f"{BASE}/iiif/{ENCODED}/autocomplete/1",
            "@type": "AutoCompleteService1",
            "profile": "http://iiif.io/api/search/1/autocomplete",
        },
    }
    assert two == {
        "id": f"{BASE}/iiif/{ENCODED}/search/2",
        "type": "SearchService2",
        "service": [{"id": f"{BASE}/iiif/{ENCODED}/autocomplete/2", "type": "AutoCompleteService2"}],
    }
    # The services answer, for this book: what a viewer does next with them.
    for url in (one["@id"], two["id"]):
        status, _, found = call(url.removeprefix(BASE), {"q": "quick"})
        assert status == 200, found


def test_iiif_prezi3_loads_the_manifest_and_every_image_is_what_it_says(
    book: dict[str, dict[str, Any]], settings: Any
) -> None:
    from iiif_prezi3 import Manifest
    from pydantic import ValidationError

    _, _, manifest = call(f"/iiif/{ENCODED}/manifest")
    loaded = Manifest(**manifest)
    again = json.loads(loaded.json())
    # What the models read back is what was written (nothing dropped or renamed); they only hold a service's
    # services as a list, which Presentation 3 allows, where Search 1.0 writes the one it has as an object.
    expected = json.loads(json.dumps(manifest))
    expected["service"][0]["service"] = [expected["service"][0]["service"]]
    assert again == expected
    assert [c.id for c in loaded.items] == [c["id"] for c in manifest["items"]]
    # The models have teeth: the same manifest with a relative id, or a canvas of another type, is refused.
    relative = {**manifest, "id": f"iiif/{ENCODED}/manifest"}
    not_a_canvas = {**manifest, "items": [{**manifest["items"][0], "type": "Page"}]}
    for broken in (relative, not_a_canvas):
        with pytest.raises(ValidationError):
            Manifest(**broken)

    for page, canvas in zip(PAGE_ORDER, manifest["items"], strict=True):
        body = canvas["items"][0]["items"][0]["body"]
        # Presigned: the buckets stay private, the URL alone grants the read, for a limited time.
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in body["id"] and "X-Amz-Expires=3600" in body["id"], body["id"]
        # A TIFF's image is its derivative in the results bucket; the others are the uploads themselves.
        bucket = RESULTS_BUCKET if "display" in book[page]["image"] else PAGES_BUCKET
        assert body["id"].startswith(f"https://{bucket}.s3.amazonaws.com/"), (page, body["id"])
        status, data = fetch(body["id"])
        assert status == 200, (page, data[:200])
        with Image.open(io.BytesIO(data)) as picture:
            assert picture.format == SHOWN_AS[page], page
            assert picture.size == (body["width"], body["height"]), page
        # and without its signature the same object is refused: the bucket is not public.
        assert fetch(body["id"].split("?")[0])[0] == 403, page


def test_a_book_with_no_indexed_page_is_a_404(s3: Any, settings: Any) -> None:
    status, headers, body = call(f"/iiif/{ENCODED}/manifest")  # nothing indexed yet: not even an index
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*", body
    index(s3, synthetic_page(BOOK, "0001", [["the quick brown fox"]]))
    assert call(f"/iiif/{ENCODED}/manifest")[0] == 200
    # A book is matched by its whole name: a prefix of an indexed book's is no book.
    for path in ("/iiif/Manifest%20Boo/manifest", "/iiif/manifest%20book/manifest"):
        status, headers, body = call(path)
        assert status == 404 and headers["Access-Control-Allow-Origin"] == "*", body
        assert "no indexed page" in body["error"]


def test_image_urls_are_sigv4_on_the_regions_own_host(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a deployed function signs (no local endpoint): SigV4, which every S3 bucket accepts (SigV2 is refused
    # by buckets created since June 2020), for the bucket's regional host (the global one redirects young
    # buckets of other regions, and the redirected host breaks a SigV4 signature).
    from lib import storage

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    storage.s3_client.cache_clear()
    url = storage.presigned_url(RESULTS_BUCKET, f"{BOOK}/2.abc.display.png", expires=600)
    assert url.startswith(f"https://{RESULTS_BUCKET}.s3.eu-west-1.amazonaws.com/{ENCODED}/2.abc.display.png?"), url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "%2Feu-west-1%2Fs3%2Faws4_request" in url
    assert "X-Amz-Expires=600" in url and "X-Amz-Signature=" in url
    storage.s3_client.cache_clear()
