"""Turning a session's segments into one blob object, all at once or not at all.

Three ways, cheapest first:

- one segment: CopyObject, server-side;
- every segment but the last at least 5 MiB (S3's minimum part): a multipart upload
  whose parts are UploadPartCopy of the segments, server-side;
- otherwise (small chunks from a chunked push): a multipart upload whose parts are
  re-cut from the segments' bytes, streamed through one part-sized buffer.

CompleteMultipartUpload makes the object appear whole; a failure aborts the upload,
so no partial blob is ever visible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dockyard.storage.base import StorageUnavailable
from dockyard.storage.s3.client import S3
from dockyard.storage.s3.segments import Segment

MIN_PART = 5 * 1024 * 1024  # S3: every part but the last
MAX_COPY = 5 * 1024**3  # S3: largest CopyObject source and largest part
COPY_RANGE = 1024**3  # a blob larger than MAX_COPY is copied in ranges of this size


def assemble(s3: S3, segments: list[Segment], target: str, part_size: int) -> str:
    """Write ``target`` from ``segments``; which path was taken (for tests and logs)."""
    if not segments:
        s3.call("put_object", Key=target, Body=b"")
        return "empty"
    if len(segments) == 1 and segments[0].size <= MAX_COPY:
        source = {"Bucket": s3.bucket, "Key": segments[0].key}
        s3.call("copy_object", Key=target, CopySource=source)
        return "copy"
    if len(segments) == 1:  # a whole blob over 5 GiB (detach): ranged part copies
        _multipart(s3, target, lambda upload: _copy_ranges(s3, target, upload, segments[0]))
        return "range-copy"
    if all(MIN_PART <= s.size <= MAX_COPY for s in segments[:-1]):
        _multipart(s3, target, lambda upload: _copy_parts(s3, target, upload, segments))
        return "part-copy"
    _multipart(s3, target, lambda upload: _rewrite_parts(s3, target, upload, segments, part_size))
    return "rewrite"


def _multipart(s3: S3, target: str, send_parts: object) -> None:
    upload = s3.call("create_multipart_upload", Key=target)["UploadId"]
    try:
        parts = send_parts(upload)  # type: ignore[operator]
        s3.call(
            "complete_multipart_upload",
            Key=target,
            UploadId=upload,
            MultipartUpload={"Parts": parts},
        )
    except BaseException:
        with contextlib.suppress(Exception, StorageUnavailable):
            s3.call("abort_multipart_upload", Key=target, UploadId=upload)
        raise


def _copy_parts(s3: S3, target: str, upload: str, segments: list[Segment]) -> list[dict]:
    parts = []
    for number, segment in enumerate(segments, start=1):
        answer = s3.call(
            "upload_part_copy",
            Key=target,
            UploadId=upload,
            PartNumber=number,
            CopySource={"Bucket": s3.bucket, "Key": segment.key},
        )
        parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
    return parts


def _copy_ranges(s3: S3, target: str, upload: str, segment: Segment) -> list[dict]:
    parts = []
    for number, start in enumerate(range(0, segment.size, COPY_RANGE), start=1):
        end = min(start + COPY_RANGE, segment.size) - 1
        answer = s3.call(
            "upload_part_copy",
            Key=target,
            UploadId=upload,
            PartNumber=number,
            CopySource={"Bucket": s3.bucket, "Key": segment.key},
            CopySourceRange=f"bytes={start}-{end}",
        )
        parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
    return parts


def _rewrite_parts(
    s3: S3, target: str, upload: str, segments: list[Segment], part_size: int
) -> list[dict]:
    parts: list[dict] = []

    def send(data: bytes) -> None:
        number = len(parts) + 1
        answer = s3.call("upload_part", Key=target, UploadId=upload, PartNumber=number, Body=data)
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    buffer = bytearray()
    for chunk in _bytes_of(s3, segments):
        buffer += chunk
        if len(buffer) >= part_size:
            send(bytes(buffer[:part_size]))
            del buffer[:part_size]
    if buffer or not parts:
        send(bytes(buffer))
    return parts


def _bytes_of(s3: S3, segments: list[Segment]) -> Iterator[bytes]:
    for segment in segments:
        if segment.size:
            yield from s3.stream(segment.key)
