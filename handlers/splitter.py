"""Splitter function (SQS: the split queue): an adapter from the Lambda event to lib.split.flow."""

from __future__ import annotations

from typing import Any

from lib.jobs import parse_split_event
from lib.observability import logger, metrics
from lib.outcome import process_all
from lib.settings import Settings
from lib.split.flow import process_job


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = Settings.from_env()
    # The time left decides when a long split continues in another invocation.
    outcomes = process_all(
        parse_split_event(event), lambda job: process_job(job, settings, context.get_remaining_time_in_millis)
    )
    return {"records": len(outcomes), "pages": outcomes}
