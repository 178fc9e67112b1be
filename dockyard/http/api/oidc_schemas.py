"""Bodies of the keyless CI login endpoints (OIDC trusts and the token exchange)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TrustIn(BaseModel):
    issuer: str = Field(
        min_length=1, max_length=255, examples=["https://token.actions.githubusercontent.com"]
    )
    audience: str = Field(min_length=1, max_length=255, examples=["https://registry.example.com"])
    claims: dict[str, str] = Field(
        description="Claim name to exact value or glob (*, ?, [..]) over the whole value; "
        "all must match.",
        examples=[{"repository": "acme/app", "ref": "refs/heads/main"}],
    )
    role: Literal["reporter", "developer"]


class TrustOut(TrustIn):
    id: int
    project: str
    created_by: str
    created_at: datetime


class ExchangeIn(BaseModel):
    token: str = Field(min_length=1, max_length=16384, description="The CI job's OIDC ID token.")


class ProjectGrant(BaseModel):
    project: str
    role: Literal["reporter", "developer"]


class ExchangeOut(BaseModel):
    username: str = Field(description="Log in with this username and the password.")
    password: str
    expires_at: datetime
    expires_in: int
    projects: list[ProjectGrant]
