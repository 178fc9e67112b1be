"""The effective settings as the administrator's settings page shows them: grouped by
what they configure, each with its default, where its value came from and its doc line,
and no secret ever in the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

from dockyard.config import ENV_PREFIX, SECRETS, Settings, setting_sources
from dockyard.http.ui.pages import human_size

# Groups in page order. An entry ending in "_" is a name prefix, any other a whole name;
# the first group that matches takes the setting, and "Other" takes what none matches.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Server",
        ("listen", "public_url", "workers", "tls_", "trusted_proxies", "shutdown_")
        + ("metrics_", "log_"),
    ),
    ("Storage", ("storage", "data_dir", "s3_", "upload_ttl_seconds")),
    ("Database", ("database_", "sqlite_", "redis_")),
    (
        "Authentication",
        ("auth", "admin_password", "password_", "session_", "login_", "signing_key_file")
        + ("token_", "push_token_", "refresh_token_", "job_token_", "oidc_"),
    ),
    ("Registry", ("delete_enabled", "max_manifest_bytes", "page_size_max")),
    ("Garbage collection", ("gc_",)),
    ("Scanning", ("scan_", "scanner_")),
    ("Webhooks", ("webhook_",)),
    ("Background jobs", ("job_",)),
)
OTHER = "Other"
# A setting whose name *is* one of these (its last word) holds a credential; a name that
# only mentions one (token_ttl_seconds, redis_key_prefix) does not.
SECRET_WORDS = frozenset({"password", "secret", "key", "token"})
# user:password@ inside a URL (database_url, redis_url, scanner_url ...).
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)[^/@\s]*@", re.IGNORECASE)
SOURCE_LABELS = {
    "default": "default",
    "config file": "config file",
    "environment": "environment",
    "override": "command line",
}


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str
    default: str
    source: str  # a label of SOURCE_LABELS
    variable: str  # the environment variable that sets it
    doc: str
    secret: bool
    hint: str  # the value in words (sizes, durations), or ""


@dataclass(frozen=True)
class SettingGroup:
    title: str
    rows: tuple[SettingRow, ...]

    @property
    def anchor(self) -> str:
        return "settings-" + re.sub(r"[^a-z]+", "-", self.title.lower())


def is_secret(name: str) -> bool:
    words = name.split("_")
    return name in SECRETS or words[-1] in SECRET_WORDS or "secret" in words


def group_of(name: str) -> str:
    for title, entries in GROUPS:
        if any(name.startswith(e) if e.endswith("_") else name == e for e in entries):
            return title
    return OTHER


def shown(value: object, secret: bool) -> str:
    """A value as the page may show it: secrets only as set or not, URLs without their
    password, booleans as written in the config file."""
    if secret:
        return "set" if value not in ("", None) else "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return str(value)
    return _URL_PASSWORD.sub(r"\g<head>•••@", str(value))


def hint(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    if name.endswith("_bytes") and value >= 1024:
        return human_size(value)
    if name.endswith("_seconds") and value >= 60:
        return _duration(value)
    return ""


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds / 60:.1f} minutes"


def settings_table(settings: Settings) -> list[SettingGroup]:
    """Every setting once, in its group; groups in page order, settings in declared order."""
    sources = setting_sources(settings)
    grouped: dict[str, list[SettingRow]] = {title: [] for title, _ in (*GROUPS, (OTHER, ()))}
    for f in fields(Settings):
        value, secret = getattr(settings, f.name), is_secret(f.name)
        grouped[group_of(f.name)].append(
            SettingRow(
                name=f.name,
                value=shown(value, secret),
                default=shown(f.default, secret),
                source=SOURCE_LABELS[sources[f.name]],
                variable=ENV_PREFIX + f.name.upper(),
                doc=f.metadata.get("doc", ""),
                secret=secret,
                hint="" if secret else hint(f.name, value),
            )
        )
    return [SettingGroup(title, tuple(rows)) for title, rows in grouped.items() if rows]
