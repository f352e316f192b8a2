"""Search function (API Gateway HTTP API, payload 2.0): an adapter from the request event to lib.search.api.

The path is ``rawPath`` as sent, less the stage prefix a named stage puts in
front of it (the ``$default`` stage has none); ids and links start with the
``PUBLIC_BASE_URL`` setting, else with the API's own URL, taken from the
request (``requestContext.domainName`` and the stage).
"""

from __future__ import annotations

import json
from typing import Any

from lib.observability import logger
from lib.search.api import Request, Response, error, handle
from lib.settings import Settings

DEFAULT_STAGE = "$default"


def request_of(event: dict[str, Any], public_base_url: str = "") -> Request:
    """The API request an HTTP API (payload 2.0) event carries."""
    context = event.get("requestContext") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    stage = context.get("stage") or DEFAULT_STAGE
    prefix = "" if stage == DEFAULT_STAGE else f"/{stage}"
    path = event.get("rawPath") or (context.get("http") or {}).get("path") or "/"
    if prefix and (path == prefix or path.startswith(f"{prefix}/")):
        path = path[len(prefix) :] or "/"
    host = context.get("domainName") or headers.get("host", "localhost")
    base = public_base_url or f"{headers.get('x-forwarded-proto', 'https')}://{host}{prefix}"
    return Request(
        method=((context.get("http") or {}).get("method") or "GET").upper(),
        path=path,
        query=event.get("rawQueryString") or "",
        base_url=base,
        accept=headers.get("accept", ""),
    )


def response_of(response: Response) -> dict[str, Any]:
    """The payload 2.0 response: compact JSON, or a web page's text (never base64: they are all UTF-8)."""
    if response.raw is not None:
        body = response.raw.decode("utf-8")
    else:
        body = json.dumps(response.body, ensure_ascii=False, separators=(",", ":"))
    return {"statusCode": response.status, "headers": response.headers, "body": body, "isBase64Encoded": False}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        settings = Settings.from_env()
        answer = handle(request_of(event if isinstance(event, dict) else {}, settings.public_base_url), settings)
    except Exception:  # a bug or a bad setting: the caller still gets JSON it may read (CORS), the log the trace
        logger.exception("search request failed")
        answer = error(500, "internal error")
    return response_of(answer)
