"""Runtime security: object keys never become file paths, /tmp stays clean, user input stays text.

(a) The OCR path runs for real (Pillow, the host's Tesseract, the handler over
moto's S3) on keys built to escape a directory, and on a long mix of good and
bad pages; we watch every file the process (and, under strace, Tesseract)
writes. (b) Search input is fuzzed with every query-syntax character and
checked twice: the request body we build, and a real OpenSearch API server.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security import hostile_ocr

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- (a) files


class WriteRecorder:
    """Every file-system write this Python process makes, seen through audit hooks (PEP 578).

    An audit hook cannot be removed, so one is installed per process and
    switched on only inside ``recording()``.
    """

    _installed = False
    active: WriteRecorder | None = None

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.commands: list[list[str]] = []

    @classmethod
    def install(cls) -> None:
        if not cls._installed:
            sys.addaudithook(cls._hook)
            cls._installed = True

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        recorder = cls.active
        if recorder is None:
            return
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
            )
            if writing and isinstance(path, str | bytes):
                recorder.writes.append((event, os.fsdecode(path)))
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.truncate"):
            if isinstance(args[0], str | bytes):
                path = os.fsdecode(args[0])
                # Audit arguments: os.remove/os.rmdir (path, dir_fd), os.mkdir (path, mode, dir_fd).
                dir_fd = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 2}.get(event)
                dir_fd = args[dir_fd] if dir_fd is not None and len(args) > dir_fd else None
                if isinstance(dir_fd, int) and dir_fd >= 0:
                    # shutil.rmtree removes by name relative to an open directory: name that directory.
                    path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
                recorder.writes.append((event, path))
        elif event in ("os.rename", "os.link", "os.symlink"):
            recorder.writes.extend((event, os.fsdecode(p)) for p in args[:2] if isinstance(p, str | bytes))
        elif event == "subprocess.Popen":
            recorder.commands.append([os.fsdecode(a) for a in args[1]])

    def __enter__(self) -> WriteRecorder:
        WriteRecorder.install()
        WriteRecorder.active = self
        return self

    def __exit__(self, *exc: object) -> None:
        WriteRecorder.active = None


def _inside(path: str, directory: Path) -> bool:
    resolved = Path(os.path.realpath(path))
    return resolved == directory or directory in resolved.parents


def _is_bytecode_cache(path: str) -> bool:
    # The interpreter caching a module imported for the first time: not our code.
    return f"{os.sep}__pycache__{os.sep}" in path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR (as Lambda's /tmp) inside an otherwise empty directory, and an empty cwd.

    A path built from ``../x`` under TMPDIR would land beside it, a relative
    one in the cwd: both are checked to stay empty.
    """
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.chdir(cwd)
    return tmp


def _assert_only_private_writes(recorder: WriteRecorder, private: Path) -> None:
    # /dev/null: subprocess points Tesseract's stdin there; writing to it stores nothing.
    stray = [
        (e, p) for e, p in recorder.writes if not _inside(p, private) and not _is_bytecode_cache(p) and p != os.devnull
    ]
    assert not stray, f"writes outside the private temporary directory: {stray}"
    touched = [p for _, p in recorder.writes] + [a for c in recorder.commands for a in c]
    assert not [p for p in touched if hostile_ocr.MARK in p], "a path was built from an object key"
    for command in recorder.commands:
        if command[1:] == ["--version"]:
            continue  # asked once per process, touches no file
        # tesseract INPUT OUTPUT_BASE ...: both are our private temporary files.
        assert _inside(command[1], private) and _inside(command[2], private), command
        # OUTPUT_BASE is ``page`` in a private ``tess-*`` directory, every renderer's file beside it.
        assert Path(command[1]).name.startswith("page-") and Path(command[2]).parent.name.startswith("tess-"), command


def _check_report(report: list[dict[str, Any]]) -> None:
    for case in report:
        assert case["status"] == [case["expected"]], case
        if case["expected"] == "ocr":
            assert case["result_written"], case
        else:
            # The failure record names the key verbatim: nothing was normalised away.
            assert case["failure_source_key"] == case["key"], case


@pytest.mark.integration
def test_hostile_keys_never_become_paths(private_tmp: Path, tesseract: str) -> None:
    with WriteRecorder() as recorder:
        report = hostile_ocr.run(tesseract)
    _check_report(report)
    assert recorder.commands, "Tesseract never ran: the test proved nothing"
    _assert_only_private_writes(recorder, private_tmp)
    assert list(private_tmp.iterdir()) == []
    assert sorted(p.name for p in private_tmp.parent.iterdir()) == ["cwd", "tmp"]
    assert list((private_tmp.parent / "cwd").iterdir()) == []


