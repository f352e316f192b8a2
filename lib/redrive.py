"""Re-drive failure records (``pagesearch retry``): make S3 announce the failed object again.

A failure record names the object that could not be processed. Re-driving it
copies the object onto itself with one more metadata entry
(``pagesearch-redrive``, the time): the bytes stay the same, and S3 emits a
fresh ``ObjectCreated:Copy`` event, which reaches the same function the
original upload reached (an image: SNS, then the OCR function; a page JSON:
the indexer) with a newer sequencer and time, so it is not mistaken for a
duplicate or a stale delivery. The record itself stays until that attempt
succeeds (the functions delete it then) or fails again (it is rewritten).

Failed events (``lib.failed_events``: what the on-failure queue or a local
dead-letter queue holds after an invocation's retries) are re-driven by
sending each event to its function again.

Not re-driven: records of malformed messages (``events/...``: no object to
re-announce; fix the sender and send again), records whose object is gone, and
OCR records superseded by a newer source of the same page (a re-scan
``0042.png`` that succeeded after ``0042.jpg`` failed: re-announcing the old
file would make it the page's newest source).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from lib import failed_events, storage
from lib.failures import list_failures
from lib.keys import InvalidKey, page_ref_from_key
from lib.versions import SourceVersion

# The metadata entry whose change makes S3 announce an object again: the time of the re-drive.
REDRIVE_METADATA = "pagesearch-redrive"


@dataclass(frozen=True)
class Redrive:
    """What ``retry`` did with one failure record."""

    record_key: str
    stage: str
    bucket: str
    key: str
    status: str  # redriven | would-redrive | not-redrivable | missing | superseded | error
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _superseded(record: dict[str, Any], results_bucket: str) -> str | None:
    """For an OCR record: the newer source that now holds the page, if another key does."""
    key = record["source"]["key"]
    try:
        ref = page_ref_from_key(key)
    except InvalidKey:
        return None
    current = storage.head(results_bucket, ref.result_key)
    holder = SourceVersion.from_metadata(current.metadata) if current else None
    if holder is None or holder.names(key):
        return None
    failed_at = (record.get("event") or {}).get("time") or record.get("time", "")
    return holder.key if holder.event_time > failed_at else None


def redrive_record(
    record: dict[str, Any], results_bucket: str, *, dry_run: bool = False, now: dt.datetime | None = None
) -> Redrive:
    """Re-drive one failure record (as ``lib.failures.list_failures`` returns it)."""
    source = record.get("source") or {}
    bucket, key, stage = source.get("bucket") or "", source.get("key") or "", record.get("stage", "")

    def result(status: str, detail: str) -> Redrive:
        return Redrive(record.get("record_key", ""), stage, bucket, key, status, detail)

    if not bucket or not key:
        return result(
            "not-redrivable",
            "a malformed message has no object to re-announce: fix its sender and send it again, "
            "then delete this record",
        )
    if stage == "ocr":
        holder = _superseded(record, results_bucket)
        if holder:
            return result("superseded", f"the page now comes from a newer source, {holder}")
    if dry_run:
        exists = storage.head(bucket, key) is not None
        return result("would-redrive" if exists else "missing", "" if exists else "the object no longer exists")
    try:
        moment = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
        storage.touch(bucket, key, {REDRIVE_METADATA: moment})
    except storage.ObjectMissing:
        return result("missing", "the object no longer exists: its removal event tidies up")
    except ClientError as exc:
        return result("error", f"{exc.response.get('Error', {}).get('Code', '')}: {exc}")
    return result("redriven", f"copied onto itself at {moment}: S3 announces it again")


def redrive_all(
    results_bucket: str,
    *,
    stage: str | None = None,
    prefix: str = "",
    dry_run: bool = False,
    records: Iterable[dict[str, Any]] | None = None,
) -> list[Redrive]:
    """Re-drive every failure record (of ``stage`` and whose source key starts with ``prefix``), oldest first."""
    chosen = list_failures(results_bucket) if records is None else list(records)
    now = dt.datetime.now(dt.UTC)
    return [
        redrive_record(record, results_bucket, dry_run=dry_run, now=now)
        for record in chosen
        if (stage is None or record.get("stage") == stage)
        and str((record.get("source") or {}).get("key", "")).startswith(prefix)
    ]


def redrive_failed_events(
    queues: Iterable[failed_events.FailedQueue], *, prefix: str = "", stage: str | None = None, dry_run: bool = False
) -> list[Redrive]:
    """Send every failed event (of ``stage``, naming a key that starts with ``prefix``) to its function again."""
    results = []
    for queue in queues:
        for failed in failed_events.take(queue):
            keys = [key for _, key, _ in failed.objects]
            ref = f"{queue.url}#{failed.message_id}"
            bucket = failed.objects[0][0] if failed.objects else ""
            shown = ", ".join(keys) or "(no object)"
            chosen = (not stage or failed.stage == stage) and (not prefix or any(k.startswith(prefix) for k in keys))
            if not chosen or dry_run:
                failed_events.release(failed)
                if chosen:
                    results.append(Redrive(ref, failed.stage, bucket, shown, "would-redrive", failed.error))
                continue
            try:
                done = failed_events.resend(failed)
            except (ValueError, ClientError) as exc:
                results.append(Redrive(ref, failed.stage, bucket, shown, "error", str(exc)))
                continue
            results.append(Redrive(ref, failed.stage, bucket, shown, "redriven", done))
    return results
