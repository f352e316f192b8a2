"""Event parsing: SNS-wrapped and direct S3 events, decoded keys, junk that must not crash."""

from __future__ import annotations

import json
from pathlib import Path

from lib.events import BadMessage, ObjectEvent, parse_event
from lib.versions import SourceVersion
from tests.conftest import ROOT, s3_event, sns_event

EVENTS = ROOT / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_sample_sns_event_gives_the_decoded_object() -> None:
    [item] = parse_event(load("ocr.json"))
    assert item == ObjectEvent(
        bucket="pagesearch-dev-pages",
        key="samples/phototest.tif",
        event_name="ObjectCreated:Put",
        event_time="2026-11-25T09:00:00.000Z",
        sequencer="0062A1B2C3D4E5F601",
        etag=None,
        size=38668,
    )
    assert item.created and not item.removed


def test_every_record_is_handled_not_only_the_first() -> None:
    items = parse_event(load("ocr-several-records.json"))
    assert [i.key for i in items] == ["samples/phototest.tif", "samples/eurotext.tif"]


def test_url_encoded_key_with_spaces_plus_and_unicode() -> None:
    [item] = parse_event(load("ocr-encoded-key.json"))
    assert item.key == "Livre d'heures + notes/Café 0001.tif"


def test_moto_style_encoded_slash_is_decoded() -> None:
    record = s3_event("b", "x")
    record["s3"]["object"]["key"] = "my+book%2F0001.jpg"
    [item] = parse_event({"Records": [record]})
    assert item.key == "my book/0001.jpg"


def test_s3_test_event_yields_nothing_direct_or_in_sns() -> None:
    assert parse_event(load("ocr-test-event.json")) == []
    assert parse_event({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}) == []


def test_sns_message_that_is_not_json_is_a_bad_message() -> None:
    [item] = parse_event(sns_event(message="<xml>not json</xml>"))
    assert isinstance(item, BadMessage) and "not JSON" in item.reason


def test_event_without_records_and_unknown_source() -> None:
    [item] = parse_event({"hello": "world"})
    assert isinstance(item, BadMessage) and "Records" in item.reason
    [item] = parse_event({"Records": [{"eventSource": "aws:dynamodb"}]})
    assert isinstance(item, BadMessage) and "aws:dynamodb" in item.reason
    assert isinstance(parse_event(["not", "a", "dict"])[0], BadMessage)


def test_one_malformed_record_does_not_hide_the_others() -> None:
    broken = s3_event("b", "x")
    del broken["s3"]["bucket"]
    items = parse_event({"Records": [broken, s3_event("b", "book/0002.png")]})
    assert isinstance(items[0], BadMessage)
    assert isinstance(items[1], ObjectEvent) and items[1].key == "book/0002.png"


def test_removed_event_has_no_size_or_etag() -> None:
    [item] = parse_event(load("indexer-removed.json"))
    assert item.removed and item.size is None and item.key == "samples/phototest.json"


def test_sequencers_of_one_key_order_events_and_time_orders_other_keys() -> None:
    older = SourceVersion(key="b/1.jpg", event_time="2026-01-01T00:00:02.000Z", sequencer="00AA")
    newer = SourceVersion(key="b/1.jpg", event_time="2026-01-01T00:00:01.000Z", sequencer="00AB")
    assert older.older_than(newer) and not newer.older_than(older)
    # Different lengths compare as numbers, not as strings.
    assert SourceVersion("k", "t", "FF").older_than(SourceVersion("k", "t", "0100"))
    jpg = SourceVersion(key="b/1.jpg", event_time="2026-01-01T00:00:01.000Z", sequencer="FFFF")
    png = SourceVersion(key="b/1.png", event_time="2026-01-01T00:00:05.000Z", sequencer="0001")
    assert jpg.older_than(png)
    # A local S3 repeating one sequencer falls back to time.
    assert SourceVersion("k", "2026-01-01T00:00:01Z", "AA").older_than(SourceVersion("k", "2026-01-01T00:00:02Z", "AA"))


def test_events_folder_holds_only_valid_json() -> None:
    for path in Path(EVENTS).glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict), path
