"""Bodies of the webhook endpoints. The secret is write-only: answers say only whether
one is set."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from dockyard.webhooks.events import EVENTS

EventName = Literal[EVENTS]  # type: ignore[valid-type]
Format = Literal["dockyard", "distribution"]


class HookIn(BaseModel):
    """A new hook: ``url``, ``secret`` and ``events`` are required."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048, description="http(s) URL; public addresses only")
    secret: str = Field(min_length=1, max_length=255, description="signs each delivery")
    events: list[EventName] = Field(min_length=1)
    repository_regex: str | None = Field(
        default=None, max_length=255, description="RE2, matched against the whole repository"
    )
    enabled: StrictBool = True
    format: Format = Field(
        default="dockyard",
        description="dockyard JSON, or Distribution's notification envelope",
    )

    def changes(self) -> dict[str, object]:
        return self.model_dump()


class HookChange(BaseModel):
    """Only the fields sent change; any edit clears ``failing``."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2048)
    secret: str | None = Field(default=None, min_length=1, max_length=255)
    events: list[EventName] | None = Field(default=None, min_length=1)
    repository_regex: str | None = Field(default=None, max_length=255)
    enabled: StrictBool | None = None
    format: Format | None = None

    def changes(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set)


class HookOut(BaseModel):
    id: int
    scope: str
    url: str
    secret_set: bool = True
    events: list[str]
    repository_regex: str | None
    enabled: bool
    format: str
    failing: bool = Field(description="a delivery used every attempt; an edit clears it")
    consecutive_failures: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    updated_by: str


class DeliveryOut(BaseModel):
    id: str = Field(description="the X-Dockyard-Delivery header, the same on every retry")
    event: str
    state: Literal["queued", "delivered", "failed"]
    created_at: datetime
    attempted_at: datetime | None
    attempt: int
    status_code: int | None
    duration_ms: int | None
    response_body: str | None = Field(description="the first 1024 characters")
    error: str | None
    redelivery_of: str | None
