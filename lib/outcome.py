"""What happened to each record of an event, and running every record of it.

Both functions are the same loop: parse the event into records, process each
one (one record's error never stops the others), return the outcomes as the
invocation's summary, and raise at the end if any record hit an error a retry
may cure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from lib.events import BadMessage, ObjectEvent, parse_event
from lib.keys import PageRef
from lib.observability import logger

T = TypeVar("T")


class Status(StrEnum):
    """Every way a record can end (a StrEnum, so summaries serialise as plain strings)."""

    OCR = "ocr"  # the page JSON was written
    INDEXED = "indexed"  # the page is in the index
    SKIPPED = "skipped"  # nothing to do: duplicate, stale, gone, not ours
    FAILED = "failed"  # can never succeed: a failure record says why
    DELETED = "deleted"  # the page's output was removed
    SPLIT = "split"  # a book file's pages were written (lib.split), perhaps continuing in another invocation


@dataclass(frozen=True)
class Outcome:
    """What happened to one record; the handler returns these as its summary."""

    key: str
    status: Status
    book: str | None = None
    page: str | None = None
    detail: str | None = None
    words: int | None = None
    lines: int | None = None
    ms: int | None = None

    @classmethod
    def skipped(cls, key: str, detail: str, ref: PageRef | None = None) -> Outcome:
        return cls(key, Status.SKIPPED, *_names(ref), detail=detail)

    @classmethod
    def failed(cls, key: str, detail: str, ref: PageRef | None = None) -> Outcome:
        return cls(key, Status.FAILED, *_names(ref), detail=detail)

    @classmethod
    def deleted(cls, key: str, ref: PageRef) -> Outcome:
        return cls(key, Status.DELETED, *_names(ref))

    @classmethod
    def done(cls, key: str, status: Status, ref: PageRef, stats: dict[str, Any], started: float) -> Outcome:
        """A page made (OCR'd, indexed): its counts and the milliseconds since ``started`` (perf_counter)."""
        ms = round((time.perf_counter() - started) * 1000)
        return cls(key, status, *_names(ref), words=stats["words"], lines=stats["lines"], ms=ms)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def foreign_bucket(item: ObjectEvent, own_bucket: str) -> Outcome:
    """A record about a bucket that is not the function's own: never acted on (it could remove real pages)."""
    logger.warning(
        "record for another bucket ignored", extra={"key": item.key, "bucket": item.bucket, "expected": own_bucket}
    )
    return Outcome.skipped(item.key, f"bucket {item.bucket!r} is not this function's bucket {own_bucket!r}")


def _names(ref: PageRef | None) -> tuple[str | None, str | None]:
    return (ref.book, ref.page) if ref else (None, None)


class RetryableFailure(RuntimeError):
    """Some records hit errors a retry may cure; raised after every record was tried."""


Record = ObjectEvent | BadMessage


def process_all(items: Iterable[T], process: Callable[[T], Outcome]) -> list[dict[str, Any]]:
    """Run ``process`` on every item; one item's error never stops the others.

    Errors that escape ``process`` are the retryable kind (S3, network,
    OpenSearch): they are logged with the item and raised together at the end,
    so Lambda retries the event and the items already done are skipped or
    rewritten idempotently.
    """
    outcomes: list[dict[str, Any]] = []
    errors: list[str] = []
    for item in items:
        try:
            outcomes.append(process(item).as_dict())
        except Exception as exc:
            key = getattr(item, "key", getattr(item, "ref", "?"))
            logger.exception("record failed, will be retried", extra={"key": key})
            errors.append(f"{key}: {type(exc).__name__}: {exc}")
    if errors:
        raise RetryableFailure(f"{len(errors)} of {len(outcomes) + len(errors)} records failed: " + "; ".join(errors))
    return outcomes


def handle_event(event: Any, process: Callable[[Record], Outcome]) -> dict[str, Any]:
    """A whole invocation: every record of the Lambda event, and the summary the function returns."""
    outcomes = process_all(parse_event(event), process)
    return {"records": len(outcomes), "pages": outcomes}
