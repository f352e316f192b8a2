"""Which version of a source object a result holds: the one home of that knowledge.

A :class:`SourceVersion` names one version of an object (its key, S3 event
time, sequencer and ETag). It orders deliveries, which S3 and SNS make at
least once and in any order, and it travels with what was made from the
object: in the page JSON's S3 user metadata (so the OCR function can skip a
duplicate or stale event before any OCR) and in the index's page record (so
the indexer can). Converting to and from both lives here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

# S3 user metadata names on a page JSON: the version of the image it was made from.
META_KEY = "source-key"
META_EVENT_TIME = "source-event-time"
META_SEQUENCER = "source-sequencer"
META_ETAG = "source-etag"
# S3 allows 2 kB of user metadata; a key longer than this once percent-encoded
# is stored as its digest.
MAX_STORED_KEY_CHARS = 1024


def stored_key(key: str) -> str:
    """A source key as a version records it: itself, or its digest when too long for S3 metadata.

    A long non-ASCII key percent-encodes to three times its length.
    """
    if len(quote(key, safe="")) <= MAX_STORED_KEY_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def sequencer_value(sequencer: str | None) -> int | None:
    """S3 sequencers are hex strings of varying length: compare them as numbers."""
    if not sequencer:
        return None
    try:
        return int(sequencer, 16)
    except ValueError:
        return None


@dataclass(frozen=True)
class SourceVersion:
    """One version of a source object, as far as ordering deliveries needs to know it."""

    key: str  # as stored_key() gives it
    event_time: str
    sequencer: str | None = None
    etag: str | None = None

    @classmethod
    def of(cls, key: str, event_time: str, sequencer: str | None = None, etag: str | None = None) -> SourceVersion:
        """The version of ``key`` (decoded, as the event names it)."""
        return cls(key=stored_key(key), event_time=event_time, sequencer=sequencer, etag=etag)

    def with_etag(self, etag: str | None) -> SourceVersion:
        """The same delivery, naming the content actually read (GetObject may return a newer one)."""
        return SourceVersion(self.key, self.event_time, self.sequencer, etag)

    def names(self, key: str) -> bool:
        """True when this is a version of ``key``."""
        return self.key == stored_key(key)

    def same_content(self, other: SourceVersion) -> bool:
        return self.key == other.key and bool(self.etag) and self.etag == other.etag

    def older_than(self, other: SourceVersion) -> bool:
        """True when ``other`` certainly happened after this one.

        S3 orders events of one key by ``sequencer``; events of different keys
        (``0042.jpg`` then ``0042.png``) only by time. A local S3 may repeat one
        sequencer for every event, hence the fall back to time on a tie.
        """
        mine, theirs = sequencer_value(self.sequencer), sequencer_value(other.sequencer)
        if self.key == other.key and mine is not None and theirs is not None and mine != theirs:
            return mine < theirs
        return self.event_time < other.event_time

    @property
    def index_version(self) -> int | None:
        """The external version of the index documents made from it: the event time in milliseconds.

        OpenSearch then refuses (409) any write older than what a document
        holds, so an older version's bulk that lands late, from a concurrent
        invocation or a timed-out request applied after all, cannot overwrite
        a newer page.
        """
        return event_time_millis(self.event_time)

    # --- S3 user metadata (strings; storage percent-encodes them)

    def to_metadata(self) -> dict[str, str | None]:
        return {
            META_KEY: self.key,
            META_EVENT_TIME: self.event_time,
            META_SEQUENCER: self.sequencer,
            META_ETAG: self.etag,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> SourceVersion | None:
        if META_KEY not in metadata:
            return None
        return cls(
            key=metadata[META_KEY],
            event_time=metadata.get(META_EVENT_TIME, ""),
            sequencer=metadata.get(META_SEQUENCER),
            etag=metadata.get(META_ETAG),
        )

    # --- the index's page record (its ``source`` object)

    def to_index(self, **extra: Any) -> dict[str, Any]:
        return {"key": self.key, "sequencer": self.sequencer, "event_time": self.event_time, "etag": self.etag, **extra}

    @classmethod
    def from_index(cls, record: Mapping[str, Any] | None) -> SourceVersion | None:
        """The version a page record says is indexed (None when there is no record)."""
        if not record:
            return None
        source = record.get("source") or {}
        return cls(
            key=source.get("key", ""),
            event_time=source.get("event_time", ""),
            sequencer=source.get("sequencer"),
            etag=source.get("etag"),
        )


def event_time_millis(event_time: str | None) -> int | None:
    """An S3 event time (ISO 8601, ``Z``) in milliseconds since the epoch; None when absent or unreadable."""
    if not event_time:
        return None
    try:
        moment = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)
