"""``pagesearch ingest``: check every file, upload them, then wait until each is searchable or failed.

Every argument is checked before anything is uploaded (a missing file, a
suffix the pipeline does not take, a book name that cannot hold pages): one
bad argument, and nothing is uploaded. Progress goes to standard error.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import storage
from lib.index.store import make_searchable
from lib.keys import InvalidKey, page_ref_from_key
from lib.opensearch import client as opensearch_client
from lib.progress import PageState, page_state


class IngestError(ValueError):
    """The arguments cannot be ingested as they are: every problem, one per line."""


@dataclass
class Ingest:
    book: str
    uploads: dict[str, Path]  # key -> file
    etags: dict[str, str] = field(default_factory=dict)
    states: dict[str, PageState] = field(default_factory=dict)


def plan(files: list[str], book: str) -> Ingest:
    """The keys the files will be uploaded under; IngestError naming every argument that cannot be."""
    problems: list[str] = []
    uploads: dict[str, Path] = {}
    if not book.strip():
        raise IngestError("--book is empty: pages are stored as BOOK/FILENAME")
    for name in files:
        path = Path(name)
        key = f"{book}/{path.name}"
        if not path.is_file():
            problems.append(f"{name}: no such file")
            continue
        try:
            page_ref_from_key(key)
        except InvalidKey as exc:
            problems.append(f"{name}: {exc}")
            continue
        if key in uploads:
            problems.append(f"{name}: the same page as {uploads[key]} ({key})")
            continue
        uploads[key] = path
    if problems:
        raise IngestError("nothing was uploaded:\n" + "\n".join(f"  {p}" for p in problems))
    if not uploads:
        raise IngestError("no files given")
    return Ingest(book=book, uploads=uploads)


def upload(job: Ingest, pages_bucket: str, *, quiet: bool) -> None:
    from tqdm import tqdm

    for key, path in tqdm(job.uploads.items(), desc="upload", unit="page", file=sys.stderr, disable=quiet):
        with path.open("rb") as body:
            job.etags[key] = storage.put_file(pages_bucket, key, body)


def wait(job: Ingest, config: dict[str, str], *, timeout: float, quiet: bool) -> None:
    """Poll each page until it is indexed or failed, or ``timeout`` seconds passed; then make it searchable."""
    from tqdm import tqdm

    client = opensearch_client(config["OPENSEARCH_URL"])
    deadline = time.monotonic() + timeout
    with tqdm(total=len(job.etags), desc="ocr+index", unit="page", file=sys.stderr, disable=quiet) as bar:
        while len(job.states) < len(job.etags) and time.monotonic() < deadline:
            for key, etag in job.etags.items():
                if key in job.states:
                    continue
                state = page_state(config["RESULTS_BUCKET"], client, config["OPENSEARCH_INDEX"], key, etag)
                if state:
                    job.states[key] = state
                    bar.update(1)
            if len(job.states) < len(job.etags):
                time.sleep(0.25)
    if PageState.INDEXED in job.states.values():
        # Indexed pages become searchable at the next refresh: do it now, so the
        # searches that follow an ingest see every page it reported.
        make_searchable(client, config["OPENSEARCH_INDEX"])


def summary(job: Ingest, started: float, waited: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"book": job.book, "uploaded": len(job.etags)}
    if waited:
        result.update(
            indexed=sum(s == PageState.INDEXED for s in job.states.values()),
            failed=sorted(k for k, s in job.states.items() if s == PageState.FAILED),
            pending=sorted(set(job.etags) - set(job.states)),
        )
    result["seconds"] = round(time.monotonic() - started, 2)
    return result
