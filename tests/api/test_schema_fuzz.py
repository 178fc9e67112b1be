"""schemathesis against /api/v1/openapi.json: whatever it sends, never a 5xx.

Each operation gets its own Hypothesis run (driven here rather than through the
schemathesis pytest plugin, which does not support this pytest yet).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry

EXAMPLES_PER_OPERATION = 20  # random each run (no example database): runs add up


@pytest.fixture(scope="module")
def fuzzed(make_auth_registry) -> AuthRegistry:  # noqa: ANN001
    registry = make_auth_registry("sqlite")
    project = registry.new_project("private", group="fuzz")
    push_image(registry, f"{project}/img", "v1", layers=[b"fuzz"])
    return registry


def test_no_server_errors(fuzzed: AuthRegistry) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed.client.app)
    headers = {"Authorization": f"Bearer {fuzzed.admin_pat}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the schema really describes the API
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case) -> None:  # noqa: ANN001
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}"
                    f" {response.text[:300]}"
                )

        exercise()
    assert failures == []
