"""Where the CLI's commands find the buckets, OpenSearch and the failed-event queues.

The environment first (so the same commands work against AWS and a real
OpenSearch), then the running local stack. An endpoint in the environment
that an earlier ``pagesearch up`` started (its exports still in the shell
after the stack was restarted or stopped) is not used: it answers no more.
"""

from __future__ import annotations

import os
import sys

from lib.failed_events import FailedQueue
from pagesearch import stack as local

ENDPOINTS = ("AWS_ENDPOINT_URL", "OPENSEARCH_URL")
NAMES = (*ENDPOINTS, "PAGES_BUCKET", "RESULTS_BUCKET", "OPENSEARCH_INDEX", "FAILED_EVENTS_QUEUE")


def load() -> dict[str, str]:
    """The settings every command uses, also exported to this process (boto3 and lib read them there)."""
    current = local.running()
    config = current.env() if current else {}
    for name in NAMES:
        value = os.environ.get(name)
        if not value:
            continue
        if name in ENDPOINTS and local.ours(value) and value != config.get(name):
            state = "the running one uses another" if current else "it is stopped"
            print(
                f"pagesearch: ignoring {name}={value}: an earlier local stack started it and {state}", file=sys.stderr
            )
            continue
        config[name] = value
    if current is None and not any(config.get(name) for name in ENDPOINTS):
        raise local.StackError("no local stack is running and no endpoints are set: run `pagesearch up` first")
    config.setdefault("PAGES_BUCKET", local.DEFAULT_PAGES_BUCKET)
    config.setdefault("RESULTS_BUCKET", local.DEFAULT_RESULTS_BUCKET)
    config.setdefault("OPENSEARCH_INDEX", local.DEFAULT_INDEX)
    os.environ.update(config)
    for name in ENDPOINTS:
        if name not in config:
            os.environ.pop(name, None)  # a stale one must not reach boto3 or the client either
    return config


def failed_event_queues(config: dict[str, str]) -> list[FailedQueue]:
    """FAILED_EVENTS_QUEUE (the stack's on-failure queue on AWS), else the local stack's dead-letter queues."""
    if config.get("FAILED_EVENTS_QUEUE"):
        return [FailedQueue(config["FAILED_EVENTS_QUEUE"])]
    current = local.running()
    return current.failed_event_queues() if current else []
