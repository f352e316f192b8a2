"""``pagesearch``: run the local stack, ingest page images, search them, inspect failures.

Every command honours AWS_ENDPOINT_URL, PAGES_BUCKET, RESULTS_BUCKET,
OPENSEARCH_URL, OPENSEARCH_INDEX and FAILED_EVENTS_QUEUE; what they leave
unset comes from the running local stack (``pagesearch up``). Errors are one
line on standard error and an exit code: 2 for what the user typed, 3 for a
service that failed (PAGESEARCH_DEBUG=1 shows the traceback). With ``--json`` only JSON goes to
standard output; progress and logs go to standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("PAGESEARCH_LOG_STDERR", "1")

from pagesearch import config as endpoints
from pagesearch import export
from pagesearch import stack as local


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_up(args: argparse.Namespace) -> int:
    stack = local.up(dispatcher=not args.no_dispatcher)
    if args.json:
        print(json.dumps(stack.env()))
    else:
        _err(
            "local stack up"
            + ("" if not args.no_dispatcher else " (no dispatcher: run functions with sls invoke local)")
        )
        for name, value in stack.env().items():
            print(f"export {name}={value}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _err("local stack stopped" if local.down() else "no local stack was running")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    for name, value in endpoints.load().items():
        print(f"export {name}={value}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pagesearch import ingest

    try:
        job = ingest.plan(args.files, args.book, args.lang)
    except ingest.IngestError as exc:
        _err(f"pagesearch ingest: {exc}")
        return 2
    config = endpoints.load()
    started = time.monotonic()
    ingest.upload(job, config["PAGES_BUCKET"], quiet=args.quiet)
    if not args.no_wait:
        ingest.wait(job, config, timeout=args.timeout, quiet=args.quiet)
    summary = ingest.summary(job, started, waited=not args.no_wait)
    if args.json:
        print(json.dumps(summary))
    else:
        _err(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 1 if summary.get("pending") or summary.get("failed") else 0


def _emphasis(match: str) -> str:
    """The matched text, bold on a terminal and in [brackets] in a pipe."""
    return f"\033[1m{match}\033[0m" if sys.stdout.isatty() else f"[{match}]"


def cmd_search(args: argparse.Namespace) -> int:
    from lib.opensearch import client as opensearch_client
    from lib.search.query import search
    from lib.search.syntax import QueryError

    config = endpoints.load()
    try:
        result = search(
            opensearch_client(config["OPENSEARCH_URL"]),
            config["OPENSEARCH_INDEX"],
            args.query,
            book=args.book,
            limit=args.limit,
            offset=(args.page - 1) * args.limit,
        )
    except QueryError as exc:
        _err(f"pagesearch: {exc}")
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
        return 0
    shown = f"{result.offset + 1}-{result.offset + len(result.pages)}" if result.pages else "none"
    print(f"{result.total} page(s) for {args.query!r} (showing {shown})")
    for page in result.pages:
        print(f"{page.book}  p.{page.page}  {len(page.hits)} hit(s)")
        for hit in page.hits[: args.hits]:
            boxes = " ".join(",".join(map(str, box)) for box in hit.boxes)
            print(f"    ...{hit.before}{_emphasis(hit.match)}{hit.after}...  @ {boxes}")
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    from lib.failed_events import peek
    from lib.failures import list_failures

    config = endpoints.load()
    rows = [{"kind": "failure-record", **r} for r in list_failures(config["RESULTS_BUCKET"])]
    for queue in endpoints.failed_event_queues(config):
        rows += [row for failed in peek(queue) for row in failed.rows()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['time']}  {row['stage']:5}  {row['kind']:14}  {row['source']['key']}  {row['reason']}")
        records = sum(r["kind"] == "failure-record" for r in rows)
        _err(f"{records} failure record(s), {len(rows) - records} failed event(s) waiting in the failed-event queues")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from lib.redrive import redrive_all, redrive_failed_events

    config = endpoints.load()
    results = redrive_all(config["RESULTS_BUCKET"], stage=args.stage, prefix=args.prefix, dry_run=args.dry_run)
    queues = endpoints.failed_event_queues(config)
    results += redrive_failed_events(queues, stage=args.stage, prefix=args.prefix, dry_run=args.dry_run)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False))
    else:
        for r in results:
            print(f"{r.status:14}  {r.stage:5}  {r.key}  {r.detail}")
        _err(f"{sum(r.status == 'redriven' for r in results)} of {len(results)} failure(s) re-driven")
    return 1 if any(r.status == "error" for r in results) else 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lib.index.reindex import reindex
    from lib.opensearch import client as opensearch_client

    config = endpoints.load()
    with tqdm(desc="reindex", unit="page", file=sys.stderr, disable=args.quiet) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = reindex(
            opensearch_client(config["OPENSEARCH_URL"], timeout=120),
            config["OPENSEARCH_INDEX"],
            config["RESULTS_BUCKET"],
            book=args.book,
            progress=progress,
        )
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        moved = f"{report.previous} -> {report.index}" if report.previous != report.index else report.index
        _err(
            f"reindexed {report.pages} page(s) into {moved} in {report.seconds} s: {report.indexed} written, "
            f"{report.unchanged} unchanged, {report.deleted} removed, {report.caught_up} caught up, "
            f"{len(report.failed)} failed"
        )
        for failure in report.failed:
            _err(f"  {failure['key']}: {failure['reason']}")
    return 1 if report.failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pagesearch import serve

    endpoints.load()  # the search function reads OPENSEARCH_URL and OPENSEARCH_INDEX from the environment
    return serve.run(args.host, args.port)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, not {text!r}")
    return int(text)


def _limit(text: str) -> int:
    """--limit: a whole number from 1 to the cap (0 or -5 would silently become 1)."""
    from lib.search.query import MAX_LIMIT

    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pagesearch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start the local stack and print its endpoints")
    p.add_argument(
        "--no-dispatcher", action="store_true", help="leave events queued (run functions with sls invoke local)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the local stack").set_defaults(func=cmd_down)
    sub.add_parser("env", help="print the endpoints as shell exports").set_defaults(func=cmd_env)
    p = sub.add_parser("ingest", help="upload page images and wait until they are searchable")
    p.add_argument("files", nargs="+")
    p.add_argument("--book", required=True, help="book id: pages are stored as BOOK/FILENAME")
    p.add_argument(
        "--lang", help="OCR language of these files, Tesseract codes joined by + (default: the book's, else OCR_LANG)"
    )
    p.add_argument("--no-wait", action="store_true", help="return once uploaded")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for OCR and indexing")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("search", help='search pages: words anywhere on a page, "quoted phrase", -exclude')
    p.add_argument("query")
    p.add_argument("--book")
    p.add_argument("--limit", type=_limit, default=10, help="pages to show, 1 to 100")
    p.add_argument("--page", type=_positive, default=1, help="which page of results (of --limit pages each)")
    p.add_argument("--hits", type=_positive, default=3, help="snippets to show per page (all are in --json)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("failures", help="list failure records and the events waiting in the failed-event queues")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failures)
    p = sub.add_parser("retry", help="re-drive failures: S3 announces failed objects again, failed events are resent")
    p.add_argument("--stage", choices=("ocr", "index"))
    p.add_argument("--prefix", default="", help="only records whose source key starts with this")
    p.add_argument("--dry-run", action="store_true", help="say what would be re-driven, change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retry)
    p = sub.add_parser("reindex", help="rebuild the index from the page JSONs, then swap the alias (searches go on)")
    p.add_argument("--book", help="rebuild one book in place instead of the whole library")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reindex)
    p = sub.add_parser("serve", help="the search HTTP API (IIIF Content Search 1.0 and 2.0) on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0: any free port (the address is printed)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export", help="a book as one file: its text, a zip of ALTO or hOCR pages, or a searchable PDF")
    export.add_arguments(p)
    p.set_defaults(func=lambda args: export.run(args, endpoints.load()))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except local.StackError as exc:
        _err(f"pagesearch: {exc}")
        return 2
    except KeyboardInterrupt:
        _err("pagesearch: interrupted")
        return 130
    except Exception as exc:  # a person reads this: one line and an exit code, never a traceback
        _err(f"pagesearch: {unreachable(exc) or f'{type(exc).__name__}: {exc}'}")
        if os.environ.get("PAGESEARCH_DEBUG"):
            raise
        return 3


def unreachable(exc: Exception) -> str | None:
    """The sentence for a service that does not answer, when ``exc`` is that."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError
    from opensearchpy.exceptions import ConnectionError as OpenSearchUnreachable

    if isinstance(exc, OpenSearchUnreachable):
        url = os.environ.get("OPENSEARCH_URL", "OpenSearch")
        return f"cannot reach OpenSearch at {url}: is the local stack up (pagesearch up) or OPENSEARCH_URL right?"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach S3/SQS at {exc.kwargs.get('endpoint_url')}: is the local stack up (pagesearch up)?"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run pagesearch up for the local stack"
    return None


if __name__ == "__main__":
    sys.exit(main())
