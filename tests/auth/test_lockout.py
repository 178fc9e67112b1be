"""Failed-login counters: per account and address for passwords, per address for tokens.

Invented tokens must not lock out valid ones (every job token logs in under one name),
and a user whose password is locked keeps working tokens.
"""

from __future__ import annotations

import secrets

from dockyard.admin import tokens as admin_tokens
from dockyard.auth.credentials import JOB_USERNAME
from dockyard.auth.service import AccessService
from dockyard.oci.errors import RegistryError
from tests.support.auth_registry import AuthRegistry


def status(registry: AuthRegistry, username: str, secret: str) -> int:
    return registry.token_response(username, secret).status_code


def outcome(service: AccessService, username: str, secret: str, address: str) -> int:
    try:
        service.login(username, secret, address)
    except RegistryError as error:
        return error.status
    return 200


def test_invented_job_tokens_do_not_lock_out_real_jobs(make_auth_registry, backend: str) -> None:
    registry = make_auth_registry(backend, login_max_failures=3)
    project = registry.new_project()
    user = registry.new_user({project: "developer"})
    job = admin_tokens.create_job(registry.db, project, user.name, 600)
    for _ in range(5):
        invented = "dy_job_" + secrets.token_urlsafe(32)
        assert status(registry, JOB_USERNAME, invented) == 401
    assert status(registry, JOB_USERNAME, job.secret) == 200


def test_a_locked_password_leaves_the_users_tokens_working(
    make_auth_registry, backend: str
) -> None:
    registry = make_auth_registry(backend, login_max_failures=3)
    user = registry.new_user()
    for _ in range(3):
        assert status(registry, user.name, "wrong-password") == 401
    assert status(registry, user.name, user.password) == 429
    assert status(registry, user.name, user.pat) == 200


def test_token_failures_count_per_address(make_auth_registry, backend: str) -> None:
    registry = make_auth_registry(backend, login_max_failures=2)
    service = AccessService(registry.db, registry.settings)
    project = registry.new_project()
    user = registry.new_user({project: "developer"})
    job = admin_tokens.create_job(registry.db, project, user.name, 600)
    for _ in range(10):  # five times the account limit, as for any address
        assert (
            outcome(service, JOB_USERNAME, "dy_job_" + secrets.token_urlsafe(8), "10.0.0.1") == 401
        )
    assert outcome(service, JOB_USERNAME, job.secret, "10.0.0.1") == 429  # that address paused
    assert outcome(service, JOB_USERNAME, job.secret, "10.0.0.2") == 200  # others unaffected
    assert outcome(service, user.name, user.password, "10.0.0.1") == 200  # passwords apart
