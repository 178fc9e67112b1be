"""Request and response bodies of the REST API (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

# Database ids are 32-bit on every engine we support; larger ones cannot exist.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Visibility = Literal["private", "internal", "public"]
Role = Literal["guest", "reporter", "developer", "maintainer", "owner"]
RegistryScope = Literal["read_registry", "write_registry", "api"]
DeployScope = Literal["read_registry", "write_registry"]


class UserOut(BaseModel):
    username: str
    email: str
    is_admin: bool
    is_blocked: bool


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=255)
    password: str = Field(min_length=1, max_length=1024)  # the policy's message says more
    is_admin: bool = False


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=1, max_length=1024)


class UserUpdate(BaseModel):
    is_blocked: bool | None = None
    is_admin: bool | None = None


class GroupCreate(BaseModel):
    path: str = Field(min_length=1, max_length=255)


StorageLimit = Annotated[
    StrictInt | None,
    Field(
        ge=0,
        le=2**63 - 1,
        description="Bytes a push may bring the usage to; null: no limit. Administrators only.",
    ),
]


class GroupOut(BaseModel):
    path: str
    storage_limit_bytes: int | None = None
    storage_used_bytes: int = Field(
        default=0, description="Bytes its projects and subgroups hold, each blob once."
    )


class GroupUpdate(BaseModel):
    """A partial change: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")
    storage_limit_bytes: StorageLimit = None


class ProjectCreate(BaseModel):
    path: str = Field(min_length=3, max_length=255)
    visibility: Visibility = "private"


BlockSeverity = Literal["critical", "high", "medium", "low"]


class VulnerabilityPolicyIn(BaseModel):
    """A partial change: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")
    block_severity: BlockSeverity | None = None
    block_unscanned: StrictBool = False
    allow_maintainers: StrictBool = False
    attach_sbom: StrictBool = Field(
        default=False, description="attach each scanned image's CycloneDX SBOM as a referrer"
    )


class VulnerabilityPolicyOut(BaseModel):
    block_severity: BlockSeverity | None = None
    block_unscanned: bool = False
    allow_maintainers: bool = False
    attach_sbom: bool = False


class ProjectUpdate(BaseModel):
    """A partial change: visibility (Owner), vulnerability_policy (Maintainer),
    storage_limit_bytes (administrators; null removes the limit)."""

    model_config = ConfigDict(extra="forbid")
    visibility: Visibility | None = None
    vulnerability_policy: VulnerabilityPolicyIn | None = None
    storage_limit_bytes: StorageLimit = None


class ProjectOut(BaseModel):
    id: int
    path: str
    visibility: Visibility
    abilities: list[str] = []
    vulnerability_policy: VulnerabilityPolicyOut = VulnerabilityPolicyOut()
    storage_limit_bytes: int | None = None
    storage_used_bytes: int = Field(
        default=0, description="Bytes its images hold: blobs and manifests, each once."
    )


class VulnerabilityExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=100, description="advisory id or alias, e.g. CVE-…")
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: AwareDatetime | None = Field(
        default=None, description="when it stops applying; null: until deleted"
    )


class VulnerabilityExceptionOut(BaseModel):
    id: str
    reason: str
    expires_at: datetime | None
    created_by: str
    created_at: datetime
    active: bool


class MemberIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role


class RoleIn(BaseModel):
    role: Role


class MemberOut(BaseModel):
    username: str
    role: str


class TokenOut(BaseModel):
    id: int
    kind: str
    name: str
    hint: str
    username: str | None
    scopes: list[str]
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None
    created_at: datetime


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once, never again.")


class PersonalTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[RegistryScope] = Field(min_length=1)
    expires_at: datetime | None = Field(
        default=None,
        description="In the future and at most 3650 days ahead; a time without a zone is UTC.",
    )


class DeployTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[DeployScope] = Field(min_length=1)
    username: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = Field(
        default=None,
        description="In the future and at most 3650 days ahead; a time without a zone is UTC.",
    )


class JobTokenCreate(BaseModel):
    ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)


class RepositoryOut(BaseModel):
    id: int
    name: str
    location: str
    created_at: datetime
    status: str | None
    tag_count: int
    size: int
    last_pushed_at: datetime | None


class TagProtectionOut(BaseModel):
    """The tag protection rules matching a tag, added up (the strictest applies)."""

    immutable: bool
    minimum_access_level_for_push: str | None
    minimum_access_level_for_delete: str | None
    rule_ids: list[int]


class TagOut(BaseModel):
    name: str
    location: str
    digest: str
    media_type: str
    size: int
    created_at: datetime
    pushed_at: datetime
    platforms: list[str]
    referrer_count: int
    protection: TagProtectionOut | None = Field(
        default=None, description="null unless a tag protection rule matches the tag"
    )


class TagDetailOut(TagOut):
    manifest: dict[str, Any]
    config: dict[str, Any] | None
    layers: list[dict[str, Any]]
    platform_manifests: list[dict[str, Any]]
    referrers: list[dict[str, Any]]


class TagSelection(BaseModel):
    tags: list[str] = Field(min_length=1, max_length=1000)


class BulkDelete(BaseModel):
    name_regex_delete: str = Field(min_length=1, max_length=255)
    name_regex_keep: str | None = Field(default=None, max_length=255)
    keep_n: int | None = Field(default=None, ge=0, le=100000)
    older_than: str | None = Field(default=None, max_length=20)
    dry_run: bool = False


class TagCopy(BaseModel):
    target: str = Field(
        min_length=1,
        max_length=512,
        description="project/repository:tag to point at the same image (without ':tag', "
        "the source tag's name).",
    )
    referrers: bool = Field(
        default=False,
        description="Copy the signatures, SBOMs and other referrers of the image (and of "
        "an index's children) too.",
    )


class TagCopied(BaseModel):
    source: str
    target: str
    digest: str
    manifests: int = Field(description="Manifests the target received (children, referrers).")
    blobs: int = Field(description="Blobs linked into the target: rows only, no bytes moved.")
    pull: str = Field(description="host/repository@digest of the promoted image.")


class DeletedTags(BaseModel):
    tags: list[str]
    dry_run: bool


class Usage(BaseModel):
    path: str
    size: int = Field(
        description="Bytes of distinct blobs and manifests: a layer shared by images counts once."
    )
    limit_bytes: int | None = Field(
        default=None,
        description="The project's or group's own storage limit (repositories have none).",
    )
