"""Cleanup policies at work: save one, preview what it would delete, run it, and keep the
record of each run. The REST API, the UI, the CLI and the ``cleanup`` job all come here.

Tags are deleted through ``RegistryAdmin.delete_tags``, the path of every other delete,
in batches of 500, each tag only if it was not pushed again since it was chosen. A run
writes one audit event with its counts. ``may_delete`` is the seam for tag protection:
asked about each tag the rules chose, it answers None (delete it) or why the tag stays;
such a tag shows as skipped, with that reason, in the preview and in the run's report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from dockyard.admin import NotFound
from dockyard.admin.cleanup_policy import Policy, changed, next_run, rules
from dockyard.admin.registry import RegistryAdmin
from dockyard.auth.service import project_candidates
from dockyard.db.engine import Database
from dockyard.db.queries import cleanup as rows
from dockyard.db.queries import tokens as audit_rows
from dockyard.db.records import ProjectRecord
from dockyard.webhooks import outbox
from dockyard.webhooks.events import Event, Origin

log = logging.getLogger("dockyard.cleanup")

MayDelete = Callable[[str, str, str], "str | None"]  # (project, repository, tag) -> reason
Progress = tuple[Callable[[int], None], Callable[[int], None]]  # start(total), advance(n)
BATCH = 500
# Tags a tag page's cleanup verdict reads after the tag, at most: past this (a policy
# that matches few of a huge image's tags) the page says so rather than take seconds.
VERDICT_SCAN = 5000
REPORT_LIMIT = 5000  # tags listed in a stored run report; the counts are always whole
INTERRUPTED = "interrupted: the process running it stopped before it finished"
PUSHED_AGAIN = "pushed again while the cleanup ran"


def allow_all(_project: str, _repository: str, _tag: str) -> str | None:
    """The default guard: no tag is protected."""
    return None


@dataclass(frozen=True, slots=True)
class TagPlan:
    name: str
    digest: str
    pushed_at: datetime
    manifest_id: int
    reason: str | None = None  # why it stays although the rules chose it


@dataclass(frozen=True, slots=True)
class RepositoryPlan:
    repository_id: int
    repository: str
    tag_count: int
    delete: tuple[TagPlan, ...]
    skipped: tuple[TagPlan, ...]


@dataclass(frozen=True, slots=True)
class Preview:
    policy: Policy
    repositories: tuple[RepositoryPlan, ...]

    @property
    def to_delete(self) -> int:
        return sum(len(r.delete) for r in self.repositories)

    @property
    def skipped(self) -> int:
        return sum(len(r.skipped) for r in self.repositories)


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    policy: Policy
    saved: bool  # False: the project has none yet (these are the defaults)
    next_run_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class TagVerdict:
    """What the project's cleanup policy does to one tag, for its page."""

    enabled: bool
    next_run_at: datetime | None
    kept_because: str | None  # None: the next run deletes it (protection aside)
    settled: bool = True  # False: too many tags to tell here (kept_because says so)


@dataclass
class _Tally:
    deleted: list[tuple[str, TagPlan]] = field(default_factory=list)
    skipped: list[tuple[str, TagPlan]] = field(default_factory=list)
    repositories: set[str] = field(default_factory=set)
    bytes_freed: int = 0
    errors: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        listed: dict[str, dict[str, list[dict[str, Any]]]] = {}
        entries = [("deleted", r, t) for r, t in self.deleted]
        entries += [("skipped", r, t) for r, t in self.skipped]
        for kind, repository, tag in entries[:REPORT_LIMIT]:
            shown = listed.setdefault(repository, {"deleted": [], "skipped": []})
            item = {"name": tag.name, "digest": tag.digest, "pushed_at": tag.pushed_at.isoformat()}
            if kind == "skipped":
                item["reason"] = tag.reason
            shown[kind].append(item)
        return {
            "repositories": [{"repository": r, **lists} for r, lists in sorted(listed.items())],
            "truncated": len(entries) > REPORT_LIMIT,
        }


def _stored(row: rows.PolicyRow | None) -> StoredPolicy:
    if row is None:
        return StoredPolicy(Policy(), saved=False)
    policy = Policy(**{name: getattr(row, name) for name in rows.POLICY_FIELDS})
    return StoredPolicy(policy, True, row.next_run_at, row.updated_at, row.updated_by)


def _owner(repository: str, projects: set[str]) -> str | None:
    """The project a repository belongs to: the longest project path it starts with."""
    return next((p for p in project_candidates(repository) if p in projects), None)


