"""Tesseract TSV to the page model: structure rows are not words, boxes enclose what they hold."""

from __future__ import annotations

from lib.page_json import iter_lines, page_text, parse_tsv

HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def row(
    level: int, block: int, par: int, line: int, word: int, box: tuple[int, int, int, int], conf: float, text: str = ""
) -> str:
    return "\t".join(map(str, (level, 1, block, par, line, word, *box, conf, text)))


TSV = "\n".join(
    [
        HEADER,
        row(1, 0, 0, 0, 0, (0, 0, 600, 800), -1),
        row(2, 1, 0, 0, 0, (10, 10, 300, 60), -1),
        row(3, 1, 1, 0, 0, (10, 10, 300, 60), -1),
        row(4, 1, 1, 1, 0, (10, 10, 300, 20), -1),
        row(5, 1, 1, 1, 1, (10, 10, 50, 20), 96.5, "Call"),
        row(5, 1, 1, 1, 2, (70, 12, 30, 18), 91.0, "me"),
        row(5, 1, 1, 1, 3, (110, 10, 0, 0), 95.0, " "),  # an empty word Tesseract sometimes emits
        row(4, 1, 1, 2, 0, (10, 40, 300, 20), -1),
        row(5, 1, 1, 2, 1, (10, 40, 120, 20), 88.0, "Ishmael."),
        row(4, 1, 1, 3, 0, (10, 70, 300, 20), -1),  # a line with no words at all
        row(2, 2, 0, 0, 0, (10, 400, 300, 60), -1),
        row(3, 2, 1, 0, 0, (10, 400, 300, 60), -1),
        row(4, 2, 1, 1, 0, (10, 400, 300, 20), -1),
        row(5, 2, 1, 1, 1, (12, 402, 80, 18), 70.25, "Chapter"),
    ]
)


def test_structure_rows_and_empty_words_are_not_words() -> None:
    blocks = parse_tsv(TSV)
    lines = [line for _, _, line in iter_lines(blocks)]
    assert [line["text"] for line in lines] == ["Call me", "Ishmael.", "Chapter"]
    assert all(w["text"].strip() for line in lines for w in line["words"])


def test_boxes_are_left_top_right_bottom_and_enclose_their_content() -> None:
    blocks = parse_tsv(TSV)
    first = blocks[0]["paragraphs"][0]["lines"][0]
    assert first["words"][0]["bbox"] == [10, 10, 60, 30]
    assert first["bbox"] == [10, 10, 100, 30]
    assert blocks[0]["bbox"] == [10, 10, 130, 60]
    for block in blocks:
        for paragraph in block["paragraphs"]:
            for line in paragraph["lines"]:
                for word in line["words"]:
                    left, top, right, bottom = word["bbox"]
                    assert line["bbox"][0] <= left <= right <= line["bbox"][2]
                    assert line["bbox"][1] <= top <= bottom <= line["bbox"][3]


def test_line_confidence_is_the_mean_of_its_words() -> None:
    first = parse_tsv(TSV)[0]["paragraphs"][0]["lines"][0]
    assert first["conf"] == round((96.5 + 91.0) / 2, 2)


def test_page_text_reads_lines_and_separates_paragraphs() -> None:
    assert page_text(parse_tsv(TSV)) == "Call me\nIshmael.\n\nChapter"


def test_blank_page_has_no_blocks() -> None:
    assert parse_tsv(HEADER + "\n" + row(1, 0, 0, 0, 0, (0, 0, 600, 800), -1)) == []
