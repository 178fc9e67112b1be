"""Hostile input to every UI form and page, as schemathesis does for the REST API.

The forms are found the way a browser finds them: by reading the pages a signed-in
admin (who is also a project Owner) sees. Each form is then posted many times with a
valid session and CSRF token, its fields swapped for hostile values (huge and negative
numbers, digits from other scripts, empty, very long, control characters, repeated
fields, file uploads where text is expected, hundreds of extra fields), and the GET
pages get the same treatment in their query strings. Whatever is sent, the answer is
never a 5xx and the log holds no stack trace. Seeded, so a failure replays exactly.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from dockyard.admin import accounts, members
from dockyard.admin import tokens as admin_tokens
from dockyard.auth.passwords import hash_password
from dockyard.db.queries import accounts as account_rows
from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry

SEED = 20261128
SUBMISSIONS_PER_FORM = 20
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2147483648",
    "99999999999999999999999999",
    "9" * 5000,
    "99999999",
    "99999999999999y",
    "\u00b2",  # '²': str.isdigit() says yes, int() says no
    "\u0663",  # Arabic-Indic three: int() says 3
    "\uff11",  # fullwidth one
    "1e9",
    "NaN",
    "-0",
    " 42 ",
    "1_000",
    "0x1f",
    "x" * 70_000,
    "\x00",
    "a\r\nb",
    "\u202e",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "true",
    "[]",
    "{}",
    "owner",
    "admin",
    "é" * 300,
    "latest",
    ".*",
    "(a+)+$",
]
PASSWORD = "fuzz-password-1"  # noqa: S105


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, tuple[str, ...], str]:
        kind = next((v for k, v in self.fields if k == "action"), "")
        return (self.action, self.method, tuple(sorted({k for k, _ in self.fields})), kind)


class FormFinder(HTMLParser):
    """Every <form> on a page with its named fields and their default values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action") or self.page, a.get("method", "get").lower())
            self.forms.append(self._current)
        elif self._current is not None and a.get("name"):
            if tag == "input":
                checkable = a.get("type") in ("checkbox", "radio")
                self._current.fields.append((a["name"], a.get("value", "on" if checkable else "")))
            elif tag == "select":
                self._select = a["name"]
            elif tag == "textarea":
                self._current.fields.append((a["name"], ""))
        if tag == "option" and self._current is not None and self._select:
            self._current.fields.append((self._select, a.get("value", "")))
            self._select = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        if tag == "select":
            self._select = None


