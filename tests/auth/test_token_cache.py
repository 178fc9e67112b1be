"""The /v2 hot path with token auth: a bearer token is signature-checked once, and a cached
holder is answered on the event loop without a database read. What must still hold: an
expired token is refused even while cached; a revocation or block made by this process
counts on its very next request; one made by another process (the CLI, another replica)
counts within ``dockyard.auth.epoch.MAX_AGE_SECONDS``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt
import pytest

from dockyard.admin import tokens as admin_tokens
from dockyard.admin.accounts import set_user_flags
from dockyard.auth import verified_tokens
from dockyard.auth.registry_tokens import LEEWAY_SECONDS
from dockyard.auth.service import AccessService
from dockyard.db.queries import sessions
from dockyard.http.access import TokenAccess
from tests.support.auth_registry import AuthRegistry, User
from tests.support.epoch_clock import freeze_epoch_clock, past_the_epoch_bound


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


@pytest.fixture
def developer(registry: AuthRegistry, project: str) -> User:
    return registry.new_user({project: "developer"})


def calls_to(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Counts the calls of ``owner.name`` from now on (they still do their work)."""
    calls: list[int] = []
    real: Callable = getattr(owner, name)

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def later_by(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Wall-clock time moves on, for the token cache and for PyJWT's expiry check alike."""

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return datetime.now(tz) + timedelta(seconds=seconds)

    monkeypatch.setattr(verified_tokens, "clock", lambda: time.time() + seconds)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)


def status(registry: AuthRegistry, path: str, headers: dict[str, str]) -> int:
    return registry.client.get(path, headers=headers).status_code


def test_a_token_is_signature_checked_once_across_many_requests(
    registry: AuthRegistry, project: str, developer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = registry.token(developer.name, developer.password, f"repository:{project}/img:pull")
    decodes = calls_to(monkeypatch, jwt, "decode")
    tags = f"/v2/{project}/img/tags/list"
    for _ in range(20):
        assert status(registry, tags, registry.bearer(token)) == 404
    assert len(decodes) == 1
    other = registry.token(developer.name, developer.password, f"repository:{project}/img:pull")
    assert status(registry, tags, registry.bearer(other)) == 404
    assert len(decodes) == 2  # another token string is checked on its own


def test_the_cached_path_reads_no_database_and_needs_no_worker_thread(
    registry: AuthRegistry, project: str, developer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = f"/v2/{project}/img/tags/list"
    bearer = registry.bearer(
        registry.token(developer.name, developer.password, f"repository:{project}/img:pull")
    )
    basic = registry.basic(developer.name, developer.password)
    freeze_epoch_clock(monkeypatch)
    for headers in (bearer, basic):  # holder re-checked, login cached, epoch read
        assert status(registry, tags, headers) == 404
    epoch_reads = calls_to(monkeypatch, sessions, "auth_epoch")
    rechecks = calls_to(monkeypatch, AccessService, "from_claims")
    logins = calls_to(monkeypatch, TokenAccess, "_basic_login")
    for _ in range(10):
        assert status(registry, tags, bearer) == 404
        assert status(registry, tags, basic) == 404
    assert (epoch_reads, rechecks, logins) == ([], [], [])


def test_an_expired_token_is_refused_even_while_cached(
    registry: AuthRegistry, project: str, developer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = registry.token(developer.name, developer.password, f"repository:{project}/img:pull")
    tags = f"/v2/{project}/img/tags/list"
    assert status(registry, tags, registry.bearer(token)) == 404  # verified and kept
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    later_by(monkeypatch, expires + LEEWAY_SECONDS + 1 - time.time())
    resp = registry.client.get(tags, headers=registry.bearer(token))
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]


def test_a_revocation_or_block_made_here_counts_on_the_next_request(
    registry: AuthRegistry, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The epoch clock stands still, so only this process's after-commit notice can tell
    the cached path that anything changed."""
    user = registry.new_user({project: "developer"})
    issued = admin_tokens.create_personal(registry.db, user.name, "ci", ["read_registry"])
    scope = f"repository:{project}/img:pull"
    tags = f"/v2/{project}/img/tags/list"
    from_pat = registry.bearer(registry.token(user.name, issued.secret, scope))
    from_password = registry.bearer(registry.token(user.name, user.password, scope))
    freeze_epoch_clock(monkeypatch)
    for headers in (from_pat, from_password, from_pat, from_password):
        assert status(registry, tags, headers) == 404
    revoked = registry.client.delete(
        f"/api/v1/user/tokens/{issued.record.id}", headers={"PRIVATE-TOKEN": user.pat}
    )
    assert revoked.status_code == 204, revoked.text
    assert status(registry, tags, from_pat) == 401
    assert status(registry, tags, from_password) == 404
    blocked = registry.client.patch(
        f"/api/v1/users/{user.name}",
        json={"is_blocked": True},
        headers={"PRIVATE-TOKEN": registry.admin_pat},
    )
    assert blocked.status_code == 200, blocked.text
    assert status(registry, tags, from_password) == 401


def test_another_processs_revocation_or_block_counts_within_the_bound(
    registry: AuthRegistry, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``registry.db`` is not the app's Database: its commits never reach the app's
    after-commit hook, as the CLI's or another replica's do not."""
    user = registry.new_user({project: "developer"})
    issued = admin_tokens.create_personal(registry.db, user.name, "ci", ["read_registry"])
    scope = f"repository:{project}/img:pull"
    tags = f"/v2/{project}/img/tags/list"
    from_pat = registry.bearer(registry.token(user.name, issued.secret, scope))
    from_password = registry.bearer(registry.token(user.name, user.password, scope))
    freeze_epoch_clock(monkeypatch)
    for headers in (from_pat, from_password):
        assert status(registry, tags, headers) == 404
    admin_tokens.revoke(registry.db, issued.record.id, user.name)
    assert status(registry, tags, from_pat) == 404  # within the bound: the reading stands
    past_the_epoch_bound(monkeypatch)
    assert status(registry, tags, from_pat) == 401
    assert status(registry, tags, from_password) == 404

    freeze_epoch_clock(monkeypatch)
    assert status(registry, tags, from_password) == 404
    set_user_flags(registry.db, user.name, blocked=True)
    past_the_epoch_bound(monkeypatch)
    assert status(registry, tags, from_password) == 401
