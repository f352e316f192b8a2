"""OCR function (SNS -> S3 event): an adapter from the Lambda event to lib.ocr_flow."""

from __future__ import annotations

from typing import Any

from lib.events import parse_event
from lib.observability import logger, metrics
from lib.ocr_flow import process_message
from lib.outcome import process_all
from lib.settings import Settings

SETTINGS = Settings.from_env()


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = process_all(parse_event(event), lambda item: process_message(item, SETTINGS))
    return {"records": len(outcomes), "pages": outcomes}
