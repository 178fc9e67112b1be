"""Vulnerability reports: per manifest, per project; and rescans on request.

Reading needs pull rights (``read``) on the repository or project, like every other
registry read; queueing a rescan needs push rights (Developer and above), because it
spends the server's time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from dockyard.admin.vulnerabilities import Report, Vulnerabilities
from dockyard.auth.principal import Principal
from dockyard.http.api import guards, schemas
from dockyard.http.api.deps import api, caller

router = APIRouter(tags=["vulnerabilities"])
DigestPath = Path(min_length=1, max_length=200, description="Manifest digest (sha256:...).")


class Os(BaseModel):
    id: str
    version: str


class Summary(BaseModel):
    critical: int
    high: int
    medium: int
    low: int
    unknown: int


class Vulnerability(BaseModel):
    id: str
    aliases: list[str]
    summary: str
    package: str
    ecosystem: str
    installed_version: str
    fixed_version: str | None
    severity: str
    cvss_score: float | None
    source_package: str | None
    layer_digest: str
    path: str
    first_seen_at: datetime


class PlatformOut(BaseModel):
    digest: str
    platform: dict[str, Any] | None
    status: str | None
    summary: Summary


class ReportBase(BaseModel):
    status: str | None
    reason: str | None
    scanned_at: datetime | None
    os: Os | None
    summary: Summary


class ImageReport(ReportBase):
    vulnerabilities: list[Vulnerability]


class IndexReport(ReportBase):
    manifests: list[PlatformOut]


class ScanQueued(BaseModel):
    queued: list[str]


class ImageOut(BaseModel):
    repository: str
    repository_id: int
    tags: list[str]
    digest: str
    status: str | None
    summary: Summary


def _vulnerability(row: dict[str, Any]) -> Vulnerability:
    return Vulnerability(
        id=row["advisory_id"],
        aliases=row["aliases"],
        summary=row["summary"],
        package=row["package_name"],
        ecosystem=row["ecosystem"],
        installed_version=row["package_version"],
        fixed_version=row["fixed_version"],
        severity=row["severity"],
        cvss_score=row["cvss_score"],
        source_package=row["source_name"],
        layer_digest=row["layer_digest"],
        path=row["path"],
        first_seen_at=row["first_seen_at"],
    )


def _report(report: Report) -> ImageReport | IndexReport:
    base = {
        "status": report.status,
        "reason": report.reason,
        "scanned_at": report.scanned_at,
        "os": Os(**report.os) if report.os else None,
        "summary": Summary(**report.summary),
    }
    if report.manifests is not None:
        platforms = [
            PlatformOut(
                digest=p.digest, platform=p.platform, status=p.status, summary=Summary(**p.summary)
            )
            for p in report.manifests
        ]
        return IndexReport(**base, manifests=platforms)
    return ImageReport(**base, vulnerabilities=[_vulnerability(r) for r in report.findings or []])


@router.get(
    "/registry/repositories/{repository_id}/manifests/{digest}/vulnerabilities",
    response_model=ImageReport | IndexReport,
)
async def manifest_vulnerabilities(
    repository_id: schemas.Id,
    request: Request,
    digest: str = DigestPath,
    principal: Principal = Depends(caller),
) -> ImageReport | IndexReport:
    """The scan of an image (its findings, worst first) or of an index (per platform)."""
    ctx = api(request)
    await guards.repository(ctx, principal, repository_id, "read")
    report = await ctx.call(Vulnerabilities(ctx.db).report, repository_id, digest)
    return _report(report)


@router.post(
    "/registry/repositories/{repository_id}/manifests/{digest}/scan",
    status_code=202,
    response_model=ScanQueued,
)
async def scan_manifest(
    repository_id: schemas.Id,
    request: Request,
    digest: str = DigestPath,
    principal: Principal = Depends(caller),
) -> ScanQueued:
    """Queue a rescan (of each platform, for an index); the digests queued."""
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "push")
    queued = await ctx.call(Vulnerabilities(ctx.db).rescan, repository_id, repo.name, digest)
    return ScanQueued(queued=queued)


@router.get(
    "/registry/repositories/{repository_id}/manifests/{digest}/sbom",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def manifest_sbom(
    repository_id: schemas.Id,
    request: Request,
    digest: str = DigestPath,
    format: Literal["cyclonedx", "spdx"] = Query("cyclonedx"),  # noqa: A002 - the contract's name
    principal: Principal = Depends(caller),
) -> Response:
    """The image's package inventory as CycloneDX 1.6 (default) or SPDX 2.3 JSON."""
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "read")
    body = await ctx.call(Vulnerabilities(ctx.db).sbom, repository_id, repo.name, digest, format)
    media = "application/vnd.cyclonedx+json" if format == "cyclonedx" else "application/spdx+json"
    name = f"{repo.name.replace('/', '_')}_{digest.replace(':', '-')[:19]}.{format}.json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/projects/{project:path}/vulnerabilities", response_model=list[ImageOut])
async def project_vulnerabilities(
    project: str, request: Request, principal: Principal = Depends(caller)
) -> list[ImageOut]:
    """The project's tagged images with their summaries, worst first."""
    ctx = api(request)
    await guards.project(ctx, principal, project, "read")
    repositories = await ctx.call(ctx.registry.project_repositories, project)
    images = await ctx.call(Vulnerabilities(ctx.db).images, {r.id: r.name for r in repositories})
    return [
        ImageOut(
            repository=i.repository,
            repository_id=i.repository_id,
            tags=i.tags,
            digest=i.digest,
            status=i.status,
            summary=Summary(**i.summary),
        )
        for i in images
    ]
