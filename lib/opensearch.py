"""The OpenSearch client: any OpenSearch at OPENSEARCH_URL, SigV4-signed when it is an AWS domain.

opensearch-py retries connection errors, timeouts and 429/502/503/504 with its
own backoff; the signer is its built-in ``Urllib3AWSV4SignerAuth`` over the
function's role credentials, so no extra HTTP library ships in the artifact.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import boto3
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth

RETRY_ON_STATUS = (429, 502, 503, 504)
# https://search-NAME-ID.REGION.es.amazonaws.com, and OpenSearch Serverless (aoss).
_AWS_HOST = re.compile(r"\.(?P<region>[a-z0-9-]+)\.(?P<service>es|aoss)\.amazonaws\.com$")


def aws_signing(url: str) -> tuple[str, str] | None:
    """(region, service) when the endpoint is an AWS-managed domain, else None."""
    match = _AWS_HOST.search(urlsplit(url).hostname or "")
    return (match["region"], match["service"]) if match else None


@lru_cache(maxsize=4)
def client(url: str, *, timeout: int = 30, max_retries: int = 3) -> Any:
    """One client (and connection pool) per endpoint and container."""
    kwargs: dict[str, Any] = {
        "hosts": [url],
        "timeout": timeout,
        "max_retries": max_retries,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_ON_STATUS,
        "http_compress": True,
    }
    signing = aws_signing(url)
    if signing:
        region, service = signing
        credentials = boto3.Session().get_credentials()
        kwargs.update(
            http_auth=Urllib3AWSV4SignerAuth(credentials, os.environ.get("AWS_REGION", region), service),
            use_ssl=True,
            verify_certs=True,
        )
    return OpenSearch(**kwargs)
