"""Part "compounds": what splitting German compounds costs the indexer, against the same page without it.

The real German test page (tests/fixtures/languages/deu.png), read once by
our OCR core in German, is indexed as lib.index.flow does it (the page's
indexed version looked up, its document made, one bulk request into the
OpenSearch API server) three ways, interleaved round by round in this process:

- ``german``: as shipped, its joined text in ``text_de`` with its compounds'
  parts after it (lib.index.compounds);
- ``german_unsplit``: the same, with decompounding turned off: the baseline
  of the ratio, what the German field cost before;
- ``english``: the same words marked English (no language field at all).

Each way's time per page, and per document made (``page_document`` alone),
is a median over rounds of many pages; the split cache is cleared before
every page, so each pays for its words as a new page would. Also measured, each in a fresh process: loading
the word list (the one-off cost of a container's first German page) and the
memory it holds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.log import log
from bench.results import Options, write_result
from bench.stats import summary

PART = "compounds"
ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tests" / "fixtures" / "languages" / "deu.png"
ROUNDS = 15
PER_ROUND = 20
# Splitting a German page's compounds may cost the indexer this much more per page than not splitting them.
TARGET_RATIO = 1.1

# The load timed first, then again under tracemalloc (which slows allocation) for the memory it keeps.
_LOAD = """
import time, tracemalloc
import lib.index.compounds as c
started = time.perf_counter()
c._lexicon()
elapsed = time.perf_counter() - started
c._lexicon.cache_clear()
tracemalloc.start()
c._lexicon()
print(elapsed, tracemalloc.get_traced_memory()[0])
"""


def _document() -> dict[str, Any]:
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    source = {"bucket": "pages", "key": "de/0001.png"}
    return ocr_document(PAGE.read_bytes(), PageRef("de", "0001"), Settings.from_env(), source=source, lang="deu")


def run(opts: Options) -> None:
    import lib.index.compounds as compounds
    import lib.index.documents as documents
    from bench.services import opensearch_server
    from lib.index.store import ensure_index, get_page_record, run_bulk
    from lib.opensearch import client as opensearch_client
    from lib.versions import SourceVersion

    german = _document()
    english = {**german, "ocr": {**german["ocr"], "lang": "eng"}}
    version = SourceVersion.of("de/0001.json", "2026-12-02T00:00:00.000Z", "01", "e")
    compounds._lexicon()  # the one-off load is measured below, in its own process
    shipped = documents.with_parts
    ways = {
        "german": (german, shipped),
        "german_unsplit": (german, lambda joined: (joined, [])),
        "english": (english, shipped),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    made: dict[str, list[float]] = {name: [] for name in ways}
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    with opensearch_server(work) as url:
        client = opensearch_client(url)
        ensure_index(client, "bench-compounds")
        for round_ in range(3 if opts.quick else ROUNDS):
            names = list(ways) if round_ % 2 == 0 else list(reversed(ways))
            for name in names:
                document, split = ways[name]
                documents.with_parts = split
                elapsed = making = 0.0
                for number in range(PER_ROUND):
                    page = {**document, "page": f"{name}-{round_}-{number}"}
                    compounds._best_split.cache_clear()
                    started = time.perf_counter()
                    get_page_record(client, "bench-compounds", documents.page_id(page["book"], page["page"]))
                    before = time.perf_counter()
                    doc = documents.page_document(page, version, "2026-12-02T00:00:00Z")
                    after = time.perf_counter()
                    run_bulk(client, "bench-compounds", [documents.index_action(doc)])
                    elapsed += time.perf_counter() - started
                    making += after - before
                times[name].append(elapsed / PER_ROUND * 1000)
                made[name].append(making / PER_ROUND * 1000)
    documents.with_parts = shipped
    body = documents.page_document(german, version, "2026-12-02T00:00:00Z").body
    loads = [
        subprocess.run([sys.executable, "-c", _LOAD], cwd=ROOT, capture_output=True, text=True, check=True)
        for _ in range(3 if opts.quick else 7)
    ]
    load_ms = [float(r.stdout.split()[0]) * 1000 for r in loads]
    memory_mb = [int(r.stdout.split()[1]) / 2**20 for r in loads]
    medians = {name: statistics.median(values) for name, values in times.items()}
    making = {name: statistics.median(values) for name, values in made.items()}
    ratio = medians["german"] / medians["german_unsplit"]
    log(
        f"compounds: {len(body.get('parts', []))} compounds; indexed in {medians['german']:.2f} ms split,"
        f" {medians['german_unsplit']:.2f} ms unsplit ({ratio:.3f}x), {medians['english']:.2f} ms English;"
        f" document alone {making['german']:.2f} / {making['german_unsplit']:.2f} ms;"
        f" word list {statistics.median(load_ms):.0f} ms, {statistics.median(memory_mb):.1f} MB"
    )
    write_result(
        opts,
        PART,
        {
            "page": str(PAGE.relative_to(ROOT)),
            "words": body["stats"]["words"],
            "compounds": len(body.get("parts", [])),
            "indexed_ms": {name: summary(values, 3) for name, values in times.items()},
            "document_ms": {name: summary(values, 3) for name, values in made.items()},
            "ratio_split_to_unsplit": round(ratio, 3),
            "target_ratio": TARGET_RATIO,
            "met": ratio <= TARGET_RATIO,
            "word_list": {
                "words": len(compounds._lexicon()),
                "bytes": compounds.LEXICON.stat().st_size,
                "load_ms": summary(load_ms, 1),
                "memory_mb": summary(memory_mb, 1),
            },
        },
    )


def report_rows(add: Any, r: dict[str, Any] | None) -> None:
    """This part's rows of the summary table (bench/report.py)."""
    if not r:
        return
    from bench.report import _met, _mmm

    ms = r["indexed_ms"]
    add(
        "13 Compounds",
        f"indexing a German page ({r['words']} words, {r['compounds']} compounds) with its compounds split (ms)",
        _mmm(ms["german"]),
        f"not split {_mmm(ms['german_unsplit'])}",
        f"{r['ratio_split_to_unsplit']:.3f}",
        f"≤ {r['target_ratio']}",
        _met(r["met"]),
    )
    words = r["word_list"]
    add(
        "13 Compounds",
        f"loading the word list ({words['words']:,} words), once per container (ms, MB held)",
        f"{words['load_ms']['median']:.0f} ms, {words['memory_mb']['median']:.1f} MB",
    )
