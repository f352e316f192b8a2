"""``pagesearch``: run the local stack, ingest page images, search them, inspect failures.

Every command honours AWS_ENDPOINT_URL, PAGES_BUCKET, RESULTS_BUCKET,
OPENSEARCH_URL and OPENSEARCH_INDEX; what they leave unset comes from the
running local stack (``pagesearch up``). With ``--json`` only JSON goes to
standard output; progress and logs go to standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PAGESEARCH_LOG_STDERR", "1")

from pagesearch import stack as local


def _config() -> dict[str, str]:
    """Explicit environment first, then the running local stack."""
    names = ("AWS_ENDPOINT_URL", "PAGES_BUCKET", "RESULTS_BUCKET", "OPENSEARCH_URL", "OPENSEARCH_INDEX")
    current = local.running()
    config = current.env() if current else {}
    config.update({name: os.environ[name] for name in names if os.environ.get(name)})
    if current is None and not (config.get("OPENSEARCH_URL") or config.get("AWS_ENDPOINT_URL")):
        raise local.StackError("no local stack is running and no endpoints are set: run `pagesearch up` first")
    config.setdefault("PAGES_BUCKET", local.DEFAULT_PAGES_BUCKET)
    config.setdefault("RESULTS_BUCKET", local.DEFAULT_RESULTS_BUCKET)
    config.setdefault("OPENSEARCH_INDEX", local.DEFAULT_INDEX)
    # boto3 and lib read these from the environment.
    os.environ.update(config)
    return config


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
    for name, value in _config().items():
        print(f"export {name}={value}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from lib import storage
    from lib.index.store import make_searchable
    from lib.keys import InvalidKey, page_ref_from_key
    from lib.opensearch import client as opensearch_client
    from lib.progress import PageState, page_state

    config = _config()
    uploaded: dict[str, str] = {}
    started = time.monotonic()
    for path in tqdm([Path(p) for p in args.files], desc="upload", unit="page", file=sys.stderr, disable=args.quiet):
        key = f"{args.book}/{path.name}"
        try:
            page_ref_from_key(key)
        except InvalidKey as exc:
            _err(f"skipped {path}: {exc}")
            continue
        with path.open("rb") as body:
            uploaded[key] = storage.put_file(config["PAGES_BUCKET"], key, body)
    summary: dict[str, Any] = {"book": args.book, "uploaded": len(uploaded)}
    if not args.no_wait and uploaded:
        client = opensearch_client(config["OPENSEARCH_URL"])
        states: dict[str, str] = {}
        deadline = time.monotonic() + args.timeout
        with tqdm(total=len(uploaded), desc="ocr+index", unit="page", file=sys.stderr, disable=args.quiet) as bar:
            while len(states) < len(uploaded) and time.monotonic() < deadline:
                for key, etag in uploaded.items():
                    if key not in states:
                        state = page_state(config["RESULTS_BUCKET"], client, config["OPENSEARCH_INDEX"], key, etag)
                        if state:
                            states[key] = state
                            bar.update(1)
                if len(states) < len(uploaded):
                    time.sleep(0.25)
        if PageState.INDEXED in states.values():
            # Indexed pages become searchable at the next refresh: do it now, so the
            # searches that follow an ingest see every page it reported.
            make_searchable(client, config["OPENSEARCH_INDEX"])
        summary.update(
            indexed=sum(s == PageState.INDEXED for s in states.values()),
            failed=sorted(k for k, s in states.items() if s == PageState.FAILED),
            pending=sorted(set(uploaded) - set(states)),
        )
    summary["seconds"] = round(time.monotonic() - started, 2)
    if args.json:
        print(json.dumps(summary))
    else:
        _err(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 1 if summary.get("pending") or summary.get("failed") else 0


def _terminal_snippet(snippet: str) -> str:
    if not sys.stdout.isatty():
        return snippet.replace("<em>", "[").replace("</em>", "]")
    return snippet.replace("<em>", "\033[1m").replace("</em>", "\033[0m")


def cmd_search(args: argparse.Namespace) -> int:
    from lib.opensearch import client as opensearch_client
    from lib.search.query import search
    from lib.search.syntax import QueryError

    config = _config()
    try:
        result = search(
            opensearch_client(config["OPENSEARCH_URL"]),
            config["OPENSEARCH_INDEX"],
            args.query,
            book=args.book,
            limit=args.limit,
        )
    except QueryError as exc:
        _err(f"pagesearch: {exc}")
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['total']} hit(s) for {args.query!r}")
    for hit in result["hits"]:
        boxes = " ".join(f"{w['text']}@{','.join(map(str, w['bbox']))}" for w in hit["words"])
        print(f"{hit['book']}  p.{hit['page']}  l.{hit['line']}  {_terminal_snippet(hit['snippet'])}")
        print(f"    line box {hit['bbox']}  words {boxes}")
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    from lib.failures import list_failures

    records = list_failures(_config()["RESULTS_BUCKET"])
    if args.json:
        print(json.dumps(records, ensure_ascii=False))
    else:
        for record in records:
            print(f"{record['time']}  {record['stage']}  {record['source']['key']}  {record['reason']}")
        _err(f"{len(records)} failure record(s)")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from lib.redrive import redrive_all

    results = redrive_all(_config()["RESULTS_BUCKET"], stage=args.stage, prefix=args.prefix, dry_run=args.dry_run)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False))
    else:
        for r in results:
            print(f"{r.status:14}  {r.stage:5}  {r.key}  {r.detail}")
        _err(f"{sum(r.status == 'redriven' for r in results)} of {len(results)} failure record(s) re-driven")
    return 1 if any(r.status == "error" for r in results) else 0


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
    p.add_argument("--no-wait", action="store_true", help="return once uploaded")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for OCR and indexing")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("search", help='search the indexed text ("quoted phrase", -exclude)')
    p.add_argument("query")
    p.add_argument("--book")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("failures", help="list failure records")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_failures)
    p = sub.add_parser("retry", help="re-drive failure records: S3 announces their objects again")
    p.add_argument("--stage", choices=("ocr", "index"))
    p.add_argument("--prefix", default="", help="only records whose source key starts with this")
    p.add_argument("--dry-run", action="store_true", help="say what would be re-driven, change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retry)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except local.StackError as exc:
        _err(f"pagesearch: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
