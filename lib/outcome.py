"""What happened to one record: the functions return a list of these as their summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What happened to one record; the handler returns these as its summary."""

    key: str
    status: str  # ocr | skipped | failed | deleted
    book: str | None = None
    page: str | None = None
    detail: str | None = None
    words: int | None = None
    lines: int | None = None
    ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class RetryableFailure(RuntimeError):
    """Some records hit errors a retry may cure; raised after every record was tried."""


def process_all(items: Iterable[T], process: Callable[[T], Outcome]) -> list[dict[str, Any]]:
    """Run ``process`` on every item; one item's error never stops the others.

    Errors that escape ``process`` are the retryable kind (S3, network,
    OpenSearch): they are logged with the item and raised together at the end,
    so Lambda retries the event and the items already done are skipped or
    rewritten idempotently.
    """
    from lib.observability import logger

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
