"""The ``webhook`` job kind: send one delivery, log the attempt, retry on a schedule.

Deliveries are jobs of the one queue rather than an outbox of their own: the queue
already gives leases (a worker killed mid-send leaves the job to be retried), a
retry schedule, and one loop for every kind of background work. A delivery's id is its
job's dedupe key, and the X-Dockyard-Delivery header, the same on every attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.db.engine import Database
from dockyard.db.queries import hooks
from dockyard.webhooks.envelope import render
from dockyard.webhooks.sender import Sender
from dockyard.workers.jobs import Retry

KIND = hooks.KIND
# Ten attempts over about a day: the first after the event, then these waits (seconds).
RETRY_DELAYS = (10, 30, 120, 300, 900, 1800, 3600, 4 * 3600, 16 * 3600)


class DeliveryFailed(Retry):
    """The receiver did not answer 2xx; the queue retries after the next delay."""


def retry_delay(attempts: int, delays: tuple[float, ...] = RETRY_DELAYS) -> float:
    return delays[min(attempts, len(delays)) - 1]


class WebhookJobs:
    def __init__(self, db: Database, sender: Sender) -> None:
        self.db = db
        self.sender = sender

    def run(self, payload: dict[str, Any]) -> Callable[[Any], None] | None:
        """Send once. A success is recorded in the transaction that ends the job (one
        commit fewer per delivery); a failure is recorded before the queue retries."""
        delivery_id = payload["delivery"]
        with self.db.session() as conn:
            target = hooks.target(conn, delivery_id)
        if target is None or target.delivery.state != "queued":
            return None  # the hook was deleted, or a lost lease already finished it
        if not target.enabled:
            with self.db.session(write=True) as conn:
                hooks.drop(conn, delivery_id, "the hook was disabled before it was sent")
            return None
        delivery = target.delivery
        body, content_type = render(target.format, delivery.id, delivery.body)
        attempt = self.sender.send(
            target.url, target.secret, delivery.id, delivery.event, body, content_type
        )
        if attempt.ok:
            return lambda conn: hooks.record(conn, delivery_id, attempt)
        with self.db.session(write=True) as conn:
            hooks.record(conn, delivery_id, attempt)
        raise DeliveryFailed(attempt.error or "failed")

    def give_up(self, payload: dict[str, Any], error: str) -> None:
        with self.db.session(write=True) as conn:
            hooks.give_up(conn, payload["delivery"], error)
