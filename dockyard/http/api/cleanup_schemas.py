"""Bodies of the cleanup policy endpoints (they make the OpenAPI schema).

Values GitLab allows are ``Literal`` types, so a wrong one is a 422 naming the field; the
regular expressions are compiled (RE2) by the same check the UI and the CLI use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from dockyard.admin import AdminError
from dockyard.admin.cleanup_policy import KEEP_N_MAX, check_pattern

Cadence = Literal["1d", "7d", "14d", "1month", "3month"]
OlderThan = Literal["7d", "14d", "30d", "90d"]
PATTERN_HELP = "RE2, matched against the whole {what}; null or empty: {empty}"


class CleanupPolicyIn(BaseModel):
    """A partial change: only the fields sent change (the rest keep their value)."""

    model_config = ConfigDict(extra="forbid")
    enabled: StrictBool = False
    cadence: Cadence = "1d"
    keep_n: StrictInt | None = Field(
        default=10, ge=1, le=KEEP_N_MAX, description="keep this many newest tags; null: no count"
    )
    older_than: OlderThan | None = Field(
        default="90d", description="delete only tags pushed longer ago; null: no age condition"
    )
    name_regex: str | None = Field(
        default=".*",
        max_length=255,
        description=PATTERN_HELP.format(what="tag name: tags to delete", empty="delete none"),
    )
    name_regex_keep: str | None = Field(
        default=None,
        max_length=255,
        description=PATTERN_HELP.format(what="tag name: tags to keep (wins)", empty="none"),
    )
    repository_regex: str | None = Field(
        default=None,
        max_length=255,
        description=PATTERN_HELP.format(what="repository path", empty="every repository"),
    )

    @field_validator("name_regex", "name_regex_keep", "repository_regex")
    @classmethod
    def _re2(cls, value: str | None, info) -> str | None:  # noqa: ANN001 - pydantic's info
        try:
            return check_pattern(value, info.field_name)
        except AdminError as error:
            raise ValueError(str(error)) from None

    def changes(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set)


class PolicyFields(BaseModel):
    enabled: bool
    cadence: Cadence
    keep_n: int | None
    older_than: OlderThan | None
    name_regex: str | None
    name_regex_keep: str | None
    repository_regex: str | None


class CleanupPolicyOut(PolicyFields):
    next_run_at: datetime | None = Field(description="when the scheduler runs it next")
    updated_at: datetime | None = Field(description="null: never saved (these are the defaults)")
    updated_by: str | None


class PreviewTag(BaseModel):
    name: str
    digest: str
    pushed_at: datetime


class SkippedTag(PreviewTag):
    reason: str


class RepositoryPreview(BaseModel):
    repository: str
    repository_id: int
    tag_count: int
    tags_to_delete: int
    tags_skipped: int
    tags: list[PreviewTag] = Field(description="what would be deleted, newest first")
    skipped: list[SkippedTag] = Field(description="chosen by the rules but kept, and why")


class CleanupPreview(BaseModel):
    policy: PolicyFields = Field(description="the policy previewed: the saved one and the body")
    tags_to_delete: int
    tags_skipped: int
    repositories: list[RepositoryPreview] = Field(description="every repository in scope")


class CleanupRunOut(BaseModel):
    id: int
    trigger: Literal["schedule", "manual"]
    actor: str
    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "done", "partial", "failed"]
    tags_deleted: int
    tags_skipped: int
    bytes_freed: int = Field(
        description="estimate of what garbage collection frees: see docs/operations.md"
    )
    errors: list[str]


class ReportTag(PreviewTag):
    reason: str | None = None


class ReportRepository(BaseModel):
    repository: str
    deleted: list[ReportTag]
    skipped: list[ReportTag]


class CleanupRunDetail(CleanupRunOut):
    repositories: list[ReportRepository]
    truncated: bool = Field(description="the lists stop at 5,000 tags; the counts are whole")
