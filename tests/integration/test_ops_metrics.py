"""The /metrics listener of a live server with two workers: counters from every worker
add up, labels are route templates, and the database gauges follow pushes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.clients import ClientSandbox, LayoutImage
from tests.integration.conftest import LiveServer, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    address = f"127.0.0.1:{free_port()}"
    server = LiveServer(
        "dockyard",
        tmp_path_factory.mktemp("metrics"),
        "",
        extra_env={"DOCKYARD_METRICS_LISTEN": address, "DOCKYARD_WORKERS": "2"},
    )
    server.start()
    try:
        yield server, f"http://{address}/metrics"
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def scrape(url: str) -> dict[str, float]:
    resp = httpx.get(url, timeout=10, trust_env=False)
    assert resp.status_code == 200
    samples = {}
    for line in resp.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def value(samples: dict[str, float], metric: str, **labels: str) -> float:
    """Sum of the samples of ``metric`` whose labels include ``labels``."""
    total = 0.0
    for name, number in samples.items():
        base, _, rest = name.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if base == metric and all(found.get(k) == v for k, v in labels.items()):
            total += number
    return total


def test_scrape_after_a_push_and_a_pull(
    metered: tuple[LiveServer, str],
    tiny_image: LayoutImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server, url = metered
    sandbox = ClientSandbox(server.host, tmp_path_factory.mktemp("metrics-clients"))
    target = sandbox.docker_ref("metered/app", "v1")
    sandbox.skopeo_copy(tiny_image.ref, target)
    pulled = tmp_path_factory.mktemp("metrics-pulled") / "layout"
    sandbox.skopeo_copy(target, f"oci:{pulled}:v1")
    for _ in range(4):  # spread over both workers
        assert httpx.get(f"{server.url}/v2/", trust_env=False).status_code == 200
    samples = scrape(url)
    text = "\n".join(samples)
    assert "metered/app" not in text  # route templates, never raw paths
    manifests = "/v2/{name}/manifests/{reference}"
    assert (
        value(samples, "dockyard_http_requests_total", route=manifests, method="PUT", status="201")
        >= 1
    )
    assert (
        value(samples, "dockyard_http_requests_total", route="/v2/", method="GET", status="200")
        >= 4
    )
    assert value(samples, "dockyard_http_request_duration_seconds_count", route=manifests) >= 2
    stored = value(samples, "dockyard_storage_used_bytes")  # config + the layer skopeo gzipped
    assert stored > 0
    assert value(samples, "dockyard_registry_bytes_pushed_total") > stored  # + the manifest
    assert value(samples, "dockyard_registry_bytes_pulled_total") > stored
    assert value(samples, "dockyard_blobs_stored") >= 2
    assert value(samples, "dockyard_uploads_in_progress") == 0
    assert value(samples, "dockyard_background_queue_depth", queue="repository_deletions") == 0
    assert value(samples, "dockyard_db_pool_connections_max") > 0
    assert value(samples, "dockyard_stats_up") == 1


def test_counters_start_from_zero_after_a_restart(metered: tuple[LiveServer, str]) -> None:
    server, url = metered
    assert httpx.get(f"{server.url}/v2/", trust_env=False).status_code == 200
    assert value(scrape(url), "dockyard_http_requests_total", route="/v2/") >= 1
    server.stop()
    server.start()
    assert value(scrape(url), "dockyard_http_requests_total", route="/v2/") == 1  # the start probe
