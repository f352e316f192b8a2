"""German decompounding (lib.index.compounds): real compounds split into their words, others left whole,
and a mark on a part moved onto its printed word."""

from __future__ import annotations

import pytest

from lib.index.compounds import SEPARATOR, marks_on_words, split_compound, with_parts
from lib.index.documents import MARK_END as E
from lib.index.documents import MARK_START as S
from lib.index.documents import joined_text
from lib.search.hits import highlighted_text


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("Bettdecke", ["bett", "decke"]),
        ("Zeitschrift", ["zeit", "schrift"]),
        ("Menschenzimmers", ["menschen", "zimmers"]),  # the head inflected
        ("Arbeitszimmer", ["arbeit", "zimmer"]),  # a linking s
        ("Kindergarten", ["kinder", "garten"]),
        ("Schreibtisch", ["schreib", "tisch"]),
        ("Versicherungsagenten", ["versicherung", "agenten"]),
        # Three parts or more, and the known words their neighbours make.
        ("Autobahnraststätte", ["auto", "bahn", "rast", "stätte", "autobahn", "raststätte"]),
        ("Donaudampfschifffahrt", ["donau", "dampf", "schiff", "fahrt", "schifffahrt"]),
    ],
)
def test_a_compound_splits_into_its_words(word: str, parts: list[str]) -> None:
    assert split_compound(word) == parts


@pytest.mark.parametrize(
    "word",
    [
        "Vergleich",  # "vergl" + "eich": more frequent whole than in those pieces
        "Rahmen",
        "Morgens",
        "Verwandlung",  # an inseparable prefix
        "Versteifungen",
        "Unterhaltung",  # a particle
        "Landschaft",  # a suffix
        "Freundschaft",
        "Gregor",
        "Ungeziefer",
    ],
)
def test_a_word_that_is_no_compound_stays_whole(word: str) -> None:
    assert split_compound(word) == []


def test_only_nouns_are_split() -> None:
    joined = "die bettdecke und die Bettdecke, ZEITSCHRIFT"
    text, where = with_parts(joined)
    assert text == joined + SEPARATOR + "bett decke"
    assert where == [[len(joined) + len(SEPARATOR), len(text), 22, 31]] and joined[22:31] == "Bettdecke"


def test_a_page_without_compounds_is_unchanged() -> None:
    assert with_parts("Es war kein Traum.") == ("Es war kein Traum.", [])


def test_a_mark_on_a_part_moves_onto_its_compound() -> None:
    joined = "Im Menschenzimmer lag die Zeitschrift."
    text, where = with_parts(joined)
    assert text == joined + SEPARATOR + "menschen zimmer\nzeit schrift"
    schrift = text.rindex("schrift")
    plain, spans = marks_on_words(text, [(3, 17), (schrift, schrift + 7)], where)
    assert plain == joined
    assert [plain[a:b] for a, b in spans] == ["Menschenzimmer", "Zeitschrift"]


def test_a_hit_on_a_part_of_a_word_broken_at_a_line_end_covers_both_halves() -> None:
    printed = "auf dem die Bett-\ndecke lag"
    joined, joins = joined_text(printed)
    text, where = with_parts(joined)
    decke = text.rindex("decke")
    highlight = {"text_de": [f"{text[:decke]}{S}decke{E}{text[decke + 5 :]}"]}
    assert highlighted_text(highlight, joins, where) == f"auf dem die {S}Bett-\ndecke{E} lag"


def test_the_word_list_is_what_its_script_makes() -> None:
    from scripts.make_lexicon import main

    assert main(["--check"]) == 0, "lib/index/lexicon/deu.txt is stale: run scripts/make_lexicon.py"
