"""Keys live in the database: a token or a web session from one replica works on
another, rotation keeps old tokens valid until their key is dropped, and a data dir
from before the move keeps its keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import update
from starlette.testclient import TestClient

from dockyard.auth import keys
from dockyard.auth.registry_tokens import key_id
from dockyard.db.models import SigningKey
from tests.support.replicas import ADMIN_PASSWORD, Replicas


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_a_token_from_one_replica_is_accepted_by_another(make_replicas, backend) -> None:
    group: Replicas = make_replicas(backend)
    a, b = group.members
    token = a.token("admin", ADMIN_PASSWORD)
    assert b.v2(token) == 200
    assert b.v2(token[:-4] + "AAAA") == 401  # still verified, not merely decoded
    assert kid(b.token("admin", ADMIN_PASSWORD)) == kid(token)  # one key for both
    for replica in group.members:  # nothing secret is left in the data dirs
        assert not (replica.settings.data_dir / "keys").exists()


def test_a_web_session_from_one_replica_works_on_another(make_replicas, backend) -> None:
    group: Replicas = make_replicas(backend)
    a, b = group.members
    browser = TestClient(a.client.app)
    login = browser.get("/-/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
    signed_in = browser.post(
        "/-/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    cookie = browser.cookies.get("dockyard_session")
    on_b = TestClient(b.client.app, cookies={"dockyard_session": cookie})
    assert on_b.get("/", follow_redirects=False).status_code == 200
    stranger = TestClient(b.client.app, cookies={"dockyard_session": cookie[:-3] + "xyz"})
    assert stranger.get("/", follow_redirects=False).status_code == 303


def test_rotation_keeps_old_tokens_until_their_key_is_dropped(
    make_replicas, backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "REFRESH_SECONDS", 0.0)  # replicas re-read the keys each use
    group: Replicas = make_replicas(backend)
    a, b = group.members
    old = a.token("admin", ADMIN_PASSWORD)
    new_key = keys.rotate(group.db, a.settings, keys.TOKEN)
    new = b.token("admin", ADMIN_PASSWORD)
    assert kid(new) == new_key.kid != kid(old)
    assert a.v2(new) == 200 and b.v2(old) == 200 and a.v2(old) == 200
    listed = {row["kid"]: row for row in keys.listing(group.db, a.settings)}
    assert listed[kid(old)]["state"] == "verify-only"
    kept_for = listed[kid(old)]["dropped_after"] - listed[kid(old)]["retired_at"]
    longest = a.settings.refresh_token_ttl_seconds  # the longest token lifetime by default
    assert kept_for >= timedelta(seconds=longest)

    # Time passes: the old key was retired longer ago than any token it signed can live.
    with group.db.session(write=True) as conn:
        conn.execute(
            update(SigningKey)
            .where(SigningKey.kid == kid(old))
            .values(retired_at=datetime.now(UTC) - kept_for - timedelta(seconds=1))
        )
    assert b.v2(old) == 401 and a.v2(old) == 401
    assert a.v2(new) == 200
    remaining = [
        row["kid"] for row in keys.listing(group.db, a.settings) if row["purpose"] == "token"
    ]
    assert remaining == [new_key.kid]


def test_a_replica_accepts_a_key_made_after_it_last_read_them(make_replicas, backend) -> None:
    """Without waiting for its periodic re-read: an unknown kid makes it look again."""
    group: Replicas = make_replicas(backend)
    a, b = group.members
    issued = b.token("admin", ADMIN_PASSWORD)
    assert b.v2(issued) == 200  # b has read the keys
    new_key = keys.rotate(group.db, a.settings, keys.TOKEN)
    private = serialization.load_pem_private_key(new_key.secret.encode(), password=None)
    claims = jwt.decode(issued, options={"verify_signature": False})
    token = jwt.encode(claims, private, algorithm="ES256", headers={"kid": new_key.kid})
    assert b.v2(token) == 200


def test_an_upgraded_data_dir_keeps_its_keys(make_replicas, backend, tmp_path: Path) -> None:
    """Key files from before the move are imported, so tokens issued earlier stay valid."""
    old_dir = tmp_path / "old"
    (old_dir / "keys").mkdir(parents=True)
    pem = keys._new_signing_key()
    (old_dir / "keys" / "token.pem").write_bytes(pem)
    (old_dir / "keys" / "session.key").write_text("an-old-session-secret-of-enough-length\n")
    private = serialization.load_pem_private_key(pem, password=None)
    old_kid = key_id(private.public_key())
    group: Replicas = make_replicas(backend, count=0)
    a = group.start(old_dir)
    from dockyard.admin import accounts

    accounts.ensure_initial_admin(group.db, a.settings)
    listed = keys.listing(group.db, a.settings)
    assert [row["kid"] for row in listed if row["purpose"] == "token"] == [old_kid]
    with group.db.session() as conn:
        from dockyard.db.queries.keys import keys_of

        assert keys_of(conn, "session")[0].secret == "an-old-session-secret-of-enough-length"
    # A token signed before the upgrade, with the file's key and its kid.
    issued = a.token("admin", ADMIN_PASSWORD)
    claims = jwt.decode(issued, options={"verify_signature": False})
    before = jwt.encode(claims, private, algorithm="ES256", headers={"kid": old_kid})
    b = group.start(tmp_path / "fresh")  # a new replica: no files, the same keys
    assert b.v2(before) == 200


def test_an_explicit_signing_key_file_is_still_honoured(make_replicas, backend, tmp_path) -> None:
    key_file = tmp_path / "operator" / "token.pem"
    group: Replicas = make_replicas(backend, signing_key_file=str(key_file))
    a, b = group.members
    token = a.token("admin", ADMIN_PASSWORD)
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert kid(token) == key_id(private.public_key())
    assert b.v2(token) == 200
    with pytest.raises(keys.KeyRefused, match="signing_key_file"):
        keys.rotate(group.db, a.settings, keys.TOKEN)
    with group.db.session() as conn:
        from dockyard.db.queries.keys import keys_of

        assert keys_of(conn, "token") == []  # the file is the only token key


def test_replicas_starting_together_agree_on_one_key(backend, migrated_database, tmp_path) -> None:
    import threading

    from dockyard.config import Settings
    from dockyard.db.engine import Database
    from dockyard.db.queries.keys import keys_of

    first = migrated_database(backend)
    engines = [first] + [Database(first.url) for _ in range(3)]
    start = threading.Barrier(len(engines))

    def boot(n: int) -> None:
        start.wait()
        settings = Settings(data_dir=tmp_path / f"r{n}", database_url=first.url)
        keys.ensure_keys(engines[n], settings)

    threads = [threading.Thread(target=boot, args=(n,)) for n in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with first.session() as conn:
        assert [len(keys_of(conn, purpose)) for purpose in keys.PURPOSES] == [1, 1]
    for engine in engines[1:]:
        engine.dispose()
