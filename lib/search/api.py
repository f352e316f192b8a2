"""The search API (issue #12): a request (method, path, query string, base URL) in; status, headers, JSON out.

Routes (``ROUTE_KEYS``, as serverless.yml declares them):

- ``GET /search?q=&book=&cursor=``: the library, or one book, ranked; IIIF Content Search 2.0.
- ``GET /iiif/{book}/search/2?q=&cursor=``: one book in page order, 2.0; ``/search/1``: the same in 1.0.
- ``GET /iiif/{book}/autocomplete/1?q=`` and ``/autocomplete/2``: completions of a prefix in one book.
- ``GET /iiif/{book}/manifest``: the book's IIIF Presentation 3 manifest (lib.search.manifest).
- ``GET /books``: the books and their page counts; ``GET /autocomplete?q=``: completions across the library (2.0).
- ``GET /viewer/``, ``/mirador/``, ``/vendor/mirador.min.js``: the web pages (lib.web), which hold no data.

``q`` and ``motivation`` are implemented (``min`` for autocomplete, ``book``
and ``cursor`` where listed); every other parameter is ignored and named in
``ignored``. What the user sends is checked here before anything reaches
OpenSearch: a missing, empty, over-long or control-character ``q``, a bad
``cursor``, ``book`` or ``min`` are a 400 with ``{"error": ...}``; a book
with no indexed page is a 404 on the ``/iiif/{book}`` routes (checked only
when its search finds nothing); an OpenSearch that fails is a 503. Every
answer carries ``Access-Control-Allow-Origin: *``: viewers run on other sites.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from opensearchpy.exceptions import OpenSearchException, RequestError

from lib import opensearch, web
from lib.observability import logger
from lib.search import iiif1, iiif2, library, paging
from lib.search.autocomplete import complete, prefix_words
from lib.search.identifiers import Identifiers
from lib.search.query import SearchResult, book_exists, count_hits, search
from lib.search.syntax import MAX_QUERY_CHARS, QueryError, parse_query
from lib.settings import Settings

ROUTE_KEYS = (
    "GET /search",
    "GET /books",
    "GET /autocomplete",
    "GET /iiif/{book}/manifest",
    "GET /iiif/{book}/search/1",
    "GET /iiif/{book}/search/2",
    "GET /iiif/{book}/autocomplete/1",
    "GET /iiif/{book}/autocomplete/2",
)
# The web pages (lib.web): no data, so never behind the authorizer the data routes have.
PAGE_ROUTE_KEYS = (
    "GET /viewer",
    "GET /viewer/{file}",
    "GET /mirador",
    "GET /mirador/{file}",
    "GET /vendor/{file}",
)
# Matched pages per response: a ranked list across books is read a screen at a time; a viewer searching
# one book wants all of its hits in few round trips.
LIBRARY_PAGES = 10
BOOK_PAGES = 25
# S3 keys are at most 1,024 bytes, so no book name is longer.
MAX_BOOK_CHARS = 1024
MAX_PARAMETERS = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BOOK_ROUTE = re.compile(
    r"/iiif/(?P<book>.+)/(?:(?P<kind>search|autocomplete)/(?P<version>[12])|(?P<manifest>manifest))"
)
# The parameters each kind of route implements; any other is ignored and named in `ignored`.
LIBRARY_PARAMETERS = ("q", "book", "motivation", "cursor")
BOOK_PARAMETERS = ("q", "motivation", "cursor")
AUTOCOMPLETE_PARAMETERS = ("q", "motivation", "min")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent: percent-encoded, without a stage prefix
    query: str  # the raw query string
    base_url: str  # scheme, host and any stage path: what ids and links start with
    accept: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a web page or script (lib.web) instead of JSON


@dataclass(frozen=True)
class Site:
    """What the routes beyond search need of the deployment: its buckets (images), its auth (the viewer)."""

    pages_bucket: str = ""
    results_bucket: str = ""
    auth: str = "public"
    region: str = ""


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Route:
    kind: str  # "search" or "autocomplete"
    version: int
    book: str | None  # the book of an /iiif/{book} route


def route_of(path: str) -> Route:
    """The route a (percent-encoded) path names; HttpError 404 for none, 400 for a book that is not a name."""
    if path in ("/search", "/autocomplete", "/books"):
        return Route(path.strip("/"), 2, None)
    found = _BOOK_ROUTE.fullmatch(path)
    if not found:
        raise HttpError(404, f"no such route: {path[:200]}")
    try:
        book = unquote(found["book"], errors="strict")
    except UnicodeDecodeError as exc:
        raise HttpError(400, "the book in the path is not UTF-8") from exc
    kind, version = ("manifest", 3) if found["manifest"] else (found["kind"], int(found["version"]))
    return Route(kind, version, _book_name(book, "the book in the path"))


def _book_name(value: str, what: str) -> str:
    if not value or len(value) > MAX_BOOK_CHARS or _CONTROL.search(value):
        raise HttpError(400, f"{what} must be 1 to {MAX_BOOK_CHARS} characters without control characters")
    return value


def parameters(query: str) -> dict[str, str]:
    """The query string's parameters (the first of each name), in order; HttpError 400 when it does not parse."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS)
    except UnicodeDecodeError as exc:
        raise HttpError(400, "the query string is not UTF-8") from exc
    except ValueError as exc:
        raise HttpError(400, f"too many query parameters: at most {MAX_PARAMETERS}") from exc
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name, value)
    return found


