"""A stand-in for one Lambda container: a process that imports a handler once and invokes it on request.

Started by the benchmark parts as ``python -m bench.worker`` (warm: JSON requests
on standard input, one JSON answer per line) or ``python -m bench.worker --cold
TARGET EVENTS.json`` (one fresh process per page, as a cold Lambda invocation;
TARGET is a handler's module, ``handlers.ocr``, or a baseline function,
``bench.bare_functions:ocr``). The parent uploads pages and reads results
itself, so nothing in this process but the handler touches boto3: its memory
and first-call costs are the handler's.
The handlers' logs go to standard error; the answers use a private copy of
standard output.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any, TextIO

# Before anything can print: answers go to a private copy of stdout, and the
# handlers' logs (Powertools writes to stdout) go where stderr goes.
_ANSWERS: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def _rss() -> dict[str, float]:
    """This process's peak (VmHWM: rusage's ru_maxrss would include the parent's memory at fork), in MB."""
    with open("/proc/self/status") as status:
        hwm = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    return {
        "self_mb": int(hwm) / 1024,
        "rusage_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _handler(function: str) -> Any:
    """The function's handler, as pagesearch.lambda_local knows it.

    Imported on first use, not at the top: a cold worker times the handler's
    import first, and the modules lambda_local loads (datetime, uuid, urllib)
    would otherwise be loaded already and hide part of that cost.
    """
    from pagesearch.lambda_local import handler_of

    return handler_of(function)


def invoke(function: str, event: dict[str, Any], profile: bool = False) -> dict[str, Any]:
    """One invocation of our function (``ocr``, ``indexer``) and how long the handler took."""
    return _call(function, _handler(function), event, profile)


def _call(function: str, handler: Any, event: dict[str, Any], profile: bool = False) -> dict[str, Any]:
    from pagesearch.lambda_local import LambdaContext

    # 1,769 MB: the size the benchmark recommends and emulates (one vCPU); Powertools logs it.
    context = LambdaContext(
        f"pagesearch-bench-{function}", memory_limit_in_mb=1769, aws_request_id=f"bench-{time.time_ns()}"
    )
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    result = handler(event, context)
    elapsed = time.perf_counter() - started
    answer: dict[str, Any] = {"s": elapsed, "result": result}
    if profiler is not None:
        profiler.disable()
        answer["profile"] = _profile_rows(profiler)
    return answer


def _stamp() -> dict[str, float]:
    """Now, and the CPU time spent so far by this process and by its finished children (Tesseract).

    perf_counter is CLOCK_MONOTONIC on Linux, the parent's clock too: the parent
    subtracts its own time at spawn and gets the process's life up to here,
    without the interpreter's exit, which no Lambda invocation waits for.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "t": time.perf_counter(),
        "cpu_s": time.process_time(),
        "children_cpu_s": children.ru_utime + children.ru_stime,
    }


def _profile_rows(profiler: Any, limit: int = 25) -> list[dict[str, Any]]:
    """The functions with the most own time (cProfile), so the overhead's makers are named."""
    import pstats

    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{os.path.relpath(filename) if filename.startswith('/') else filename}:{line}({name})",
                "calls": calls,
                "own_ms": round(tottime * 1000, 2),
                "cumulative_ms": round(cumtime * 1000, 2),
            }
        )
    rows.sort(key=lambda r: r["own_ms"], reverse=True)
    return rows[:limit]


def _index_docs(doc_path: str, book: str, page: str) -> tuple[dict[str, Any], Any]:
    from lib.versions import SourceVersion
    from pagesearch.lambda_local import fresh_sequencer

    document = json.loads(open(doc_path, encoding="utf-8").read())  # noqa: SIM115 - read at once
    document.update(book=book, page=page)
    version = SourceVersion(
        key=f"{book}/{page}.json",
        event_time="2026-01-01T00:00:00.000Z",
        sequencer=fresh_sequencer(),
        etag="bench",
    )
    return document, version


def index_lib(url: str, index: str, doc_path: str, book: str, page: str) -> dict[str, Any]:
    """Our library path without S3, as lib.index.flow runs it: the page's indexed version (to order
    deliveries), its one document, one bulk request."""
    from lib.index.documents import index_action, page_document, page_id
    from lib.index.store import ensure_index, get_page_record, run_bulk
    from lib.opensearch import client as opensearch_client
    from lib.versions import SourceVersion

    client = opensearch_client(url)
    ensure_index(client, index)
    document, version = _index_docs(doc_path, book, page)
    started = time.perf_counter()
    current = SourceVersion.from_index(get_page_record(client, index, page_id(book, page)))
    if current is not None and version.older_than(current):
        raise RuntimeError(f"{book}/{page}: an older version than the one indexed; the benchmark reuses a name")
    doc = page_document(document, version, "2026-01-01T00:00:00.000Z")
    run_bulk(client, index, [index_action(doc)])
    elapsed = time.perf_counter() - started
    return {"s": elapsed, "docs": 1, "words": doc.body["stats"]["words"]}


def index_bare(url: str, index: str, doc_path: str, book: str, page: str) -> dict[str, Any]:
    """The baseline: the same document, built before the clock starts, sent by a bare helpers.bulk."""
    from opensearchpy import helpers

    from lib.index.documents import page_document
    from lib.index.store import ensure_index
    from lib.opensearch import client as opensearch_client

    client = opensearch_client(url)
    ensure_index(client, index)
    document, version = _index_docs(doc_path, book, page)
    doc = page_document(document, version, "2026-01-01T00:00:00.000Z")
    # Like run_bulk, the index goes in the path (POST /INDEX/_bulk), not in each action.
    actions = [{"_id": doc.pid, "_source": doc.body}]
    started = time.perf_counter()
    helpers.bulk(client, actions, index=index)
    elapsed = time.perf_counter() - started
    return {"s": elapsed, "docs": 1, "words": doc.body["stats"]["words"]}


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            if op == "invoke":
                answer = invoke(**request)
            elif op == "index_lib":
                answer = index_lib(**request)
            elif op == "index_bare":
                answer = index_bare(**request)
            elif op == "rusage":
                answer = _rss()
            else:
                answer = {"error": f"unknown op {op!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        _ANSWERS.write(json.dumps(answer) + "\n")


def cold(target: str, events_path: str) -> None:
    """One container's life: import ``target``, then call it on each event in turn, stamping each step's end."""
    events = json.loads(open(events_path, encoding="utf-8").read())  # noqa: SIM115 - read at once
    module, _, attribute = target.partition(":")
    started = time.perf_counter()
    __import__(module)  # the import is what is timed: nothing of the harness is loaded before it
    imported = _stamp()
    handler = getattr(sys.modules[module], attribute or "handler")
    answer: dict[str, Any] = {"import_s": imported["t"] - started, "imported": imported, "invocations": []}
    for event in events:
        result = _call(attribute or module.rsplit(".", 1)[-1], handler, event)
        answer["invocations"].append({"s": result["s"], "result": result["result"], "done": _stamp(), **_rss()})
    _ANSWERS.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--cold":
        cold(sys.argv[2], sys.argv[3])
    else:
        serve()
