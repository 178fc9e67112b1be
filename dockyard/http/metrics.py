"""Prometheus metrics: what each request does (counted by the request-log middleware)
and what the database says at scrape time (storage used, queues).

Under ``dockyard serve`` the workers write their samples to the folder in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and the
supervisor process answers ``/metrics`` on ``metrics_listen``, adding them up; so
the numbers are right with any number of Granian workers and a scrape never waits
for a busy worker. In tests (one process) the same registry reads this process's
samples directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries.stats import registry_stats

log = logging.getLogger("dockyard.metrics")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Registry requests range from sub-millisecond HEADs to multi-minute layer uploads.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

REQUESTS = Counter(
    "dockyard_http_requests",
    "HTTP requests answered, by route template (never the raw path), method and status.",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "dockyard_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ["route", "method"],
    buckets=BUCKETS,
)
PUSHED = Counter(
    "dockyard_registry_bytes_pushed",
    "Request body bytes received on /v2 (blob upload chunks and manifests).",
)
PULLED = Counter(
    "dockyard_registry_bytes_pulled",
    "Response body bytes of blobs and manifests sent by /v2 GET requests.",
)
POOL_IN_USE = Gauge(
    "dockyard_db_pool_connections_in_use",
    "Database connections checked out of the pools (sum over workers, sampled each second).",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "dockyard_db_pool_connections_max",
    "Database connections the pools may hold (sum over workers).",
    multiprocess_mode="livesum",
)

_PULL_ROUTES = ("/v2/{name}/blobs/{digest}", "/v2/{name}/manifests/{reference}")
_last_pool_sample = 0.0


def route_template(scope: dict, root_path: str = "") -> str:
    """The template of the route that answered (``/v2/{name}/blobs/{digest}``), so the
    label set stays small whatever paths clients send; ``unmatched`` for 404s."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if template is None:
        return "unmatched"
    mounted = scope.get("root_path", "")[len(root_path) :]
    return mounted + template


_children: dict[tuple[str, str, int], tuple] = {}  # labels() validates and locks: once per set


def observe(route: str, method: str, status: int, seconds: float, received: int, sent: int) -> None:
    method = method if method in METHODS else "other"
    children = _children.get((route, method, status))
    if children is None:  # route templates and statuses are few: this stays small
        children = (REQUESTS.labels(route, method, str(status)), DURATION.labels(route, method))
        _children[(route, method, status)] = children
    children[0].inc()
    children[1].observe(seconds)
    if received:
        PUSHED.inc(received)
    if sent and method == "GET" and route in _PULL_ROUTES and status < 300:
        PULLED.inc(sent)


def sample_pool(db: Database) -> None:
    """Record pool use at most once a second: cheap enough for every request."""
    global _last_pool_sample
    now = time.monotonic()
    if now - _last_pool_sample < 1.0:
        return
    _last_pool_sample = now
    in_use, capacity = db.pool_usage()
    POOL_IN_USE.set(in_use)
    POOL_CAPACITY.set(capacity)


class RegistryStatsCollector(Collector):
    """Gauges read from the database at scrape time (a few aggregate queries)."""

    def __init__(self, db: Database, upload_ttl: timedelta) -> None:
        self.db = db
        self.upload_ttl = upload_ttl

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "dockyard_stats_up", "1 when the database answered the scrape's queries."
        )
        try:
            with self.db.session() as conn:
                stats = registry_stats(conn, self.upload_ttl)
        except Exception as error:  # a scrape must answer even when the database does not
            log.warning("metrics: database statistics unavailable: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "dockyard_storage_used_bytes",
            "Bytes of verified blobs in storage, each counted once.",
            value=stats.storage_bytes,
        )
        yield GaugeMetricFamily(
            "dockyard_blobs_stored", "Verified blobs in storage.", value=stats.blobs
        )
        yield GaugeMetricFamily(
            "dockyard_uploads_in_progress",
            "Open upload sessions active within upload_ttl_seconds.",
            value=stats.uploads_open,
        )
        queues = GaugeMetricFamily(
            "dockyard_background_queue_depth",
            "Work waiting for the background loops.",
            labels=["queue"],
        )
        queues.add_metric(["repository_deletions"], stats.deletions_pending)
        queues.add_metric(["idle_upload_sessions"], stats.uploads_idle)
        yield queues


class _ThisProcess(Collector):
    """This process's own metrics (single-process mode: tests, ``create_app`` users)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry(
    db: Database, settings: Settings, multiprocess_dir: str | None = None
) -> CollectorRegistry:
    """What /metrics shows: every worker's samples (or this process's) plus the DB gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_ThisProcess())
    registry.register(RegistryStatsCollector(db, timedelta(seconds=settings.upload_ttl_seconds)))
    return registry


def serve_metrics(settings: Settings, multiprocess_dir: str) -> None:
    """Answer GET /metrics on ``metrics_listen`` from a daemon thread of this process."""
    host, _, port = settings.metrics_listen.rpartition(":")
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    registry = scrape_registry(db, settings, multiprocess_dir)
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry)
