"""OCR languages per upload and per book, and search by the page's language, with real German and French pages.

The pages (tests/fixtures/languages, made by its make_pages.py) are read by
the real Tesseract with Debian's deu and fra data; search runs against the
OpenSearch API with the index's language fields (lib.index.analysis).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pagesearch import lambda_local
from pagesearch.text_metrics import cer
from tests import books
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, s3_event, sns_event
from tests.integration.conftest import Pipeline, index, search

pytestmark = pytest.mark.integration
LANGUAGES = Path(__file__).resolve().parents[1] / "fixtures" / "languages"
GERMAN, FRENCH = LANGUAGES / "deu.png", LANGUAGES / "fra.png"
PHOTOTEST = SAMPLES / "phototest.tif"


def ocr(s3: Any, key: str, data: bytes, lang: str | None = None, **event: Any) -> dict[str, Any]:
    metadata = {"ocr-lang": lang} if lang is not None else {}
    response = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data, Metadata=metadata)
    record = s3_event(PAGES_BUCKET, key, etag=response["ETag"].strip('"'), size=len(data), **event)
    [outcome] = lambda_local.invoke("ocr", sns_event(record), stage="test")["pages"]
    return outcome


def page_json(s3: Any, key: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())


def failure(s3: Any, key: str) -> dict[str, Any]:
    from lib.failures import list_failures

    [record] = [r for r in list_failures(RESULTS_BUCKET) if r["source"]["key"] == key]
    return record


def ground_truth(image: Path) -> str:
    return image.with_suffix(".gt.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("image", "lang"), [(GERMAN, "deu"), (FRENCH, "fra")], ids=["deu", "fra"])
def test_a_page_read_in_its_language_reads_better_than_in_english(
    s3: Any, tesseract: str, image: Path, lang: str
) -> None:
    assert ocr(s3, f"{lang}/0001.png", image.read_bytes(), lang)["status"] == "ocr"
    assert ocr(s3, f"{lang}/0002.png", image.read_bytes())["status"] == "ocr"  # OCR_LANG: eng
    native, english = page_json(s3, f"{lang}/0001.json"), page_json(s3, f"{lang}/0002.json")
    assert (native["ocr"]["lang"], english["ocr"]["lang"]) == (lang, "eng")
    truth = ground_truth(image)
    assert cer(native["text"], truth) < 0.03
    assert cer(native["text"], truth) < cer(english["text"], truth)
    head = s3.head_object(Bucket=RESULTS_BUCKET, Key=f"{lang}/0001.json")
    assert head["Metadata"]["ocr-lang"] == lang


def test_the_upload_names_the_language_else_the_book_else_ocr_lang(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCR_LANG", "eng")
    page = PHOTOTEST.read_bytes()
    assert ocr(s3, "plain/0001.tif", page)["status"] == "ocr"
    s3.put_object(Bucket=PAGES_BUCKET, Key="grimm/_book.json", Body=b'{"ocr_lang": "deu+eng"}')
    assert ocr(s3, "grimm/0001.tif", page)["status"] == "ocr"
    assert ocr(s3, "grimm/0002.tif", page, lang=" fra ")["status"] == "ocr"
    langs = [page_json(s3, k)["ocr"]["lang"] for k in ("plain/0001.json", "grimm/0001.json", "grimm/0002.json")]
    assert langs == ["eng", "deu+eng", "fra"]


@pytest.mark.parametrize(
    ("lang", "book_file", "reason"),
    [
        ("deu;rm -rf /", None, "the upload's x-amz-meta-ocr-lang 'deu;rm -rf /' is not Tesseract language codes"),
        ("-psm 0", None, "is not Tesseract language codes"),
        ("zzz", None, "OCR language zzz is not installed (this Tesseract has: "),
        (None, b"{not json", "b/_book.json is not JSON"),
        (None, b'{"ocr_language": "deu"}', "b/_book.json has unknown settings ocr_language"),
        (None, b'{"ocr_lang": ["deu"]}', "b/_book.json: ocr_lang must be a string"),
        (None, b'{"ocr_lang": "deu+../../etc"}', "b/_book.json ocr_lang 'deu+../../etc' is not Tesseract"),
    ],
    ids=["injection", "option", "not-installed", "book-not-json", "book-unknown", "book-list", "book-path"],
)
def test_a_bad_or_missing_language_is_a_failure_record_saying_so(
    s3: Any, tesseract: str, lang: str | None, book_file: bytes | None, reason: str
) -> None:
    if book_file is not None:
        s3.put_object(Bucket=PAGES_BUCKET, Key="b/_book.json", Body=book_file)
    outcome = ocr(s3, "b/0001.tif", PHOTOTEST.read_bytes(), lang)
    assert outcome["status"] == "failed" and reason in outcome["detail"]
    record = failure(s3, "b/0001.tif")
    assert reason in record["reason"] and (record["book"], record["page"]) == ("b", "0001")
    assert "b/0001.json" not in {o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("Contents", [])}


def test_the_same_bytes_again_in_another_language_are_read_again(s3: Any, tesseract: str) -> None:
    data = GERMAN.read_bytes()
    assert ocr(s3, "g/0001.png", data, "eng")["status"] == "ocr"
    later = {"sequencer": "0062A1B2C3D4E5F6FF", "event_time": "2026-11-25T10:00:00.000Z"}
    same = ocr(s3, "g/0001.png", data, "eng", **later)
    assert same["status"] == "skipped" and "announced to the indexer again" in same["detail"]
    assert page_json(s3, "g/0001.json")["ocr"]["lang"] == "eng"
    latest = {"sequencer": "0062A1B2C3D4E5F7FF", "event_time": "2026-11-25T11:00:00.000Z"}
    assert ocr(s3, "g/0001.png", data, "deu", **latest)["status"] == "ocr"
    assert page_json(s3, "g/0001.json")["ocr"]["lang"] == "deu"


def test_ingest_lang_names_the_language_of_every_upload(s3: Any, tmp_path: Path) -> None:
    from pagesearch import ingest

    with pytest.raises(ingest.IngestError, match="--lang 'de u' is not Tesseract language codes"):
        ingest.plan([str(PHOTOTEST)], "b", "de u")
    job = ingest.plan([str(PHOTOTEST)], "b", "deu+eng")
    ingest.upload(job, PAGES_BUCKET, quiet=True)
    assert s3.head_object(Bucket=PAGES_BUCKET, Key="b/phototest.tif")["Metadata"] == {"ocr-lang": "deu+eng"}


def test_a_bad_ocr_lang_setting_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.settings import ConfigError, Settings

    monkeypatch.setenv("OCR_LANG", "eng deu")
    with pytest.raises(ConfigError, match="OCR_LANG 'eng deu' is not Tesseract language codes"):
        Settings.from_env()


GERMAN_TEXT = [
    "Die alten Häuser der Stadt standen an der Straße zum Markt.",
    "Im Hause des Königs wohnte seine jüngste Tochter.",
]


def test_a_book_file_hands_its_language_to_its_pages(pipeline: Pipeline, settings: Any, tesseract: str) -> None:
    """An image page of a PDF is read in the PDF's language; a text page is indexed as text of that language."""
    import jsonschema

    from tests.conftest import ROOT

    data = books.merged(books.text_pdf([GERMAN_TEXT]), books.scans_pdf([GERMAN]))
    pipeline.s3.put_object(Bucket=PAGES_BUCKET, Key="stadt.pdf", Body=data, Metadata={"ocr-lang": "deu"})
    pipeline.run()
    text_page, scan = pipeline.page("stadt", "0001"), pipeline.page("stadt", "0002")
    schema = json.loads((ROOT / "schema" / "page.schema.json").read_text())
    for document in (text_page, scan):
        jsonschema.validate(document, schema)
    assert (text_page["ocr"]["engine"], text_page["ocr"]["lang"]) == ("pdf-text", "deu")
    assert scan["ocr"]["lang"] == "deu"
    assert pipeline.s3.head_object(Bucket=PAGES_BUCKET, Key="stadt/0002.jpg")["Metadata"]["ocr-lang"] == "deu"
    # "Haus" is in neither page as printed: German stemming finds "Häuser" and "Hause".
    found = search(settings, "Haus", book="stadt")
    assert [p.page for p in found.pages][:1] == ["0001"]
    assert {w.text for h in found.pages[0].hits for w in h.words} == {"Häuser", "Hause"}


