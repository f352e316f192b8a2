"""Indexer function (S3 event on the results bucket): an adapter from the Lambda event to lib.index.flow."""

from __future__ import annotations

from typing import Any

from lib.index.flow import process_message
from lib.observability import logger, metrics
from lib.outcome import handle_event
from lib.settings import Settings


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = Settings.from_env()
    return handle_event(event, lambda record: process_message(record, settings))