_STRACE_CALLS = (
    "open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,linkat,symlink,symlinkat,truncate"
)
_WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")


def _strace_writes(log: str) -> Iterator[tuple[str, str]]:
    """(call, path) of every successful write-like system call in an strace -f log."""
    for line in log.splitlines():
        match = re.match(r"\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)", line)
        if not match or int(match[3]) < 0:
            continue
        call, arguments = match[1], match[2]
        if call in ("open", "openat") and not _WRITE_FLAGS.search(arguments):
            continue
        at = re.match(r'(\d+)<([^>]*)>, "((?:[^"\\]|\\.)*)"', arguments)
        if at:  # strace -y names the directory descriptor: the path is the directory's and the name
            yield call, os.path.join(at[2], at[3])
            continue
        if re.search(r"^\d+(<[^>]*>)?,|, \d+(<[^>]*>)?,", arguments) and "AT_FDCWD" not in arguments:
            # Relative to a directory descriptor we cannot resolve: report it as is.
            yield call, f"<fd-relative> {arguments}"
            continue
        for path in re.findall(r'"((?:[^"\\]|\\.)*)"', arguments):
            yield call, path


@pytest.mark.integration
def test_tesseract_too_writes_only_private_temporary_files(tmp_path: Path, tesseract: str) -> None:
    """The same scenario in a child process under ``strace -f``: Tesseract's own writes are seen too."""
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace is not installed (apt-get install strace): the in-process test still checks Python")
    private, cwd, out = tmp_path / "tmp", tmp_path / "cwd", tmp_path / "report"
    for directory in (private, cwd, out):
        directory.mkdir()
    report_file, log_file = out / "report.json", out / "strace.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(private), HOME=str(cwd),
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_REGION="us-east-1", POWERTOOLS_METRICS_NAMESPACE="PageSearchTest")  # fmt: skip
    run = subprocess.run(
        [strace, "-f", "-y", "-qq", "-s", "4096", "-e", f"trace={_STRACE_CALLS}", "-o", str(log_file),
         sys.executable, "-m", "tests.security.hostile_ocr", str(private), str(report_file), tesseract],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if run.returncode != 0 and "ptrace" in run.stderr:
        pytest.skip(f"strace cannot trace here: {run.stderr.strip()[:300]}")
    assert run.returncode == 0, run.stderr[-3000:]
    _check_report(json.loads(report_file.read_text()))
    writes = list(_strace_writes(log_file.read_text()))
    assert any(p.endswith(".tsv") and _inside(p, private) for _, p in writes), "Tesseract wrote no TSV"
    allowed_outside = {"/dev/null", str(report_file)}
    stray = [(c, p) for c, p in writes if p not in allowed_outside and not _inside(p, private)]
    assert not stray, f"written outside the private temporary directory: {stray}"
    assert not [p for _, p in writes if hostile_ocr.MARK in p], "a path was built from an object key"
    assert list(private.iterdir()) == [] and list(cwd.iterdir()) == []


@pytest.mark.integration
def test_tmp_is_empty_after_50_invocations_of_success_and_failure(private_tmp: Path, tesseract: str) -> None:
    """A warm Lambda runs many pages in one /tmp: whatever happens, each leaves nothing behind."""
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.ocr.images import ImageRejected
    from lib.ocr.tesseract import OcrFailed
    from lib.settings import Settings

    base = dataclasses.replace(Settings.from_env(), tesseract_cmd=tesseract, ocr_lang="eng")
    kinds = {
        # kind: (bytes, settings, what must happen)
        "png": (hostile_ocr.small_page(), base, "ok"),
        "jpeg": (hostile_ocr.small_page("JPEG"), base, "ok"),
        "rgba": (hostile_ocr.small_page(mode="RGBA"), base, "ok"),
        "corrupt": (b"GIF89a\x00\x01 truncated right here", base, ImageRejected),
        "truncated": (hostile_ocr.small_page()[:150], base, ImageRejected),
        "nolang": (hostile_ocr.small_page(), dataclasses.replace(base, ocr_lang="zz_no_such_language"), OcrFailed),
        "timeout": (hostile_ocr.dense_page(), dataclasses.replace(base, tesseract_timeout=1), OcrFailed),
    }
    # 50 invocations: 20 successes, 14 rejected images, 14 Tesseract errors and 2 timeouts, interleaved.
    plan = ["png", "jpeg", "rgba", "png"] * 5 + ["corrupt", "truncated"] * 7 + ["nolang"] * 14 + ["timeout"] * 2
    random.Random(5).shuffle(plan)
    assert len(plan) == 50
    before = sorted(os.listdir(private_tmp))
    outcomes: dict[str, int] = {}
    with WriteRecorder() as recorder:
        for number, kind in enumerate(plan):
            data, settings, expected = kinds[kind]
            ref = PageRef(book=f"../{hostile_ocr.MARK}", page=f"{number:04d}")
            try:
                document = ocr_document(data, ref, settings, source={"key": f"{ref.book}/{ref.page}.png"})
                result = "ok"
                assert document["stats"]["words"] >= 3, document["stats"]
            except (ImageRejected, OcrFailed) as exc:
                result = type(exc)
            assert result == expected, f"invocation {number} ({kind}): {result} instead of {expected}"
            # Checked after every invocation, not only at the end: a leak cannot hide behind a later cleanup.
            assert sorted(os.listdir(private_tmp)) == before, f"left behind by invocation {number} ({kind})"
            outcomes[kind] = outcomes.get(kind, 0) + 1
    assert before == []
    assert outcomes == {"png": 10, "jpeg": 5, "rgba": 5, "corrupt": 7, "truncated": 7, "nolang": 14, "timeout": 2}
    _assert_only_private_writes(recorder, private_tmp)
    # Temporary files really were made there (page-*, tess-*/): the directory was in use, not bypassed.
    created = {Path(p).name.split("-")[0] for e, p in recorder.writes if e in ("open", "os.mkdir")}
    assert {"page", "tess"} <= created, created


# ---------------------------------------------------------------- (b) search input


# Query types that would interpret user text as syntax, or run code.
FORBIDDEN_KEYS = {
    "query_string", "simple_query_string", "script", "script_score", "function_score", "regexp",
    "wildcard", "prefix", "span_multi", "intervals", "more_like_this", "percolate", "terms_set",
}  # fmt: skip
LUCENE_SPECIALS = [*'+-!(){}[]^"~*?:\\/', "&&", "||", "AND", "OR", "NOT", "TO"]
UNICODE = [
    "café",
    "日本語の本",
    "📖🔍",
    "مرحبا",
    "e\u0301",
    "a\u200db",
    "\u202eevil",
    "\ufeff",
    "Ω≈ç√∫",
    "\U0001f9d1\u200d\U0001f52c",
]


def nasty_strings() -> list[str]:
    """Hand-written attacks on query syntax, then seeded random mixes of the same ingredients."""
    curated = [
        *LUCENE_SPECIALS,
        "".join(LUCENE_SPECIALS),
        " ".join(LUCENE_SPECIALS),
        '"', '""', '"""', '"call me', 'call me"', '"call" "me', '-"', '-', '--', '- -', '-"call me"', '"-call"',
        "\\", "\\\\", '\\"', 'call\\"me', "\\u0000", "\x00", "call\x00me", "\x1b[31mred", "\r\n\t",
        "text:whale", "book:*", "_exists_:text", "*:*", "whale~10", "whale^100", "/wh.*le/", "[a TO z]", "{a TO z}",
        "whale AND NOT sea", "(whale OR sea) && !ship", "whale || sea", "+whale -sea", "whale*", "wh?le",
        '{"script": {"source": "Math.random()"}}', '"}},{"script_score":{"script":"1"}}', "query_string",
        "doc['text'].value", "<script>alert(1)</script>", "'; DROP TABLE pages; --", "${jndi:ldap://x/a}",
        "a" * 10240, "whale " * 2048, '"' * 10240, "-" * 10240, "\\" * 10240, '"whale ' * 1500, "日本" * 5000,
        " ".join(f"w{i}" for i in range(40)),  # more terms than allowed
        *UNICODE, " ".join(UNICODE),
    ]  # fmt: skip
    rng = random.Random(20261125)
    ingredients = [*LUCENE_SPECIALS, *UNICODE, "whale", "call", "me", " ", " ", '"', "-", "\\", "\x00"]
    generated = ["".join(rng.choice(ingredients) for _ in range(rng.choice([1, 3, 8, 30, 200, 3000])))
                 for _ in range(400)]  # fmt: skip
    return curated + generated


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key), None
            yield from _walk(inner, (*path, key))
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner, path)
    else:
        yield path, value