class Cleanups:
    def __init__(
        self, db: Database, registry: RegistryAdmin, may_delete: MayDelete = allow_all
    ) -> None:
        self._db = db
        self._registry = registry
        self._may_delete = may_delete

    # --- the policy ---------------------------------------------------------------------

    def stored(self, project: ProjectRecord) -> StoredPolicy:
        with self._db.session() as conn:
            return _stored(rows.policy(conn, project.id))

    def save(
        self, project: ProjectRecord, changes: dict[str, Any], actor: str, by: str | None = None
    ) -> StoredPolicy:
        """Apply a partial change (only the fields given) and audit it (as ``actor``;
        ``by`` is the name shown as who saved it). Saving starts the schedule afresh, as
        in GitLab: the next run is one cadence from now."""
        policy = changed(self.stored(project).policy, changes)
        now = datetime.now(UTC)
        next_at = next_run(now, policy.cadence) if policy.enabled else None
        values = {name: getattr(policy, name) for name in rows.POLICY_FIELDS}
        with self._db.session(write=True) as conn:
            rows.save_policy(conn, project.id, values, next_at, now, by or actor)
            audit_rows.audit(conn, actor, "cleanup_policy", project.path, None, policy.describe())
        return self.stored(project)

    def verdict(
        self, project: ProjectRecord, repository_id: int, repository: str, tag: str
    ) -> TagVerdict | None:
        """Whether the saved policy's next run deletes ``tag`` and if not, why; None when
        the project has no policy. Reads only the tags ranked after it, and only as many
        as ``keep_n`` needs, so a tag page of a 100,000-tag image stays quick."""
        with self._db.session() as conn:
            found = rows.policy(conn, project.id)
            pushed = rows.tag_pushed_at(conn, repository_id, tag)
        if found is None or pushed is None:
            return None
        stored = _stored(found)
        compiled = rules(stored.policy, datetime.now(UTC))
        if not compiled.covers(repository):
            reason: str | None = "the policy does not cover this image repository"
        else:
            with closing(self._newer(repository_id, pushed, tag)) as newer:
                read = islice(newer, VERDICT_SCAN + 1)
                reason = compiled.selector.keeps(tag, pushed, lambda: read)
                if reason and reason.startswith("it is one of") and next(newer, None):
                    unsettled = (  # the walk stopped before keep_n was settled
                        f"fewer than {stored.policy.keep_n} of the {VERDICT_SCAN:,} tags "
                        "pushed right after it match the policy, and there are more; the "
                        "cleanup preview in the project's settings gives the whole answer"
                    )
                    return TagVerdict(stored.policy.enabled, stored.next_run_at, unsettled, False)
            reason = reason or self._refusal(project.path, repository, tag)
        return TagVerdict(stored.policy.enabled, stored.next_run_at, reason)

    def _newer(self, repository_id: int, pushed: datetime, tag: str) -> Iterator[str]:
        with self._db.session() as conn:
            yield from rows.newer_tag_names(conn, repository_id, pushed, tag)

    # --- preview and run ----------------------------------------------------------------

    def preview(
        self,
        project: ProjectRecord,
        changes: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Preview:
        """What the saved policy (with ``changes`` on top, not saved) would delete now."""
        policy = changed(self.stored(project).policy, changes or {})
        plans = self._plans(project, policy, datetime.now(UTC), progress)
        return Preview(policy, tuple(plans))

    def run(
        self,
        project: ProjectRecord,
        trigger: str,
        actor: str,
        progress: Progress | None = None,
    ) -> rows.RunRow:
        """Run the saved policy now (enabled or not) and record the run. The caller makes
        sure no other run of this project's policy is under way (the job queue's key)."""
        now = datetime.now(UTC)
        with self._db.session(write=True) as conn:
            found = rows.policy(conn, project.id)
            if found is None:
                raise NotFound(f"project {project.path} has no cleanup policy")
            rows.interrupt_runs(conn, project.id, now, INTERRUPTED)
            run_id = rows.start_run(conn, project.id, trigger, actor, now)
        tally = _Tally()
        try:
            for plan in self._plans(project, _stored(found).policy, now, progress):
                self._carry_out(plan, tally)
        except Exception as error:
            tally.errors.append(f"{type(error).__name__}: {error}"[:1000])
            self._finish(project, run_id, trigger, actor, tally, failed=True)
            raise
        return self._finish(project, run_id, trigger, actor, tally)

    def _plans(
        self, project: ProjectRecord, policy: Policy, now: datetime, progress: Progress | None
    ) -> Iterator[RepositoryPlan]:
        compiled = rules(policy, now)
        with self._db.session() as conn:
            projects = rows.projects_under(conn, project.path)
            repositories = [
                (rid, name)
                for rid, name in rows.repositories_under(conn, project.path)
                if _owner(name, projects) == project.path and compiled.covers(name)
            ]
        if progress is not None:
            progress[0](len(repositories))
        for repository_id, name in repositories:
            with self._db.session() as conn:
                tags = rows.tags_of(conn, repository_id)
            chosen = compiled.selector.select(tags, lambda t: t.name, lambda t: t.pushed_at)
            delete, skipped = [], []
            for tag in chosen:
                plan = TagPlan(tag.name, tag.digest, tag.pushed_at, tag.manifest_id)
                reason = self._refusal(project.path, name, tag.name)
                if reason is None:
                    delete.append(plan)
                else:
                    skipped.append(replace(plan, reason=reason))
            yield RepositoryPlan(repository_id, name, len(tags), tuple(delete), tuple(skipped))
            if progress is not None:
                progress[1](1)

    def _refusal(self, project: str, repository: str, tag: str) -> str | None:
        """Why the guard keeps a tag; a guard that fails keeps it (never delete when unsure)."""
        try:
            return self._may_delete(project, repository, tag)
        except Exception as error:
            log.exception("the deletion guard failed on %s:%s", repository, tag)
            return f"the protection check failed: {type(error).__name__}"

    def _carry_out(self, plan: RepositoryPlan, tally: _Tally) -> None:
        """Delete one repository's chosen tags; a failure is recorded, and the run goes on
        with the next repository."""
        tally.skipped += [(plan.repository, t) for t in plan.skipped]
        if not plan.delete:
            return
        try:
            for start in range(0, len(plan.delete), BATCH):
                batch = plan.delete[start : start + BATCH]
                pushed = {t.name: t.pushed_at for t in batch}
                self._registry.delete_tags(plan.repository_id, list(pushed), pushed)
            with self._db.session() as conn:
                names = [t.name for t in plan.delete]
                still = rows.present_tags(conn, plan.repository_id, names)
                gone = [t for t in plan.delete if t.name not in still]
                freed = rows.freed_bytes(conn, plan.repository_id, {t.manifest_id for t in gone})
        except Exception as error:
            log.exception("cleanup of %s failed", plan.repository)
            tally.errors.append(f"{plan.repository}: {type(error).__name__}: {error}"[:1000])
            return
        tally.deleted += [(plan.repository, t) for t in gone]
        kept = [replace(t, reason=PUSHED_AGAIN) for t in plan.delete if t.name in still]
        tally.skipped += [(plan.repository, t) for t in kept]
        tally.bytes_freed += freed
        if gone:
            tally.repositories.add(plan.repository)

    def _finish(
        self,
        project: ProjectRecord,
        run_id: int,
        trigger: str,
        actor: str,
        tally: _Tally,
        failed: bool = False,
    ) -> rows.RunRow:
        status = "failed" if failed else ("partial" if tally.errors else "done")
        said = (
            f"run {run_id} ({trigger}, {status}): deleted {len(tally.deleted)} tag(s) in "
            f"{len(tally.repositories)} repositories, skipped {len(tally.skipped)}, "
            f"about {tally.bytes_freed} bytes for garbage collection to free, "
            f"{len(tally.errors)} error(s)"
        )
        with self._db.session(write=True) as conn:
            rows.finish_run(
                conn,
                run_id,
                status=status,
                now=datetime.now(UTC),
                tags_deleted=len(tally.deleted),
                tags_skipped=len(tally.skipped),
                bytes_freed=tally.bytes_freed,
                errors=tally.errors,
                report=tally.report(),
            )
            audit_rows.audit(conn, actor, "cleanup", project.path, None, said)
            detail = {
                "run_id": run_id,
                "status": status,
                "tags_deleted": len(tally.deleted),
                "bytes_freed": tally.bytes_freed,
            }
            done = Event("cleanup_completed", project.path, detail=detail)
            outbox.emit(conn, done, Origin(actor, "system" if trigger != "manual" else "user"))
            found = rows.run(conn, project.id, run_id)
        assert found is not None
        return found

    # --- the record -----------------------------------------------------------------------

    def runs(
        self, project: ProjectRecord, offset: int = 0, limit: int = 20
    ) -> tuple[list[rows.RunRow], int]:
        """A page of runs, newest first, and how many there are."""
        with self._db.session() as conn:
            return rows.runs(conn, project.id, offset, limit), rows.count_runs(conn, project.id)

    def run_report(self, project: ProjectRecord, run_id: int) -> rows.RunRow:
        with self._db.session() as conn:
            found = rows.run(conn, project.id, run_id)
        if found is None:
            raise NotFound(f"no cleanup run {run_id} in {project.path}")
        return found
