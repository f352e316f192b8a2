"""Page addressing: keys to book and page, result keys, failure keys."""

from __future__ import annotations

import pytest

from lib.keys import FAILURE_SUFFIX, InvalidKey, PageRef, failure_key, is_image_key, page_ref_from_key


@pytest.mark.parametrize(
    ("key", "book", "page", "number"),
    [
        ("moby-dick/0042.jpg", "moby-dick", "0042", 42),
        ("moby-dick/0042.JPG", "moby-dick", "0042", 42),
        ("library/shelf 3/Café + notes/p7.tiff", "library/shelf 3/Café + notes", "p7", None),
        ("b/../0001.png", "b/..", "0001", 1),
        ("b/page.one.webp", "b", "page.one", None),
    ],
)
def test_book_is_everything_before_the_last_slash(key: str, book: str, page: str, number: int | None) -> None:
    ref = page_ref_from_key(key)
    assert (ref.book, ref.page, ref.page_number) == (book, page, number)
    assert ref.result_key == f"{book}/{page}.json"


@pytest.mark.parametrize(
    "key", ["0042.jpg", "/0042.jpg", "book/.jpg", "book/0042.pdf", "failed/x/1.png", "failed/1.png"]
)
def test_keys_that_name_no_page(key: str) -> None:
    with pytest.raises(InvalidKey):
        page_ref_from_key(key)


def test_accepted_suffixes_any_case() -> None:
    for suffix in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".bmp"):
        assert is_image_key(f"b/1{suffix}") and is_image_key(f"b/1{suffix.upper()}")
    assert not is_image_key("b/1.json")


def test_failure_key_never_ends_in_json_and_stays_within_s3_limits() -> None:
    assert failure_key("b/0001.jpg") == "failed/b/0001.jpg" + FAILURE_SUFFIX
    assert not failure_key("b/0001.json").endswith(".json")
    long_key = "b/" + "x" * 1100 + ".jpg"
    assert len(failure_key(long_key).encode()) <= 1024


def test_page_ref_is_plain_data() -> None:
    assert PageRef("b", "1") == PageRef("b", "1")
