"""S3: the one adapter both functions use to read and write objects.

Retries are botocore's ``standard`` mode (exponential backoff with jitter on
throttling and transient errors), configured here once. Errors a retry may
cure propagate, so that Lambda retries the invocation.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=60)
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class ObjectMissing(LookupError):
    """The object is not there (deleted before we read it)."""


class WriteConflict(RuntimeError):
    """A conditional write lost a race: someone wrote the object meanwhile."""


class ObjectTooLarge(ValueError):
    """The object is larger than we accept for its kind."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str
    version_id: str | None
    size: int
    last_modified: str
    metadata: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _client_config() -> Config:
    """RETRY_CONFIG, and what presigned URLs need to open in a browser on AWS.

    botocore still presigns with SigV2 unless told otherwise, and S3 refuses
    SigV2 on every bucket created after June 2020: ``s3v4``. It also presigns
    for the global host (``BUCKET.s3.amazonaws.com``) in every region, which
    answers a young bucket of another region with a redirect whose host no
    longer matches the signed one: virtual-hosted style on the region's own
    host. A local endpoint (moto) keeps botocore's choice, path style.
    """
    local = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    addressing = {} if local else {"s3": {"addressing_style": "virtual"}}
    return RETRY_CONFIG.merge(Config(signature_version="s3v4", **addressing))


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """One client per container; honours AWS_ENDPOINT_URL(_S3) for local stacks."""
    return boto3.client("s3", config=_client_config())


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def encode_metadata(values: dict[str, str | None]) -> dict[str, str]:
    """S3 user metadata must be ASCII: keys and times are percent-encoded, but for the marks that people read
    and type themselves (``deu+eng``, ``2026-11-25T09:00:00.000Z``): those stay as they are."""
    return {k: quote(v, safe="+:,") for k, v in values.items() if v is not None}


def decode_metadata(values: dict[str, str]) -> dict[str, str]:
    return {k: unquote(v) for k, v in values.items()}


def _stored(key: str, response: dict[str, Any], body: bytes = b"") -> StoredObject:
    return StoredObject(
        key=key,
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=response.get("VersionId"),
        size=int(response.get("ContentLength", len(body))),
        last_modified=response["LastModified"].isoformat() if response.get("LastModified") else "",
        metadata=decode_metadata(response.get("Metadata", {})),
        body=body,
    )


def head(bucket: str, key: str) -> StoredObject | None:
    try:
        return _stored(key, s3_client().head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise


def _opened(bucket: str, key: str, *, max_bytes: int, version_id: str | None) -> dict[str, Any]:
    """The GetObject response, its body not yet read: ObjectMissing if gone, ObjectTooLarge past ``max_bytes``."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        response = s3_client().get_object(**kwargs)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from None
        raise
    length = int(response.get("ContentLength") or 0)
    if length > max_bytes:
        response["Body"].close()
        raise ObjectTooLarge(f"s3://{bucket}/{key} is {length} bytes, over the limit of {max_bytes}")
    return response


def get(bucket: str, key: str, *, max_bytes: int, version_id: str | None = None) -> StoredObject:
    """The object's bytes; ObjectMissing if it is gone, ObjectTooLarge past ``max_bytes``."""
    response = _opened(bucket, key, max_bytes=max_bytes, version_id=version_id)
    return _stored(key, response, response["Body"].read())


def download(bucket: str, key: str, path: str, *, max_bytes: int, version_id: str | None = None) -> StoredObject:
    """Stream the object (that version, when given) into the file ``path``: a whole book need not fit in memory.

    ObjectMissing if it is gone, ObjectTooLarge past ``max_bytes`` (checked before any byte is read).
    """
    response = _opened(bucket, key, max_bytes=max_bytes, version_id=version_id if version_id != "null" else None)
    with open(path, "wb") as out:
        for chunk in response["Body"].iter_chunks(chunk_size=1024 * 1024):
            out.write(chunk)
    return _stored(key, response)


def put_json(
    bucket: str,
    key: str,
    document: Any,
    *,
    metadata: dict[str, str | None] | None = None,
    if_match: str | None = None,
    if_absent: bool = False,
) -> str:
    """Write a JSON document; with ``if_match``/``if_absent`` the write is conditional.

    Returns the new ETag. Raises WriteConflict when the condition fails.
    """
    kwargs: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
        "ContentType": "application/json",
        "Metadata": encode_metadata(metadata or {}),
    }
    if if_match:
        kwargs["IfMatch"] = f'"{if_match}"'
    elif if_absent:
        kwargs["IfNoneMatch"] = "*"
    try:
        response = s3_client().put_object(**kwargs)
    except ClientError as exc:
        if _code(exc) in _CONFLICT:
            raise WriteConflict(f"s3://{bucket}/{key} changed while we wrote it") from None
        raise
    return str(response.get("ETag", "")).strip('"')


def put_file(
    bucket: str, key: str, body: Any, *, content_type: str | None = None, metadata: dict[str, str | None] | None = None
) -> str:
    """Upload bytes or a binary file object as they are; returns the new ETag."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
    if content_type:
        kwargs["ContentType"] = content_type
    if metadata:
        kwargs["Metadata"] = encode_metadata(metadata)
    return str(s3_client().put_object(**kwargs).get("ETag", "")).strip('"')


# What a copy with MetadataDirective=REPLACE would otherwise reset.
_KEPT_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl", "Expires")


def touch(bucket: str, key: str, metadata: dict[str, str | None], *, if_match: str | None = None) -> None:
    """Copy the object onto itself with ``metadata`` merged into its own: S3 announces it again.

    The bytes (so the ETag), the other user metadata and the content headers
    stay; S3 emits a fresh ``ObjectCreated:Copy`` event for the object.
    ObjectMissing when it is gone; WriteConflict when ``if_match`` is given
    and the object is no longer that ETag.
    """
    s3 = s3_client()
    try:
        current = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from None
        raise
    headers = {name: current[name] for name in _KEPT_HEADERS if current.get(name)}
    source: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if current.get("VersionId") and current["VersionId"] != "null":
        source["VersionId"] = current["VersionId"]
    if if_match:
        headers["CopySourceIfMatch"] = f'"{if_match}"'
    try:
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource=source,
            MetadataDirective="REPLACE",
            Metadata={**current.get("Metadata", {}), **encode_metadata(metadata)},
            **headers,
        )
    except ClientError as exc:
        if _code(exc) in _CONFLICT:
            raise WriteConflict(f"s3://{bucket}/{key} changed before it was announced again") from None
        if _code(exc) in _MISSING:
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from None
        raise


def now_iso() -> str:
    """The time as this module writes it into metadata and records: ISO 8601 with milliseconds, UTC."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def presigned_url(bucket: str, key: str, *, expires: int = 3600) -> str:
    """A URL that GETs the object for ``expires`` seconds, signed locally (no request): buckets stay private.

    SigV4 (``_client_config``). Signed with the function's role, the URL also
    ends when the role's session does, if that comes first.
    """
    return str(
        s3_client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
    )


def delete(bucket: str, key: str) -> None:
    s3_client().delete_object(Bucket=bucket, Key=key)


def list_objects(bucket: str, prefix: str = "") -> list[StoredObject]:
    """Every object under ``prefix``: key, ETag, size and time (no metadata, no body)."""
    found: list[StoredObject] = []
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found.append(
                StoredObject(
                    key=item["Key"],
                    etag=str(item.get("ETag", "")).strip('"'),
                    version_id=None,
                    size=int(item.get("Size", 0)),
                    last_modified=item["LastModified"].isoformat() if item.get("LastModified") else "",
                )
            )
    return found


def list_keys(bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys
