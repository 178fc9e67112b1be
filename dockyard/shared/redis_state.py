"""The replicas' shared state in Redis: an optimisation, never a requirement.

* The credentials epoch (``auth_state.epoch``) is mirrored under ``<prefix>auth:epoch``:
  a bump is written there right after its commit, so the per-request check is a Redis
  GET instead of a database read. The key expires after ``EPOCH_TTL_SECONDS``, and a
  write only ever raises it (a Lua max), so a write lost between the commit and Redis,
  or a reader that read the database just before a bump, is wrong for at most that long.
* Rule caches (tag protection, pull policies) compare a generation counter
  ``<prefix>gen:<name>`` that every change increments: a change on any replica
  invalidates every replica's cache at once, not after their 5 s lifetime.

Any Redis error is a warning in the log (once per outage) and the answer comes from the
database instead; Redis is then left alone for ``RETRY_SECONDS`` so a dead server costs
no request a connection timeout. Requests never fail because of Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("dockyard.shared")
T = TypeVar("T")
EPOCH_TTL_SECONDS = 2.0
RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 0.5

# Raise the key to ARGV[1] (never lower it), expiring after ARGV[2] ms; the value kept.
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]))
local new = tonumber(ARGV[1])
if current == nil or new > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return new
end
return current
"""


class RedisState:
    def __init__(self, url: str, prefix: str = "dockyard:") -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),  # a failure falls back to the database at once
            health_check_interval=30,
        )
        self._raise = self._client.register_script(_RAISE)
        self._epoch_key = f"{prefix}auth:epoch"
        self._prefix = prefix
        self._where = _safe(url)
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down = False

    def _try(self, work: Callable[[], T]) -> T | None:
        """``work()``, or None when Redis failed (or failed lately)."""
        if self._down and time.monotonic() < self._down_until:
            return None
        try:
            result = work()
        except (redis.RedisError, OSError) as error:
            with self._lock:
                if not self._down:
                    log.warning(
                        "Redis at %s failed (%s); using the database instead until it answers",
                        self._where,
                        error,
                    )
                self._down = True
                self._down_until = time.monotonic() + RETRY_SECONDS
            return None
        if self._down:
            with self._lock:
                if self._down:
                    log.warning("Redis at %s answers again; sharing caches through it", self._where)
                self._down = False
        return result

    def epoch(self, read: Callable[[], int]) -> int:
        found = self._try(lambda: self._client.get(self._epoch_key))
        if found is not None:
            return int(found)
        value = read()
        if not self._down:
            self._try(lambda: self._raise_epoch(value))
        return value

    def _raise_epoch(self, value: int) -> object:
        return self._raise(keys=[self._epoch_key], args=[value, int(EPOCH_TTL_SECONDS * 1000)])

    def generation(self, name: str) -> int | None:
        found = self._try(lambda: self._client.get(f"{self._prefix}gen:{name}"))
        if found is None:
            return None if self._down else 0
        return int(found)

    def changed(self, changes: dict[str, int | None]) -> None:
        for name, value in changes.items():
            if name == "auth_epoch":  # db.queries.sessions.AUTH_EPOCH
                if value is not None:
                    self._try(lambda v=value: self._raise_epoch(v))
            else:
                self._try(lambda n=name: self._client.incr(f"{self._prefix}gen:{n}"))

    def close(self) -> None:
        self._client.close()


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest
