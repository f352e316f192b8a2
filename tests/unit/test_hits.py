"""Hits on a page: the highlighter's marks mapped to words, runs of words, snippets."""

from __future__ import annotations

from lib.search.hits import marked_spans, page_hits
from lib.search.syntax import parse_query

S, E = "\x02", "\x03"


def page(text: str, words: list[str]) -> dict:
    """A stored page document for ``text`` whose words are ``words``, one line, boxes 10 px apart."""
    spans, at = [], 0
    for n, word in enumerate(words):
        at = text.index(word, at)
        spans.append([at, at + len(word), 10 * n, 0, 10 * n + 8, 10])
        at += len(word)
    return {"book": "b", "page": "1", "words": spans, "lines": [[0, len(words) - 1, 0, 0, 10 * len(words), 10]]}


def test_marks_become_character_spans() -> None:
    assert marked_spans(f"a {S}bc{E} d {S}e{E}") == ("a bc d e", [(2, 4), (7, 8)])


def test_a_mark_dropped_at_either_end_of_the_text_is_restored_to_its_word() -> None:
    """The OpenSearch API server drops a start mark at offset 0 and an end mark at the very end."""
    assert marked_spans(f"quick{E} is here and {S}dog") == ("quick is here and dog", [(0, 5), (18, 21)])


def test_consecutive_marked_words_are_one_hit_across_lines() -> None:
    text = "the lazy\nfox ran and the fox"
    source = page(text, ["the", "lazy", "fox", "ran", "and", "the", "fox"])
    highlighted = f"the {S}lazy{E}\n{S}fox{E} ran and the fox"
    [hit] = page_hits(source, highlighted, parse_query('"lazy fox"'), 1.0).hits
    assert [w.text for w in hit.words] == ["lazy", "fox"] and hit.before == "the " and hit.after == " ran and the fox"


def test_a_lone_word_of_a_phrase_marked_elsewhere_is_not_a_hit() -> None:
    text = "lazy fox and a fox"
    source = page(text, ["lazy", "fox", "and", "a", "fox"])
    highlighted = f"{S}lazy{E} {S}fox{E} and a {S}fox{E}"
    hits = page_hits(source, highlighted, parse_query('"lazy fox"'), 1.0).hits
    assert [[w.text for w in h.words] for h in hits] == [["lazy", "fox"]]
    # With a bare word in the query, every marked word is a hit of its own.
    hits = page_hits(source, highlighted, parse_query('fox "lazy fox"'), 1.0).hits
    assert len(hits) == 2


def test_a_mark_inside_a_word_marks_the_whole_word() -> None:
    source = page("Brown-dog café", ["Brown-dog", "café"])
    [hit] = page_hits(source, f"Brown-{S}dog{E} café", parse_query("dog"), 1.0).hits
    assert [w.text for w in hit.words] == ["Brown-dog"] and hit.words[0].bbox == [0, 0, 8, 10]


def test_a_phrase_whose_stop_words_were_left_unmarked_is_one_hit_of_all_its_words() -> None:
    """The OpenSearch API server's language analyzers mark only the words they keep: ``aus`` is not marked."""
    from lib.search.hits import hit_count

    text = "eines Morgens aus unruhigen Träumen erwachte, aus Träumen"
    source = page(text, ["eines", "Morgens", "aus", "unruhigen", "Träumen", "erwachte,", "aus", "Träumen"])
    highlighted = f"eines Morgens aus {S}unruhigen{E} {S}Träumen{E} erwachte, aus {S}Träumen{E}"
    parsed = parse_query('"aus unruhigen Traum"')
    hits = page_hits(source, highlighted, parsed, 1.0).hits
    assert [[w.text for w in h.words] for h in hits] == [["aus", "unruhigen", "Träumen"]]
    assert hit_count(highlighted, parsed) == 1
    # A mark whose words around are not the phrase stays no hit.
    highlighted = f"eines Morgens aus unruhigen Träumen erwachte, aus {S}Träumen{E}"
    assert page_hits(source, highlighted, parsed, 1.0).hits == [] and hit_count(highlighted, parsed) == 0


def test_a_run_that_is_no_phrase_does_not_hide_the_phrase_after_it() -> None:
    """A lone word of the phrase, marked for it elsewhere, stands just before a run that is the phrase but for
    its unmarked stop word: the lone word is no hit, the phrase is."""
    from lib.search.hits import hit_count

    text = "Träumen. Als unruhigen Träumen"
    source = page(text, ["Träumen.", "Als", "unruhigen", "Träumen"])
    highlighted = f"{S}Träumen.{E} Als {S}unruhigen{E} {S}Träumen{E}"
    # A five-word phrase beside it lets the lone word's search reach as far as the phrase after it.
    parsed = parse_query('"als unruhigen Träumen" "eines Morgens aus unruhigen Träumen"')
    hits = page_hits(source, highlighted, parsed, 1.0).hits
    assert [[w.text for w in h.words] for h in hits] == [["Als", "unruhigen", "Träumen"]]
    assert hit_count(highlighted, parsed) == 1