@pytest.fixture(scope="module")
def read_pages(tesseract: str) -> dict[str, dict[str, Any]]:
    """The German and French pages read in their languages, and an English page, once for the module."""
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    settings = Settings.from_env()
    pages = {"deu": (GERMAN, "deu"), "fra": (FRENCH, "fra"), "eng": (PHOTOTEST, "eng")}
    return {
        name: ocr_document(
            image.read_bytes(),
            PageRef(name, "0001"),
            settings,
            source={"bucket": PAGES_BUCKET, "key": f"{name}/0001{image.suffix}"},
            lang=lang,
        )
        for name, (image, lang) in pages.items()
    }


def found(settings: Any, query: str) -> dict[str, list[str]]:
    """Book -> the words of every hit, for the pages ``query`` finds."""
    return {p.book: [w.text for h in p.hits for w in h.words] for p in search(settings, query).pages}


@pytest.mark.parametrize(
    ("query", "book", "words"),
    [
        # German: stems and umlauts (light_german, german_normalization), none of them as printed.
        ("Wand", "deu", ["Wänden."]),
        ("Ruecken", "deu", ["Rücken"]),
        ("träume", "deu", ["Träumen", "Traum."]),
        # French: elision and stems.
        ("enfant", "fra", ["l'enfant"]),
        ("homme", "fra", ["l'homme"]),
        ("loi", "fra", ["lois"]),
        ("femmes", "fra", ["femme"]),
    ],
)
def test_a_page_is_found_by_the_forms_of_its_language(
    s3: Any, settings: Any, read_pages: dict[str, dict[str, Any]], query: str, book: str, words: list[str]
) -> None:
    for document in read_pages.values():
        index(s3, document)
    assert found(settings, query) == {book: words}
    # As printed, exactly or fuzzily, no page holds it: the page's language field found it.
    from lib.opensearch import client

    body = {"query": {"match": {"text": {"query": query, "fuzziness": "AUTO:8,11"}}}}
    assert client(settings.opensearch_url).search(index=settings.opensearch_index, body=body)["hits"]["hits"] == []


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("Zimmer", ["Zimmer,", "Menschenzimmer,"]),  # the word as printed, and inside a compound
        ("Kollektion", ["Musterkollektion"]),
        ("Schrift", ["Zeitschrift"]),
        ("Tuch", ["Tuchwaren"]),
        ("Decken", ["Bett-", "decke,"]),  # a part, inflected, of a compound broken at a line end: both halves
    ],
)
def test_a_german_compound_is_found_by_its_words(
    s3: Any, settings: Any, read_pages: dict[str, dict[str, Any]], query: str, words: list[str]
) -> None:
    for document in read_pages.values():
        index(s3, document)
    assert found(settings, query) == {"deu": words}
    # Only "Zimmer" is also printed as a word of its own: the rest were found inside compounds.
    printed = {w.strip(",.").lower() for w in read_pages["deu"]["text"].split()}
    assert (query.lower() in printed) == (query == "Zimmer")


