"""Paging of search answers (pure): which matched pages a response holds, the total, the links, the cursor.

The unit of paging is the matched page: a response holds ``per_page`` of them
with every hit on each, so a hit is never split across responses. IIIF counts
annotations (hits), not pages: ``total`` and ``startIndex`` are hits. The first
request of a search learns them with one extra request that counts the hits of
every matched page up to a cap (``BOOK_COUNT_PAGES``, ``LIBRARY_COUNT_PAGES``;
lib.search.query.count_hits), and
every cursor of that search carries what it learnt, so later responses cost one
request each and all agree. Past the counted pages ``total`` is a lower bound
(each further page holds at least one hit) and ``exact`` is false; their
``startIndex`` is known only when they are reached through ``next`` links,
which carry it along.

A cursor is URL-safe base64 (no padding) of a small JSON object bound to its
search by a key (a hash of the route, book, query and filters): it is checked
field by field, and one that does not decode, does not belong to the query or
points outside the results is a ``CursorError`` (HTTP 400). It is not signed:
a forged one can only make its own answer's totals wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.search.query import MAX_LIMIT, MAX_OFFSET

# Matched pages whose hits the first request counts (per search, once). A book is counted deep, so a
# viewer's total is exact for a word on every page of a 500-page book; across the library a frequent
# word passes any cap, and ranked results are read from the top, so fewer pages keep that request cheap.
BOOK_COUNT_PAGES = 500
LIBRARY_COUNT_PAGES = 100
# Matched pages reachable by paging: from + size must stay inside OpenSearch's result window.
REACHABLE_PAGES = MAX_OFFSET - MAX_LIMIT
MAX_CURSOR_CHARS = 2048
_VERSION = 1


class CursorError(ValueError):
    """A cursor that does not decode, belongs to another search, or points outside its results."""


@dataclass(frozen=True)
class Counts:
    """What the first request of a search learnt: pages matched, hits at the end of each counted response."""

    matched: int
    ends: list[int]  # cumulative hits at the end of response 0, 1, ... (the counted ones)
    total: int
    exact: bool


@dataclass(frozen=True)
class Cursor:
    offset: int  # matched pages before this response
    counts: Counts
    start: int | None = None  # startIndex carried along ``next`` links past the counted pages


@dataclass(frozen=True)
class Window:
    """One response's place in its search: what it holds and where its neighbours are (URLs)."""

    page: str
    collection: str
    first: str
    last: str
    next: str | None
    prev: str | None
    start_index: int | None
    total: int
    exact: bool
    matched: int


def counted_pages(per_page: int, cap: int) -> int:
    """How many matched pages are counted: whole responses only."""
    return max(per_page, cap // per_page * per_page)


def to_count(matched: int, per_page: int, cap: int) -> int:
    """Pages after the first response whose hits the first request must count."""
    return max(0, min(matched, counted_pages(per_page, cap)) - per_page)


def counts_from(matched: int, first_hits: int, later: list[int], per_page: int) -> Counts:
    """The counts of a search from its first response's hits and the hits of each later counted page."""
    ends = [first_hits]
    for index in range(0, len(later), per_page):
        ends.append(ends[-1] + sum(later[index : index + per_page]))
    counted = min(matched, per_page + len(later))
    exact = counted >= matched
    total = ends[-1] if exact else ends[-1] + (matched - counted)
    return Counts(matched=matched, ends=ends, total=total, exact=exact)


def start_index(counts: Counts, offset: int, per_page: int, carried: int | None = None) -> int | None:
    response = offset // per_page
    if response == 0:
        return 0
    if response <= len(counts.ends):
        return counts.ends[response - 1]
    return carried


def cursor_key(*parts: Any) -> str:
    """The key that binds a cursor to one search (route, book, query, filters, page size)."""
    return hashlib.blake2b(json.dumps(parts, ensure_ascii=False).encode(), digest_size=6).hexdigest()


def encode(key: str, cursor: Cursor) -> str:
    counts = cursor.counts
    data: dict[str, Any] = {
        "v": _VERSION,
        "k": key,
        "o": cursor.offset,
        "n": counts.matched,
        "t": counts.total,
        "x": counts.exact,
        "e": counts.ends,
    }
    if cursor.start is not None:
        data["i"] = cursor.start
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _count(value: Any, name: str) -> int:
    # bool is an int in Python: refuse it explicitly.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CursorError(f"cursor field {name!r} is not a count")
    return value


def decode(text: str, key: str, per_page: int, cap: int) -> Cursor:
    """The cursor in ``text``, checked against its search's key, page size and cap; CursorError otherwise."""
    if not text or len(text) > MAX_CURSOR_CHARS:
        raise CursorError("cursor is empty or too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise CursorError("cursor does not decode") from exc
    if not isinstance(data, dict) or set(data) - {"v", "k", "o", "n", "t", "x", "e", "i"}:
        raise CursorError("cursor does not decode")
    if data.get("v") != _VERSION or data.get("k") != key:
        raise CursorError("cursor belongs to another search (or another version of this API)")
    offset, matched, total = (_count(data.get(name), name) for name in ("o", "n", "t"))
    ends = data.get("e")
    if not isinstance(ends, list) or not 1 <= len(ends) <= counted_pages(per_page, cap) // per_page + 1:
        raise CursorError("cursor field 'e' is not a list of counts")
    checked = [_count(end, "e") for end in ends]
    if any(b < a for a, b in itertools.pairwise(checked)) or total < checked[-1]:
        raise CursorError("cursor counts do not add up")
    if not isinstance(data.get("x"), bool):
        raise CursorError("cursor field 'x' is not a flag")
    if offset % per_page or offset >= max(per_page, min(matched, REACHABLE_PAGES)):
        raise CursorError("cursor points outside the results")
    start = _count(data["i"], "i") if "i" in data else None
    return Cursor(offset, Counts(matched, checked, total, data["x"]), start)


def window(
    counts: Counts,
    offset: int,
    start: int | None,
    hits_here: int,
    *,
    per_page: int,
    key: str,
    link: Callable[[str | None], str],
) -> Window:
    """The links of the response at ``offset`` holding ``hits_here`` hits; ``link(cursor)`` makes a URL."""
    here = start_index(counts, offset, per_page, start)
    reachable = min(counts.matched, REACHABLE_PAGES)
    last = max(0, (reachable - 1) // per_page * per_page)

    def at(position: int, carried: int | None = None) -> str:
        # A start index computable from the counts is not carried: each page keeps one URL.
        computable = start_index(counts, position, per_page) is not None
        return link(encode(key, Cursor(position, counts, None if computable else carried)))

    following = offset + per_page
    return Window(
        page=at(offset, here),
        collection=link(None),
        first=at(0),
        last=at(last),
        next=at(following, here + hits_here if here is not None else None) if following < reachable else None,
        prev=at(offset - per_page) if offset > 0 else None,
        start_index=here,
        total=counts.total,
        exact=counts.exact,
        matched=counts.matched,
    )
