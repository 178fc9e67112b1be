"""Webhook deliveries end to end: a real receiver on 127.0.0.1, signed bodies, retries,
a receiver that is down, restarts mid-retry, transactions that roll back, and the SSRF
check at delivery time; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dockyard.db.queries import hooks as hook_rows
from dockyard.db.queries import jobs
from dockyard.webhooks import outbox
from dockyard.webhooks.envelope import DISTRIBUTION_TYPE
from dockyard.webhooks.events import Event, Origin
from dockyard.webhooks.sender import Sender
from dockyard.webhooks.signature import verify
from dockyard.webhooks.ssrf import AllowList
from tests.api.helpers import auth
from tests.api.hook_helpers import add_hook, deliveries, hooks_url, push, queued_count, worker
from tests.support.auth_registry import AuthRegistry
from tests.support.receiver import receiver

SECRET = "s3cret-for-tests"


@pytest.fixture(scope="module")
def hooked(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(
        backend, webhook_allowed_hosts="127.0.0.1,localhost", public_url="https://reg.example"
    )


def test_a_push_arrives_signed_with_its_payload(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        hook = add_hook(hooked, project, rx.url)
        digest = push(hooked, project, "app", "v1")
        assert rx.received == []  # nothing is sent in the request
        assert worker(hooked).drain() == 1
    [got] = rx.received
    assert got.headers["x-dockyard-event"] == "push"
    assert got.headers["content-type"] == "application/json"
    assert verify(SECRET, got.body, got.headers["x-dockyard-signature"])
    assert not verify("another secret", got.body, got.headers["x-dockyard-signature"])
    assert not verify(SECRET, got.body + b" ", got.headers["x-dockyard-signature"])
    payload = json.loads(got.body)
    assert payload["event"] == "push" and payload["tag"] == "v1"
    assert payload["project"] == project and payload["repository"] == f"{project}/app"
    assert payload["digest"] == digest
    assert payload["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert payload["size"] > 0 and payload["time"].endswith("Z")
    assert payload["actor"] == {"name": "admin", "kind": "personal"}
    assert payload["pull"] == f"reg.example/{project}/app@{digest}"
    [logged] = deliveries(hooked, project, hook["id"])
    assert logged["id"] == got.headers["x-dockyard-delivery"]
    assert logged["state"] == "delivered" and logged["status_code"] == 200


def test_a_500_is_retried_with_the_same_delivery_id(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        rx.statuses = [500, 503]
        hook = add_hook(hooked, project, rx.url)
        push(hooked, project)
        worker(hooked).drain()
    assert len(rx.received) == 3
    assert len({r.headers["x-dockyard-delivery"] for r in rx.received}) == 1
    assert len({r.body for r in rx.received}) == 1
    [logged] = deliveries(hooked, project, hook["id"])
    assert logged["state"] == "delivered" and logged["attempt"] == 3
    shown = hooked.client.get(hooks_url(project, f"/{hook['id']}"), headers=auth(hooked.admin_pat))
    assert shown.json()["consecutive_failures"] == 0 and shown.json()["failing"] is False


def test_the_retry_waits_follow_the_schedule(hooked: AuthRegistry) -> None:
    """The real schedule: a failed first attempt waits 10 s before the second."""
    from dockyard.workers.webhook_job import RETRY_DELAYS, retry_delay

    assert [retry_delay(n) for n in range(1, 10)] == list(RETRY_DELAYS)
    assert 18 * 3600 < sum(RETRY_DELAYS) < 26 * 3600  # ten attempts over about a day
    project = hooked.new_project()
    with receiver() as rx:
        rx.statuses = [500]
        hook = add_hook(hooked, project, rx.url)
        push(hooked, project)
        real = worker(hooked, retry_delay)
        real.drain()
        assert len(rx.received) == 1  # the retry is not due yet
        [logged] = deliveries(hooked, project, hook["id"])
        assert logged["state"] == "queued" and logged["status_code"] == 500
        assert logged["response_body"] == "receiver says no"
    with hooked.db.session() as conn:
        job = jobs.get(conn, _job_id(hooked, logged["id"]))
    assert job is not None and job.state == "queued" and job.attempts == 1
    waits = (job.run_after - datetime.now(UTC)).total_seconds()
    assert 5 < waits <= RETRY_DELAYS[0]
    hooked.client.delete(hooks_url(project, f"/{hook['id']}"), headers=auth(hooked.admin_pat))


def _job_id(registry: AuthRegistry, delivery_id: str) -> int:
    from sqlalchemy import select

    from dockyard.db.models import Job

    with registry.db.session() as conn:
        return conn.scalar(select(Job.id).where(Job.dedupe_key == f"webhook:{delivery_id}"))


def test_a_down_receiver_never_slows_a_push_and_gets_every_event_later(
    hooked: AuthRegistry,
) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        port = rx.port
    dead = f"http://127.0.0.1:{port}/hook"  # the receiver is gone: connections refused
    hook = add_hook(hooked, project, dead)
    started = time.monotonic()
    for n in range(5):
        push(hooked, project, "app", f"v{n}")
    assert time.monotonic() - started < 5
    assert queued_count(hooked, hook["id"]) == 5
    worker(hooked, lambda _n: 3600.0).drain()  # every first attempt fails
    log = deliveries(hooked, project, hook["id"])
    assert {d["state"] for d in log} == {"queued"} and all("Connect" in d["error"] for d in log)
    with receiver() as rx:  # it comes back (on another port: point the hook at it)
        resp = hooked.client.patch(
            hooks_url(project, f"/{hook['id']}"), json={"url": rx.url},
            headers=auth(hooked.admin_pat),
        )  # fmt: skip
        assert resp.status_code == 200
        _make_due(hooked)
        worker(hooked).drain()
    ids = [r.headers["x-dockyard-delivery"] for r in rx.received]
    assert sorted(ids) == sorted(d["id"] for d in log)  # each exactly once
    assert {json.loads(r.body)["tag"] for r in rx.received} == {f"v{n}" for n in range(5)}


def _make_due(registry: AuthRegistry) -> None:
    from sqlalchemy import update

    from dockyard.db.models import Job

    with registry.db.session(write=True) as conn:
        conn.execute(update(Job).where(Job.state == "queued").values(run_after=datetime.now(UTC)))


def test_a_restart_mid_delivery_loses_nothing(hooked: AuthRegistry) -> None:
    """A worker that dies holding the delivery (its lease runs out) leaves it to the next
    worker, which sends it with the same id."""
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url)
        push(hooked, project)
        with hooked.db.session(write=True) as conn:
            claimed = jobs.claim(conn, "killed-worker", [hook_rows.KIND], lease_seconds=-1)
        assert claimed is not None
        assert worker(hooked).drain() == 1  # a new process after the restart
    [got] = rx.received
    assert got.headers["x-dockyard-delivery"] == claimed.payload["delivery"]


def test_a_rolled_back_change_queues_no_event(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    hook = add_hook(hooked, project, "http://127.0.0.1:9/x", events=["push", "tag_delete"])

    class Boom(Exception):
        pass

    with pytest.raises(Boom), hooked.db.session(write=True) as conn:
        assert outbox.emit(conn, Event("push", f"{project}/app", "v1"), Origin())
        raise Boom
    assert queued_count(hooked, hook["id"]) == 0
    token = hooked.token("admin", hooked.admin_pat, f"repository:{project}/app:pull,push")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [],
    }  # fmt: skip
    resp = hooked.client.put(
        f"/v2/{project}/app/manifests/v1",
        content=json.dumps(manifest),
        headers={**hooked.bearer(token), "Content-Type": manifest["mediaType"]},
    )
    assert resp.status_code == 400  # a refused push: nothing committed, no event
    assert queued_count(hooked, hook["id"]) == 0
    push(hooked, project)
    assert queued_count(hooked, hook["id"]) == 1


def test_deletes_are_events_too(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    events = ["tag_delete", "manifest_delete", "repository_delete"]
    with receiver() as rx:
        add_hook(hooked, project, rx.url, events=events)
        digest = push(hooked, project, "app", "v1")
        push(hooked, project, "app", "v2")
        token = hooked.token("admin", hooked.admin_pat, f"repository:{project}/app:*")
        for ref in ("v2", digest):
            resp = hooked.client.delete(
                f"/v2/{project}/app/manifests/{ref}", headers=hooked.bearer(token)
            )
            assert resp.status_code == 202, resp.text
        repos = hooked.client.get(
            f"/api/v1/projects/{project}/registry/repositories", headers=auth(hooked.admin_pat)
        ).json()
        resp = hooked.client.delete(
            f"/api/v1/registry/repositories/{repos[0]['id']}", headers=auth(hooked.admin_pat)
        )
        assert resp.status_code in (200, 202), resp.text
        worker(hooked).drain()
    got = [json.loads(r.body) for r in rx.received]
    assert [g["event"] for g in got] == events
    assert got[0]["tag"] == "v2" and got[1]["digest"] == digest
    assert got[2]["repository"] == f"{project}/app"


def test_the_address_is_checked_again_at_delivery(hooked: AuthRegistry) -> None:
    """A hook saved while allowed is refused once the setting no longer allows it."""
    project = hooked.new_project()
    with receiver() as rx:
        hook = add_hook(hooked, project, f"http://localhost:{rx.port}/hook")
        push(hooked, project)
        # the same database, a worker whose settings no longer allow loopback
        strict = replace(hooked, settings=replace(hooked.settings, webhook_allowed_hosts=""))
        worker(strict, lambda _n: 3600.0).drain()
        assert rx.received == []
        [logged] = deliveries(hooked, project, hook["id"])
        assert "not a public address" in logged["error"] and logged["status_code"] is None
        _make_due(hooked)
        worker(hooked).drain()  # allowed: sent to the address localhost resolved to
    [got] = rx.received
    assert got.headers["host"] == f"localhost:{rx.port}"


def test_a_hook_that_keeps_failing_is_marked_and_an_edit_clears_it(
    hooked: AuthRegistry,
) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        rx.statuses = [500] * 10
        hook = add_hook(hooked, project, rx.url)
        push(hooked, project, "app", "v1")
        worker(hooked).drain()
        assert len(rx.received) == hook_rows.MAX_ATTEMPTS
        url = hooks_url(project, f"/{hook['id']}")
        shown = hooked.client.get(url, headers=auth(hooked.admin_pat)).json()
        assert shown["failing"] is True and shown["last_error"] == "HTTP 500"
        [logged] = deliveries(hooked, project, hook["id"])
        assert logged["state"] == "failed" and logged["attempt"] == hook_rows.MAX_ATTEMPTS
        push(hooked, project, "app", "v2")  # a failing hook gets no new events
        assert queued_count(hooked, hook["id"]) == 1
        resp = hooked.client.patch(url, json={"enabled": True}, headers=auth(hooked.admin_pat))
        assert resp.json()["failing"] is False
        push(hooked, project, "app", "v3")
        worker(hooked).drain()
    assert json.loads(rx.received[-1].body)["tag"] == "v3"


def test_the_distribution_envelope(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url, format="distribution")
        digest = push(hooked, project, "app", "v1")
        worker(hooked).drain()
    [got] = rx.received
    assert got.headers["content-type"] == DISTRIBUTION_TYPE
    [event] = json.loads(got.body)["events"]
    assert event["id"] == got.headers["x-dockyard-delivery"] and event["action"] == "push"
    assert event["target"]["digest"] == digest and event["target"]["tag"] == "v1"
    assert event["target"]["repository"] == f"{project}/app"


def test_a_slow_receiver_never_slows_pushes(hooked: AuthRegistry) -> None:
    """A delivery is sent outside any transaction: while the worker waits on a receiver
    that takes its time, pushes commit (and queue their own events) at full speed."""
    project = hooked.new_project()
    with receiver() as rx:
        rx.delay = 3.0
        add_hook(hooked, project, rx.url)
        push(hooked, project, "app", "v0")
        sending = threading.Thread(target=worker(hooked).drain)
        sending.start()
        while not rx.received and sending.is_alive():
            time.sleep(0.01)  # the receiver got the request and is sleeping on it
        rx.delay = 0.0  # for the deliveries after this one
        took = []
        for n in range(1, 4):
            started = time.monotonic()
            push(hooked, project, "app", f"v{n}")
            took.append(time.monotonic() - started)
        sending.join(timeout=30)
    # A push held up by the delivery would take the receiver's 3 s; a free one takes
    # milliseconds, or a second or two on a machine busy with other tests.
    assert max(took) < 2.5, took
    assert {json.loads(r.body)["tag"] for r in rx.received} == {"v0", "v1", "v2", "v3"}


def test_the_sender_gives_up_on_a_receiver_after_its_timeout() -> None:
    with receiver() as rx:
        rx.delay = 2.0
        sender = Sender(AllowList.parse("127.0.0.1"), timeout=0.3)
        started = time.monotonic()
        attempt = sender.send(rx.url, "s", "id-1", "push", b"{}", "application/json")
        sender.close()
    assert time.monotonic() - started < 1.5
    assert attempt.status_code is None and "Timeout" in (attempt.error or "")
    assert not attempt.ok
