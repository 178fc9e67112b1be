"""What the benchmark pushes, made from one pool of random bytes drawn once.

Large blobs are never held in memory: they are streamed as 1 MiB pieces cut from the
pool, each stamped with its blob's seed and index so every piece (and every blob) is
distinct and the client spends its time on I/O, not on making data.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from functools import cached_property

from bench.plan import MiB, Plan

PIECE = MiB
_POOL = os.urandom(4 * MiB)
_STAMP = 16


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def piece(seed: int, index: int, size: int = PIECE) -> bytes:
    """Deterministic pseudo-random bytes: a slice of the pool plus a unique stamp."""
    start = (index * 7919 + seed * 104_729) % (len(_POOL) - size)
    stamp = seed.to_bytes(8, "big") + index.to_bytes(8, "big")
    return _POOL[start : start + size - _STAMP] + stamp


class BigBlob:
    """A blob of whole MiB pieces, streamed on demand; its digest is computed once."""

    def __init__(self, size: int, seed: int) -> None:
        if size % PIECE:
            raise ValueError("big blobs are whole MiB")
        self.size, self.seed = size, seed

    def pieces(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes [start, end) as 1 MiB pieces; start and end fall on piece borders."""
        end = self.size if end is None else end
        for index in range(start // PIECE, end // PIECE):
            yield piece(self.seed, index)

    @cached_property
    def digest(self) -> str:
        hasher = hashlib.sha256()
        for chunk in self.pieces():
            hasher.update(chunk)
        return "sha256:" + hasher.hexdigest()


class Content:
    """Everything a run pushes, built once and shared by both servers."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._big: dict[int, BigBlob] = {}

    def big(self, seed: int) -> BigBlob:
        if seed not in self._big:
            self._big[seed] = BigBlob(self.plan.blob_bytes, seed)
        return self._big[seed]

    @cached_property
    def image_layers(self) -> list[list[tuple[bytes, str]]]:
        """Per image, its layers as (bytes, digest): hashed here, before any clock starts."""
        size = self.plan.layer_bytes
        images = []
        for image in range(self.plan.images):
            layers = []
            for layer in range(self.plan.layers):
                data = piece(1_000_000 + image, layer, size)
                layers.append((data, sha256(data)))
            images.append(layers)
        return images

    @cached_property
    def mount_blobs(self) -> list[tuple[bytes, str]]:
        """Many small distinct blobs (1 KiB), the sources of the mount workload."""
        blobs = [piece(2_000_000, i, 1024) for i in range(self.plan.mounts)]
        return [(data, sha256(data)) for data in blobs]