@dataclass
class Fuzzer:
    registry: AuthRegistry
    username: str
    rng: random.Random
    client: TestClient = None  # type: ignore[assignment]
    csrf: str = ""
    findings: list[str] = field(default_factory=list)

    def restore_viewer(self) -> None:
        """Undo what fuzzed forms may do to the viewer (block, drop admin, new password)."""
        with self.registry.db.session(write=True) as conn:
            user = account_rows.user_by_name(conn, self.username)
            account_rows.update_user(
                conn,
                user.id,
                is_admin=True,
                is_blocked=False,
                password_hash=hash_password(PASSWORD),
            )

    def sign_in(self) -> None:
        self.restore_viewer()
        self.client = TestClient(self.registry.client.app, raise_server_exceptions=False)
        login = self.client.get("/-/login")
        resp = self.client.post(
            "/-/login",
            data={"username": self.username, "password": PASSWORD, "csrf": csrf_of(login.text)},
            follow_redirects=False,
        )
        assert resp.status_code == 303, resp.text[:300]
        self.csrf = csrf_of(self.client.get("/-/settings/tokens").text)

    def check(self, what: str, resp) -> None:  # noqa: ANN001
        if resp.status_code >= 500 or "Traceback (most recent call last)" in resp.text:
            self.findings.append(f"{what} -> {resp.status_code} {resp.text[:200]!r}")
        if "NAME_UNKNOWN" in resp.text:  # a registry error has no place on a page
            self.findings.append(f"{what} -> registry error {resp.text[:200]!r}")
        signed_out = resp.status_code in (302, 303) and "/-/login" in resp.headers.get(
            "location", ""
        )
        if signed_out or resp.status_code == 401:
            self.sign_in()

    def hostile(self) -> str:
        return self.rng.choice(HOSTILE)

    def submission(self, form: Form) -> tuple[list[tuple[str, str]], dict | None, str]:
        """One mutated version of the form: (fields, files, description)."""
        fields = [(k, v) for k, v in form.fields if k != "csrf"]
        mutated = [(k, self.hostile()) if self.rng.random() < 0.5 else (k, v) for k, v in fields]
        if fields and mutated == fields:
            i = self.rng.randrange(len(fields))
            mutated[i] = (fields[i][0], self.hostile())
        how = self.rng.random()
        files = None
        if how < 0.1 and fields:  # a field sent twice, with different values
            name = self.rng.choice(fields)[0]
            mutated += [(name, self.hostile()), (name, self.hostile())]
        elif how < 0.2 and fields:  # a file where text is expected
            files = {self.rng.choice(fields)[0]: ("x.bin", b"\x00\xff" * 10, "text/plain")}
        elif how < 0.25:  # many extra fields (the parser's limit is 1000)
            count = self.rng.choice([200, 999, 1500])
            mutated += [(f"f{i}", "1") for i in range(count)]
        elif how < 0.3 and mutated:  # fields dropped
            mutated = self.rng.sample(mutated, self.rng.randrange(len(mutated)))
        keep_csrf = self.rng.random() > 0.05
        payload = ([("csrf", self.csrf)] if keep_csrf else []) + mutated
        summary = ", ".join(f"{k}={v[:20]!r}" for k, v in mutated[:8])
        return payload, files, summary

    def post(self, form: Form) -> None:
        payload, files, summary = self.submission(form)
        if files:
            resp = self.client.post(form.action, data=dict(payload), files=files)
        else:
            body = "&".join(f"{quote(k)}={quote(v)}" for k, v in payload)
            resp = self.client.post(
                form.action,
                content=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        self.check(f"POST {form.action} [{summary}]", resp)

    def get(self, path: str, names: list[str]) -> None:
        chosen = [n for n in names if self.rng.random() < 0.7] or names[:1]
        # URLs have a length limit of their own (clients refuse 64 KiB); bodies do not
        query = "&".join(f"{quote(n)}={quote(self.hostile()[:4000])}" for n in chosen)
        self.check(f"GET {path}?{query[:200]}", self.client.get(f"{path}?{query}"))


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture(scope="module")
def fuzzed(make_auth_registry, backend: str) -> tuple[AuthRegistry, str, str]:  # noqa: ANN001
    registry = make_auth_registry(backend, login_max_failures=1_000_000)
    project = registry.new_project("private", group="formfuzz")
    for tag in ("v1", "v2", "dev-1"):
        push_image(registry, f"{project}/app", tag, layers=[tag.encode()])
    username = "formfuzzer"
    accounts.create_user(registry.db, username, "f@example.com", PASSWORD, is_admin=True)
    members.add_member(registry.db, username, project, "owner")
    registry.new_user({project: "developer"})  # a member row for the settings forms
    admin_tokens.create_deploy(registry.db, project, "k8s", ["read_registry"])
    admin_tokens.create_personal(registry.db, username, "laptop", ["read_registry"])
    return registry, project, username


def discover(fuzzer: Fuzzer, project: str) -> list[Form]:
    pages = [
        "/",
        "/-/settings/tokens",
        "/-/admin/users",
        f"/p/{project}",
        f"/p/{project}/-/settings",
        f"/r/{project}/app",
        f"/r/{project}/app/-/tags/v1",
        "/-/search?q=app",
    ]
    found: dict[tuple, Form] = {}
    for page in pages:
        resp = fuzzer.client.get(page)
        assert resp.status_code == 200, (page, resp.status_code)
        finder = FormFinder(page.split("?")[0])
        finder.feed(resp.text)
        for form in finder.forms:
            found.setdefault(form.key, form)
    login = FormFinder("/-/login")
    login.feed(TestClient(fuzzer.registry.client.app).get("/-/login").text)
    for form in login.forms:
        found.setdefault(form.key, form)
    return list(found.values())


def test_ui_forms_and_pages_survive_hostile_input(
    fuzzed: tuple[AuthRegistry, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    registry, project, username = fuzzed
    fuzzer = Fuzzer(registry, username, random.Random(SEED))
    fuzzer.sign_in()
    forms = discover(fuzzer, project)
    posts = [f for f in forms if f.method == "post"]
    actions = {f.key[3] for f in posts}
    # the pages really offer what we mean to fuzz
    assert {"add_member", "remove_member", "revoke_token", "visibility"} <= actions
    assert {f.action for f in posts} >= {
        "/-/settings/tokens",
        "/-/settings/tokens/revoke",
        "/-/admin/users",
        f"/r/{project}/app/-/delete-tags",
        f"/r/{project}/app/-/delete",
        "/-/login",
    }
    caplog.set_level(logging.WARNING)
    # logout ends the session; fuzz it last so the rest runs signed in
    posts.sort(key=lambda f: f.action == "/-/logout")
    for form in posts:
        for _ in range(SUBMISSIONS_PER_FORM):
            fuzzer.post(form)
    gets = {
        f"/r/{project}/app": ["page", "per_page", "sort", "name"],
        f"/p/{project}": ["name", "sort"],
        "/-/search": ["q"],
        "/-/login": ["next"],
        f"/r/{project}/app/-/tags/v1": ["x"],
    }
    for path, names in gets.items():
        for _ in range(SUBMISSIONS_PER_FORM):
            fuzzer.get(path, names)
    traces = [
        r.getMessage()[:200] for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ]
    assert not fuzzer.findings, "\n".join(fuzzer.findings)
    assert not traces, "\n".join(traces)
