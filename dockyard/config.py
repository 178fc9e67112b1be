"""Settings: one frozen object built from defaults, a YAML file and DOCKYARD_* variables.

This is the only module that reads the environment. Precedence, lowest first:
built-in defaults, the YAML file (``DOCKYARD_CONFIG`` or ``--config``), then
``DOCKYARD_<FIELD>`` variables, then explicit overrides (CLI flags, tests).
"""

from __future__ import annotations

import dataclasses
import json
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

ENV_PREFIX = "DOCKYARD_"
SECRETS = ("admin_password", "s3_secret_key", "scanner_auth")  # never shown in --help
# Where a value came from, lowest precedence first (load_settings records one per name).
SOURCES = ("default", "config file", "environment", "override")
# publish() hands worker processes the sources with the values, which they read from the
# environment: without it every worker would say "environment" for everything.
SOURCES_VARIABLE = ENV_PREFIX + "SETTING_SOURCES"


@dataclass(frozen=True)
class Settings:
    """Every knob Dockyard has; the help text is the ``doc`` metadata."""

    listen: str = field(
        default="127.0.0.1:5000", metadata={"doc": "host:port the HTTP server binds to."}
    )
    data_dir: Path = field(
        default=Path("data"), metadata={"doc": "Folder for blobs, upload sessions and SQLite."}
    )
    database_url: str = field(
        default="",
        metadata={
            "doc": "SQLAlchemy URL of the metadata store; empty means SQLite in data_dir. "
            "A postgresql:// URL switches to PostgreSQL."
        },
    )
    database_pool_size: int = field(
        default=16,
        metadata={
            "doc": "PostgreSQL connections each server process keeps for reads, and as "
            "many for writes (a request finding them busy waits for one); with several "
            "replicas on one server keep replicas x 2 x this (plus a few per process for "
            "background work) under its max_connections.",
            "min": 1,
        },
    )
    sqlite_synchronous: str = field(
        default="full",
        metadata={
            "doc": "'full': every acknowledged write survives power loss; 'normal': faster, "
            "survives process crashes only (SQLite only)."
        },
    )
    storage: str = field(
        default="filesystem",
        metadata={
            "doc": "Blob store driver: 'filesystem' (under data_dir) or 's3' (an "
            "S3-compatible object store, see the s3_* settings).",
            "choices": ("filesystem", "s3"),
        },
    )
    s3_endpoint: str = field(
        default="",
        metadata={
            "doc": "URL of the S3 API (e.g. http://127.0.0.1:8333 for SeaweedFS or MinIO); "
            "empty: AWS's endpoint for s3_region. Addressing is path-style."
        },
    )
    s3_bucket: str = field(
        default="", metadata={"doc": "Bucket that holds blobs and upload sessions (storage=s3)."}
    )
    s3_region: str = field(default="us-east-1", metadata={"doc": "Region of the bucket."})
    s3_access_key: str = field(
        default="",
        metadata={
            "doc": "S3 access key id; empty: the usual AWS chain (AWS_ACCESS_KEY_ID, "
            "~/.aws/credentials, instance roles)."
        },
    )
    s3_secret_key: str = field(
        default="", metadata={"doc": "S3 secret access key (with s3_access_key)."}
    )
    s3_prefix: str = field(
        default="",
        metadata={"doc": "Key prefix inside the bucket (e.g. 'dockyard'); empty: the root."},
    )
    s3_redirect: bool = field(
        default=False,
        metadata={
            "doc": "Answer blob GETs with 307 to a presigned S3 URL, so the bytes do not "
            "pass through Dockyard (clients must reach s3_endpoint)."
        },
    )
    s3_redirect_ttl_seconds: int = field(
        default=300,
        metadata={"doc": "How long a presigned blob URL stays valid.", "min": 1},
    )
    s3_part_size_bytes: int = field(
        default=8 * 1024 * 1024,
        metadata={
            "doc": "Size of the segments an upload is kept in and of multipart parts; "
            "memory per upload in flight is about one part (S3 allows 5 MiB to 5 GiB).",
            "min": 5 * 1024 * 1024,
            "max": 5 * 1024**3,
        },
    )
    auth: str = field(
        default="token",
        metadata={"doc": "'token': users, roles and Docker token auth; 'none': open sandbox."},
    )
    public_url: str = field(
        default="",
        metadata={"doc": "Base URL clients reach us at (token realm); empty: from Host."},
    )
    token_service: str = field(default="dockyard", metadata={"doc": "Token audience."})
    token_issuer: str = field(default="dockyard", metadata={"doc": "Token issuer."})
    token_ttl_seconds: int = field(default=300, metadata={"doc": "Lifetime of pull tokens."})
    push_token_ttl_seconds: int = field(
        default=3600,
        metadata={"doc": "Lifetime of tokens that may push, so long uploads never expire."},
    )
    refresh_token_ttl_seconds: int = field(
        default=30 * 24 * 3600, metadata={"doc": "Lifetime of OAuth2 refresh tokens."}
    )
    job_token_ttl_seconds: int = field(
        default=3600, metadata={"doc": "Default lifetime of CI job tokens."}
    )
    oidc_allowed_issuers: str = field(
        default="",
        metadata={
            "doc": "Comma-separated OIDC issuer URLs projects may trust for keyless CI login; "
            "empty: any https issuer. An http issuer works only when listed here.",
            "empty_ok": True,
        },
    )
    redis_url: str = field(
        default="",
        metadata={
            "doc": "redis:// URL of a Redis shared by the replicas (optional): revocations "
            "and rule changes reach every replica through it; empty, or Redis down: the "
            "database alone (still correct)."
        },
    )
    redis_key_prefix: str = field(
        default="dockyard:",
        metadata={"doc": "Prefix of Dockyard's keys in Redis (registries sharing one Redis)."},
    )
    signing_key_file: str = field(
        default="", metadata={"doc": "ES256 key for tokens; empty: <data_dir>/keys/token.pem."}
    )
    admin_password: str = field(
        default="",
        metadata={"doc": "Password for the first 'admin' user; empty: generate one."},
    )
    password_min_length: int = field(
        default=12,
        metadata={"doc": "Shortest password accepted when a password is set or changed."},
    )
    session_ttl_seconds: int = field(
        default=8 * 3600,
        metadata={"doc": "How long a web UI sign-in lasts (sign-out ends it at once)."},
    )
    login_max_failures: int = field(
        default=10, metadata={"doc": "Failed logins per account or address before a pause."}
    )
    login_window_seconds: int = field(
        default=300, metadata={"doc": "Window (and pause) for counting failed logins."}
    )
    delete_enabled: bool = field(
        default=True, metadata={"doc": "Allow DELETE of manifests, tags and blobs."}
    )
    max_manifest_bytes: int = field(
        default=4 * 1024 * 1024, metadata={"doc": "Largest manifest accepted (413 above)."}
    )
    upload_ttl_seconds: int = field(
        default=24 * 3600, metadata={"doc": "Upload sessions idle this long are purged."}
    )
    page_size_max: int = field(
        default=1000, metadata={"doc": "Cap on 'n' for tag, catalog and referrer pages."}
    )
    workers: int = field(
        default=1, metadata={"doc": "HTTP worker processes; 0 means one per CPU core (up to 8)."}
    )
    log_level: str = field(default="info", metadata={"doc": "debug, info, warning or error."})
    log_format: str = field(
        default="text", metadata={"doc": "'text' (key=value lines) or 'json' (one object a line)."}
    )
    metrics_listen: str = field(
        default="127.0.0.1:5001",
        metadata={
            "doc": "host:port of the Prometheus /metrics listener; empty turns it off.",
            "empty_ok": True,
        },
    )
    tls_cert: str = field(
        default="", metadata={"doc": "PEM certificate (chain) file; with tls_key serves HTTPS."}
    )
    tls_key: str = field(default="", metadata={"doc": "PEM private key file of tls_cert."})
    shutdown_timeout_seconds: int = field(
        default=30,
        metadata={"doc": "On SIGTERM/SIGINT, how long in-flight requests may take to finish."},
    )
    trusted_proxies: str = field(
        default="",
        metadata={
            "doc": "Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For/-Proto/"
            "-Host are believed; empty: none."
        },
    )
    scan_on_push: bool = field(
        default=True, metadata={"doc": "Queue every pushed manifest for a vulnerability scan."}
    )
    scanner_url: str = field(
        default="",
        metadata={
            "doc": "Base URL of a Harbor-compatible scanner adapter (Pluggable Scanner API "
            "v1.2, e.g. http://trivy-adapter:8080); empty: the built-in scanner finds "
            "vulnerabilities."
        },
    )
    scanner_auth: str = field(
        default="",
        metadata={
            "doc": "Authorization header value sent to the scanner adapter (e.g. 'Bearer …' "
            "or 'Basic …'); empty: none."
        },
    )
    scanner_registry_url: str = field(
        default="",
        metadata={
            "doc": "Base URL the scanner adapter pulls images from (Dockyard's /v2 as the "
            "adapter reaches it); empty: public_url, else http(s)://listen."
        },
    )
    scanner_timeout_seconds: int = field(
        default=300,
        metadata={
            "doc": "How long one scan may take on the scanner adapter before it is recorded "
            "as failed (keep it below job_lease_seconds)."
        },
    )
    webhook_allowed_hosts: str = field(
        default="",
        metadata={
            "doc": "Comma-separated hosts or CIDRs webhooks may reach although they are not "
            "public (loopback, private, link-local ...); empty: public addresses only."
        },
    )
    job_lease_seconds: int = field(
        default=600,
        metadata={
            "doc": "How long a worker holds a background job before another may retry it "
            "(longer than the slowest job).",
            "min": 1,
        },
    )
    gc_review_delay_seconds: int = field(
        default=86400,
        metadata={
            "doc": "How long something that lost its last reference waits before garbage "
            "collection deletes it (a push may still reference it meanwhile).",
            "min": 0,
        },
    )
    gc_upload_grace_seconds: int = field(
        default=3600,
        metadata={
            "doc": "A blob just pushed or mounted, which no manifest references yet, is kept "
            "at least this long (clients push blobs before their manifest); the review "
            "delay applies when it is longer.",
            "min": 0,
        },
    )
    gc_untagged_manifests: bool = field(
        default=True,
        metadata={
            "doc": "Collect manifests that have no tag, are in no index and refer to no "
            "manifest that is there (false: only blobs of deleted manifests are collected)."
        },
    )
    gc_interval_seconds: int = field(
        default=60,
        metadata={
            "doc": "How often a garbage collection pass runs (one replica takes each turn).",
            "min": 1,
        },
    )
    scan_max_layer_bytes: int = field(
        default=8 * 1024**3,
        metadata={
            "doc": "A scan fails when one layer unpacks to more bytes than this.",
            "min": 1,
        },
    )
    scan_max_files_per_layer: int = field(
        default=500_000,
        metadata={"doc": "A scan fails when one layer holds more entries than this.", "min": 1},
    )
    scan_max_file_bytes: int = field(
        default=64 * 1024**2,
        metadata={
            "doc": "The largest package-metadata file (status database, METADATA, jar) a "
            "scan reads; larger ones are reported as not read.",
            "min": 1024,
        },
    )
    scan_max_jar_depth: int = field(
        default=2,
        metadata={"doc": "How deep a scan opens jars inside jars (1: top-level only).", "min": 1},
    )

    @property
    def effective_database_url(self) -> str:
        """The URL actually used: SQLite under data_dir unless one was given."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dockyard.db').resolve()}"

    @property
    def signing_key_path(self) -> Path:
        return (
            Path(self.signing_key_file)
            if self.signing_key_file
            else (self.data_dir / "keys" / "token.pem")
        )

    @property
    def worker_count(self) -> int:
        return self.workers or min(os.cpu_count() or 1, 8)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def effective_scanner_registry_url(self) -> str:
        """Where a scanner adapter reaches our /v2: the setting, the public URL, or the
        listen address (a wildcard bind is reached on loopback)."""
        if self.scanner_registry_url:
            return self.scanner_registry_url.rstrip("/")
        if self.public_url:
            return self.public_url.rstrip("/")
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(
            self.host, self.host
        )
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0] or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


def _coerce(name: str, raw: Any) -> Any:
    """Turn a YAML or environment value into the field's type, or fail clearly."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("bool", bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: expected a boolean, got {raw!r}")
    if kind in ("int", int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected an integer, got {raw!r}") from None
    if kind in ("Path", Path):
        return Path(str(raw))
    return "" if raw is None else str(raw)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults < YAML file < environment < overrides; where each
    value came from is kept on the side (``setting_sources``)."""
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
        unknown = set(loaded) - names
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        values.update(loaded)
        origin.update(dict.fromkeys(loaded, "config file"))
    for name in names:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and (raw != "" or _empty_ok(name)):
            values[name] = raw
            origin[name] = "environment"
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    origin.update(dict.fromkeys(given, "override"))
    coerced = {k: _coerce(k, v) for k, v in values.items() if k in names}
    for f in fields(Settings):
        least = f.metadata.get("min")
        if least is not None and f.name in coerced and coerced[f.name] < least:
            raise ValueError(f"{f.name}: must be at least {least}, got {coerced[f.name]}")
        most = f.metadata.get("max")
        if most is not None and f.name in coerced and coerced[f.name] > most:
            raise ValueError(f"{f.name}: must be at most {most}, got {coerced[f.name]}")
        choices = f.metadata.get("choices")
        if choices and f.name in coerced and coerced[f.name] not in choices:
            known = ", ".join(repr(c) for c in choices)
            raise ValueError(f"{f.name}: must be one of {known}, got {coerced[f.name]!r}")
    settings = dataclasses.replace(Settings(), **coerced)
    published = _published_sources(env)
    _remember(
        settings,
        {
            name: published.get(name, "environment")
            if origin.get(name) == "environment"
            else origin.get(name, "default")
            for name in names
        },
    )
    return settings


# Sources of the Settings objects load_settings built, by identity: a side table keeps
# Settings a plain frozen value (equal settings from different places stay equal).
_SOURCES: dict[int, Mapping[str, str]] = {}


def _remember(settings: Settings, sources: dict[str, str]) -> None:
    key = id(settings)
    _SOURCES[key] = MappingProxyType(sources)
    weakref.finalize(settings, _SOURCES.pop, key, None)


def _published_sources(env: Mapping[str, str]) -> dict[str, str]:
    """The sources the serving parent published with its values (see ``publish``)."""
    try:
        published = json.loads(env.get(SOURCES_VARIABLE) or "{}")
    except ValueError:
        return {}
    if not isinstance(published, dict):
        return {}
    return {k: v for k, v in published.items() if isinstance(k, str) and v in SOURCES}


def setting_sources(settings: Settings) -> dict[str, str]:
    """Where each setting's value came from: one of ``SOURCES`` per name.

    Settings built by ``load_settings`` report what it found; others (built directly, or
    copied with ``dataclasses.replace``) report "default" for a default value and
    "override" for any other.
    """
    recorded = _SOURCES.get(id(settings), {})
    return {
        f.name: recorded.get(f.name)
        or ("default" if getattr(settings, f.name) == f.default else "override")
        for f in fields(Settings)
    }


def _empty_ok(name: str) -> bool:
    """Settings where an empty value means "off" rather than "use the default"."""
    return any(f.name == name and f.metadata.get("empty_ok") for f in fields(Settings))


def publish(settings: Settings) -> None:
    """Hand the resolved settings to worker processes through their environment."""
    for f in fields(Settings):
        os.environ[ENV_PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    os.environ[SOURCES_VARIABLE] = json.dumps(setting_sources(settings))
    os.environ.pop(ENV_PREFIX + "CONFIG", None)


def settings_help() -> str:
    """Every setting with its variable, default and meaning, for --help."""
    lines = []
    for f in fields(Settings):
        default = "(secret)" if f.name in SECRETS else f.default
        lines.append(
            f"{f.name} (${ENV_PREFIX}{f.name.upper()}, default {default!s}): "
            f"{f.metadata.get('doc', '')}"
        )
    return "\n\n".join(lines)
