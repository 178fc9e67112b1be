"""Sync calls to S3 over one aiobotocore client living on the driver's loop thread.

Every failure that means "S3 is not there for us" (no connection, timeouts, 5xx,
refused credentials, a missing bucket) becomes StorageUnavailable with a sentence
that says what to check; "no such key" is left to the caller. aiohttp opens new
connections as needed, so when S3 comes back the next call simply works.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from dockyard.storage.base import StorageUnavailable
from dockyard.storage.s3.loop import LoopThread

T = TypeVar("T")
READ_CHUNK = 4 * 1024 * 1024
MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchUpload"}
REFUSED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}


@dataclass(frozen=True)
class Target:
    """Where and as whom to talk to S3 (empty key: botocore's default credential chain)."""

    endpoint: str
    bucket: str
    region: str
    access_key: str = ""
    secret_key: str = ""


def is_missing(error: BaseException) -> bool:
    return isinstance(error, ClientError) and _code(error) in MISSING


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3:
    """The handful of S3 calls the driver needs, each one blocking its caller."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.bucket = target.bucket
        self._loop = LoopThread("dockyard-s3")
        self._client: Any = None
        self._client_pid = 0

    def _where(self) -> str:
        return self.target.endpoint or f"AWS S3 ({self.target.region})"

    async def _connect(self) -> Any:
        if self._client is None or self._client_pid != os.getpid():
            config = AioConfig(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                connect_timeout=3,
                read_timeout=60,
                retries={"max_attempts": 2, "mode": "standard"},
                max_pool_connections=64,
                # Plain Content-MD5-less requests: many S3-compatible servers do not
                # understand the newer streaming checksum trailers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            creator = get_session().create_client(
                "s3",
                region_name=self.target.region or "us-east-1",
                endpoint_url=self.target.endpoint or None,
                aws_access_key_id=self.target.access_key or None,
                aws_secret_access_key=self.target.secret_key or None,
                config=config,
            )
            self._client = await creator.__aenter__()  # lives as long as the loop
            self._client_pid = os.getpid()
        return self._client

    def call(self, operation: str, /, **params: Any) -> Any:
        """One S3 operation (``get_object``, ``put_object``, ...) with the bucket filled in."""

        async def go() -> Any:
            client = await self._connect()
            return await getattr(client, operation)(Bucket=self.bucket, **params)

        return self.run(go)

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run an async step on the loop, translating outages into StorageUnavailable."""

        async def wrapped() -> T:
            return await make()

        try:
            return self._loop.run(wrapped())
        except ClientError as error:
            if is_missing(error):
                raise
            raise self._unavailable(error) from None
        except NoCredentialsError:
            raise StorageUnavailable(
                "no S3 credentials: set s3_access_key and s3_secret_key, or provide "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials"
            ) from None
        except (TimeoutError, BotoCoreError, aiohttp.ClientError, OSError) as error:
            raise StorageUnavailable(
                f"S3 at {self._where()} is unreachable ({error}); check that it runs and "
                "that s3_endpoint points at it"
            ) from None

    def _unavailable(self, error: ClientError) -> StorageUnavailable:
        code = _code(error)
        if code in REFUSED:
            return StorageUnavailable(
                f"S3 at {self._where()} refused our credentials ({code}); check "
                "s3_access_key and s3_secret_key and the bucket's permissions"
            )
        if code == "NoSuchBucket":
            return StorageUnavailable(
                f"bucket {self.bucket!r} does not exist at {self._where()}; create it or "
                "fix s3_bucket"
            )
        return StorageUnavailable(f"S3 at {self._where()} failed: {code or error}")

    def stream(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """GET ``key`` (or a byte range) and stream it in chunks of at most READ_CHUNK.

        The GET happens before the first ``next``: a missing key raises at once, while
        the caller can still answer with an error status.
        """
        params: dict[str, Any] = {"Key": key}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            params["Range"] = f"bytes={start}-{end}"
        body = self.call("get_object", **params)["Body"]
        return self._chunks(body)

    def _chunks(self, body: Any) -> Iterator[bytes]:
        try:
            while True:
                chunk = self.run(lambda: _fill(body))
                if not chunk:
                    return
                yield chunk
        finally:  # a reader that stops early must not leak the connection
            with contextlib.suppress(Exception):
                body.close()

    def list(self, prefix: str, delimiter: str = "") -> Iterator[dict[str, Any]]:
        """Every page of a listing under ``prefix``, fetched lazily (1000 keys a page)."""
        params: dict[str, Any] = {"Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        while True:
            page = self.call("list_objects_v2", **params)
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token

    def keys(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, size) of every object under ``prefix``, in key order."""
        for page in self.list(prefix):
            for entry in page.get("Contents", []):
                yield entry["Key"], int(entry["Size"])

    def delete_many(self, keys: list[str]) -> None:
        """DeleteObjects in batches of 1000 (S3's cap); missing keys are fine."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            answer = self.call("delete_objects", Delete={"Objects": batch, "Quiet": True})
            failed = [e for e in answer.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if failed:
                raise StorageUnavailable(f"S3 did not delete {failed[0].get('Key')}: {failed[0]}")

    def presign(self, key: str, ttl: int) -> str:
        async def sign() -> str:
            client = await self._connect()
            return str(
                await client.generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl
                )
            )

        return self.run(sign)

    def close(self) -> None:
        """Close the connection pool, then the loop (tests; a server keeps one for life)."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                self._loop.run(client.__aexit__(None, None, None))
        self._loop.close()


async def _fill(body: Any) -> bytes:
    """Up to READ_CHUNK bytes of ``body``, fewer only at its end. A socket read returns
    what has arrived (often 64 KiB or less); gathering a whole chunk on the loop costs one
    hop between threads per MiB instead of one per read, and sends fewer, larger pieces."""
    parts = []
    size = 0
    while size < READ_CHUNK:
        data = await body.read(READ_CHUNK - size)
        if not data:
            break
        parts.append(data)
        size += len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)