def _user_text_slot(path: tuple[str, ...]) -> bool:
    """Where user text may go: the text of a match/match_phrase clause on our text fields, or the book filter."""
    from lib.index.analysis import LANGUAGE_FIELDS

    fields = ("text", "text_joined", *LANGUAGE_FIELDS)
    return (len(path) >= 3 and path[-3] in ("match", "match_phrase") and path[-2] in fields
            and path[-1] == "query") or path[-2:] == ("term", "book")  # fmt: skip


@pytest.fixture(scope="module")
def reference_body() -> dict[str, Any]:
    """A body of every shape (words exact and fuzzy, their proximity, phrase, exclusion, book): its keys and values."""
    from lib.search.query import build_query
    from lib.search.syntax import parse_query

    return build_query(parse_query('whale harpooneer "call me" -ship -"the sea"'), book="moby-dick", limit=10)


def test_user_input_only_reaches_match_clauses_and_sizes_are_capped(reference_body: dict[str, Any]) -> None:
    from lib.search.query import MAX_LIMIT, build_query
    from lib.search.syntax import QueryError, parse_query

    allowed_keys = {p[-1] for p, v in _walk(reference_body) if v is None}
    fixed_values = {json.dumps(v) for p, v in _walk(reference_body) if v is not None and not _user_text_slot(p)}
    rng = random.Random(11)
    limits = [-(10**9), -1, 0, 1, 10, MAX_LIMIT, MAX_LIMIT + 1, 10**9]
    checked = 0
    for text in nasty_strings():
        try:
            parsed = parse_query(text)
        except QueryError:
            continue  # refused before any request: fine
        book = rng.choice([None, "moby-dick", text[:200]])
        body = build_query(parsed, book=book, limit=rng.choice(limits), offset=rng.choice(limits))
        keys = {p[-1] for p, v in _walk(body) if v is None}
        assert not keys & FORBIDDEN_KEYS, (text[:80], keys & FORBIDDEN_KEYS)
        assert keys <= allowed_keys, (text[:80], keys - allowed_keys)
        for path, value in _walk(body):
            if value is None or _user_text_slot(path):
                continue
            # Every other leaf is one of the fixed values of the reference body (field names, options, sizes).
            if path[-1] in ("size", "from"):
                continue
            assert json.dumps(value) in fixed_values, (text[:80], path, value)
        assert 1 <= body["size"] <= MAX_LIMIT, body["size"]
        assert body["from"] >= 0 and body["from"] + body["size"] <= 10_000, (body["from"], body["size"])
        checked += 1
    assert checked > 300, f"only {checked} strings reached build_query: the generator lost its teeth"


