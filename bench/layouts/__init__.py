"""The index layouts the benchmark compares, each as: create its index, a page's bulk actions, run a user query.

- ``lines``: the previous layout (v1), one document per line with ``text_pair``
  (bench.layouts.lines, a copy of the code it replaced), the baseline;
- ``pages``: the shipped layout, one document per page (lib.index, lib.search);
- ``hybrid``: page documents to match plus line documents for the words'
  positions, two requests a query (bench.layouts.hybrid).

Each answers a query the way its own code would show it to a user: its
``total`` (pages, or line documents for ``lines``), the pages of the hits
returned, and how many words came back with boxes (a hit without positions
is no answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.layouts import hybrid, lines

INDEXED_AT = "2026-01-01T00:00:00.000Z"


@dataclass
class Answer:
    total: int
    pages: list[tuple[str, str]] = field(default_factory=list)  # (book, page) of each hit returned, in order
    boxed_words: int = 0


@dataclass(frozen=True)
class Layout:
    name: str
    label: str
    create: Callable[[Any, str], None]
    actions: Callable[[dict[str, Any], Any], list[dict[str, Any]]]
    search: Callable[[Any, str, str, str | None], Answer]


def _pages_create(client: Any, index: str) -> None:
    from lib.index.store import create_index

    create_index(client, index)


def _pages_actions(document: dict[str, Any], version: Any) -> list[dict[str, Any]]:
    from lib.index.documents import index_action, page_document

    return [index_action(page_document(document, version, INDEXED_AT))]


def _pages_search(client: Any, index: str, text: str, book: str | None) -> Answer:
    from lib.search.query import search

    result = search(client, index, text, book=book, limit=10)
    return Answer(
        total=result.total,
        pages=[(p.book, p.page) for p in result.pages],
        boxed_words=sum(len(h.words) for p in result.pages for h in p.hits),
    )


def _lines_create(client: Any, index: str) -> None:
    client.indices.create(index=index, body={"settings": lines.INDEX_SETTINGS, "mappings": lines.INDEX_MAPPINGS})


def _lines_actions(document: dict[str, Any], version: Any) -> list[dict[str, Any]]:
    return list(lines.replace_actions(lines.index_documents(document, version, INDEXED_AT), None))


def _lines_search(client: Any, index: str, text: str, book: str | None) -> Answer:
    found = lines.search(client, index, text, book=book, limit=10)
    return Answer(
        total=found["total"],
        pages=[(h["book"], h["page"]) for h in found["hits"]],
        boxed_words=sum(len(h["words"]) for h in found["hits"]),
    )


LAYOUTS = {
    "lines": Layout("lines", "line documents (v1, previous)", _lines_create, _lines_actions, _lines_search),
    "pages": Layout("pages", "page documents (shipped)", _pages_create, _pages_actions, _pages_search),
    "hybrid": Layout(
        "hybrid",
        "page documents + line documents",
        hybrid.create,
        hybrid.actions,
        lambda *a: Answer(**hybrid.search(*a)),
    ),
}