def _text(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or not value.strip():
        raise HttpError(400, f"the {name} parameter is required and may not be empty")
    if len(value) > MAX_QUERY_CHARS:
        raise HttpError(400, f"{name} is longer than {MAX_QUERY_CHARS} characters")
    if _CONTROL.search(value):
        raise HttpError(400, f"{name} holds control characters")
    return value


def _min(params: dict[str, str]) -> int:
    value = params.get("min") or "1"
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise HttpError(400, "min must be a whole number from 1")
    return int(value)


def _motivated(params: dict[str, str], ours: frozenset[str]) -> bool:
    """Whether our annotations match the ``motivation`` parameter (any of its space-separated terms)."""
    wanted = (params.get("motivation") or "").split()
    return not wanted or any(term in ours for term in wanted)


def _canonical(params: dict[str, str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The parameters links repeat: the implemented ones the request gave, minus the cursor."""
    return [(name, params[name]) for name in names if name != "cursor" and params.get(name)]


def _search(route: Route, params: dict[str, str], ids: Identifiers, client: Any, index: str) -> dict[str, Any]:
    q = _text(params, "q")
    parsed = parse_query(q)
    library = route.book is None
    book = route.book if not library else (_book_name(params["book"], "book") if params.get("book") else None)
    shapes = iiif2 if route.version == 2 else iiif1
    motivated = _motivated(params, shapes.MOTIVATIONS)
    per_page = LIBRARY_PAGES if library else BOOK_PAGES
    cap = paging.LIBRARY_COUNT_PAGES if library else paging.BOOK_COUNT_PAGES
    names = LIBRARY_PARAMETERS if library else BOOK_PARAMETERS
    canonical = _canonical(params, names)
    key = paging.cursor_key(route.kind, route.version, library, book, canonical, per_page)
    cursor = paging.decode(params["cursor"], key, per_page, cap) if params.get("cursor") else None
    offset = cursor.offset if cursor else 0
    if motivated:
        result = search(client, index, parsed, book=book, limit=per_page, offset=offset, in_page_order=not library)
    else:
        result = SearchResult(q, 0, offset)
    hits_here = sum(len(page.hits) for page in result.pages)
    if cursor:
        counts = cursor.counts
    else:
        pages = paging.to_count(result.total, per_page, cap)
        later = count_hits(client, index, parsed, book=book, offset=per_page, pages=pages, in_page_order=not library)
        counts = paging.counts_from(result.total, hits_here, later, per_page)
        if not library and result.total == 0 and not book_exists(client, index, book):
            raise HttpError(404, f"no indexed page in book {book!r}")
    path = ids.search_path(route.book, route.version)

    def link(cursor_text: str | None) -> str:
        return ids.url(path, canonical + ([("cursor", cursor_text)] if cursor_text else []))

    start = cursor.start if cursor else None
    window = paging.window(counts, offset, start, hits_here, per_page=per_page, key=key, link=link)
    ignored = [name for name in params if name not in names]
    if route.version == 1:
        return iiif1.annotation_list(result.pages, window, ids, ignored=ignored)
    return iiif2.annotation_page(result.pages, window, ids, ignored=ignored, manifests=library)


def _autocomplete(route: Route, params: dict[str, str], ids: Identifiers, client: Any, index: str) -> dict[str, Any]:
    book = route.book or ""
    q = _text(params, "q")
    prefix_words(q)
    min_count = _min(params)
    shapes = iiif2 if route.version == 2 else iiif1
    motivated = _motivated(params, shapes.MOTIVATIONS)
    terms = complete(client, index, q, book=book, min_count=min_count) if motivated else []
    if not terms and not book_exists(client, index, book):
        raise HttpError(404, f"no indexed page in book {book!r}")
    names = AUTOCOMPLETE_PARAMETERS
    url = ids.url(ids.autocomplete_path(book, route.version), _canonical(params, names))
    search_path = ids.search_path(book, route.version)
    motivation = _canonical(params, ("motivation",))

    def search_url(query: str) -> str:
        return ids.url(search_path, [("q", query), *motivation])

    ignored = [name for name in params if name not in names]
    if route.version == 1:
        return iiif1.term_list(terms, url, search_url=search_url, ignored=ignored)
    return iiif2.term_page(terms, url, search_url=search_url, ignored=ignored)


def _json_type(accept: str, version: int) -> str:
    # IIIF: JSON-LD only to a client that asks for it, plain JSON otherwise.
    if "application/ld+json" in accept:
        return f'application/ld+json;profile="http://iiif.io/api/search/{version}/context.json"'
    return "application/json"


def _answer(status: int, body: dict[str, Any], content_type: str, extra: dict[str, str] | None = None) -> Response:
    return Response(status, body, {"Content-Type": content_type, "Access-Control-Allow-Origin": "*", **(extra or {})})


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _answer(status, {"error": message}, "application/json", headers)


def _page(request: Request, site: Site) -> Response | None:
    """A web page or script, or None when the path names none (lib.web)."""
    if request.path in ("/viewer", "/mirador"):
        return Response(301, {}, {"Location": f"{request.base_url.rstrip('/')}{request.path}/"}, raw=b"")
    if request.path == "/viewer/config.json":
        return _answer(200, {"auth": site.auth, "region": site.region}, "application/json")
    found = web.site_file(request.path)
    if found is None:
        return None
    headers = {"Content-Type": web.content_type(found), "Cache-Control": "public, max-age=300"}
    return Response(200, {}, headers, raw=web.read(found))


def respond(request: Request, client: Any, index: str, site: Site | None = None) -> Response:
    """Answer one request with ``client`` over ``index`` (the alias); never raises for what a user sends."""
    site = site or Site()
    try:
        if request.method != "GET":
            raise HttpError(405, "only GET is supported", {"Allow": "GET"})
        page = _page(request, site)
        if page is not None:
            return page
        route = route_of(request.path)
        params = parameters(request.query)
        ids = Identifiers(request.base_url.rstrip("/"))
        if route.kind == "books":
            return _answer(200, library.books(client, index), "application/json")
        if route.kind == "manifest":
            body = library.book_manifest(ids, route.book or "", client, index, site.pages_bucket, site.results_bucket)
            return _answer(200, body, 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"')
        if route.kind == "autocomplete" and route.book is None:
            body = library.autocomplete(_text(params, "q"), _min(params), ids, client, index)
            return _answer(200, body, "application/json")
        run = _search if route.kind == "search" else _autocomplete
        body = run(route, params, ids, client, index)
        return _answer(200, body, _json_type(request.accept, route.version))
    except HttpError as exc:
        return error(exc.status, exc.message, exc.headers)
    except library.NoSuchBook as exc:
        return error(404, str(exc))
    except (QueryError, paging.CursorError) as exc:
        return error(400, str(exc))
    except RequestError as exc:
        # OpenSearch refused the query itself (such as too many clauses from fuzzy expansion).
        logger.warning("OpenSearch refused a query", extra={"status": exc.status_code, "error": str(exc.error)})
        return error(400, "the search engine refused this query: try fewer or simpler words")
    except OpenSearchException as exc:
        logger.warning("OpenSearch unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
        return error(503, "search is unavailable, try again shortly", {"Retry-After": "5"})


def handle(request: Request, settings: Settings) -> Response:
    """``respond`` with the OpenSearch of ``settings``: one client per container, one retry (a person waits)."""
    client = opensearch.client(settings.opensearch_url, timeout=settings.opensearch_timeout, max_retries=1)
    site = Site(settings.pages_bucket, settings.results_bucket, settings.search_auth, os.environ.get("AWS_REGION", ""))
    return respond(request, client, settings.opensearch_index, site)