def test_a_compound_is_not_split_into_what_is_not_its_words(
    s3: Any, settings: Any, read_pages: dict[str, dict[str, Any]]
) -> None:
    for document in read_pages.values():
        index(s3, document)
    # "Bettdecke" holds the letters of "Ecke", "Vergleich" those of "eich", "Versteifungen" of "Steifung":
    # none is a word of theirs, and nothing else on the pages is.
    for query in ("Ecke", "eich", "Steifung"):
        assert found(settings, query) == {}, query


@pytest.mark.parametrize(
    ("phrase", "book", "words"),
    [
        # Found only through the language field (elision, stems), the stop words between unmarked by the
        # test server's analyzers: still one hit of every printed word, and counted as one.
        ('"enfant par la nuit"', "fra", ["l'enfant", "par", "la", "nuit,"]),
        ('"aus unruhigen Traum"', "deu", ["aus", "unruhigen", "Träumen"]),
    ],
)
def test_a_phrase_found_by_its_language_is_one_hit_of_all_its_words(
    s3: Any, settings: Any, read_pages: dict[str, dict[str, Any]], phrase: str, book: str, words: list[str]
) -> None:
    from lib.opensearch import client
    from lib.search.query import count_hits
    from lib.search.syntax import parse_query

    for document in read_pages.values():
        index(s3, document)
    result = search(settings, phrase)
    assert [(p.book, [[w.text for w in h.words] for h in p.hits]) for p in result.pages] == [(book, [words])]
    counted = count_hits(
        client(settings.opensearch_url), settings.opensearch_index, parse_query(phrase), book=None, offset=0, pages=1
    )
    assert counted == [1]


def test_exact_fuzzy_joined_and_phrase_matching_stay_as_they_were(
    s3: Any, settings: Any, read_pages: dict[str, dict[str, Any]]
) -> None:
    for document in read_pages.values():
        index(s3, document)
    assert found(settings, "Ungeziefer") == {"deu": ["Ungeziefer"]}
    assert found(settings, "Ungezieffer") == {"deu": ["Ungeziefer"]}  # one OCR-sized error in 11 letters
    assert found(settings, "Bettdecke") == {"deu": ["Bett-", "decke,"]}  # broken at the line end: both parts
    assert found(settings, "prolétariat") == {"fra": ["prolé-", "tariat,"]}
    assert found(settings, '"kein Traum"') == {"deu": ["kein", "Traum."]}
    assert found(settings, '"l\'enfant par la nuit"') == {"fra": ["l'enfant", "par", "la", "nuit,"]}
    assert set(found(settings, "lazy fox")) == {"eng"}
    # A German stem is no English word's: the English page stays out of German forms and the other way round.
    assert "eng" not in found(settings, "Wand") and found(settings, "foxes") == {}