def test_empty_and_symbol_only_input_is_refused_with_query_error() -> None:
    from lib.search.syntax import QueryError, parse_query

    for text in ["", "   ", '"', '""', "-", "- -", "&&", "||", "()", "*", "\\", "\x00"]:
        with pytest.raises(QueryError):
            parse_query(text)


@pytest.mark.integration
def test_nasty_queries_against_a_real_opensearch_api_raise_only_query_error(
    opensearch_url: str, index_name: str
) -> None:
    from opensearchpy import OpenSearch

    from lib.index.store import ensure_index
    from lib.search.query import search
    from lib.search.syntax import QueryError

    client = OpenSearch(hosts=[opensearch_url], timeout=30)
    ensure_index(client, index_name)
    # A real page document, so queries match, highlight and map hits (not only an empty index).
    from lib.index.documents import index_action, page_document
    from lib.index.store import run_bulk
    from lib.versions import SourceVersion
    from tests.integration.conftest import synthetic_page

    lines = ["Call me Ishmael. Some years ago", "café 日本語の本 whale ship", 'a "quoted" line with \\ and * ?']
    page = synthetic_page("moby-dick", "0001", [lines])
    version = SourceVersion.of("moby-dick/0001.json", "2026-01-01T00:00:00.000Z")
    run_bulk(client, index_name, [index_action(page_document(page, version, "2026-01-01T00:00:00.000Z"))])
    assert search(client, index_name, "ishmael").total >= 1  # the index answers at all
    refused = answered = 0
    for text in nasty_strings():
        try:
            result = search(client, index_name, text, book=text[:100] or None, limit=10**6, offset=10**6)
        except QueryError:
            refused += 1
            continue
        assert isinstance(result.total, int) and isinstance(result.pages, list), text[:80]
        answered += 1
    assert answered > 300 and refused > 10, (answered, refused)
