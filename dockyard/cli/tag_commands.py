"""``dockyard tag copy SRC DST``: promote an image without moving its bytes. The CLI acts
as the server's operator, with an admin's access level (immutable tags still refuse)."""

from __future__ import annotations

import typer

from dockyard.cli.admin_commands import database
from dockyard.cli.output import OUTPUT, Output, fail, render_object

tag_app = typer.Typer(no_args_is_help=True, help="Tags across repositories: promotion.")
NOT_FOUND_HINT = (
    "See a project's repositories and tags in the web UI or at "
    "GET /api/v1/projects/PROJECT/registry/repositories."
)


def register(app: typer.Typer) -> None:
    app.add_typer(tag_app, name="tag")


@tag_app.command("copy")
def tag_copy(
    source: str = typer.Argument(..., help="project/repository:tag to copy."),
    target: str = typer.Argument(
        ..., help="project/repository[:tag] to point at the same image (default: same tag)."
    ),
    referrers: bool = typer.Option(
        False, "--referrers", help="Copy signatures, SBOMs and other referrers too."
    ),
    output: Output = OUTPUT,
) -> None:
    """Point TARGET at SOURCE's image by reference, in one transaction: no bytes move, so
    it takes milliseconds whatever the image's size. Children of an index come along."""
    from datetime import timedelta

    from dockyard.admin.tag_protection import TagProtection
    from dockyard.auth.principal import ANONYMOUS
    from dockyard.auth.service import project_candidates
    from dockyard.config import load_settings
    from dockyard.db.queries.accounts import longest_project
    from dockyard.oci.errors import RegistryError
    from dockyard.registry.manifests import Manifests
    from dockyard.registry.promotion import Promotion, parse_target

    settings = load_settings()
    name, colon, tag = source.rpartition(":")
    if not colon or "/" in tag:
        fail(f"{source!r} names no tag", "Write the source as project/repository:tag.")
    with database(NOT_FOUND_HINT) as db:
        try:
            target_name, target_tag = parse_target(target, tag)
            with db.session() as conn:
                owner = longest_project(conn, project_candidates(target_name))
            if owner is None:
                fail(
                    f"no project holds {target_name}",
                    "Create the project first: dockyard project create PATH.",
                )
            manifests = Manifests(
                db,
                settings.max_manifest_bytes,
                settings.scan_on_push,
                timedelta(seconds=settings.gc_review_delay_seconds),
            )
            guard = TagProtection(db, auth_on=False).guard(ANONYMOUS, target_name, target_tag)
            copied = Promotion(db, manifests).copy(
                name, tag, target_name, target_tag, guard, referrers
            )
        except RegistryError as error:
            fail(f"cannot copy {source} to {target}: {error.message}", _hint(error))
    row = {
        "source": source,
        "target": f"{target_name}:{target_tag}",
        "digest": copied.digest,
        "manifests": copied.manifests,
        "blobs": copied.blobs,
    }
    if output is Output.json:
        render_object(row)
        return
    typer.echo(
        f"{row['target']} -> {copied.digest} ({copied.manifests} manifests, "
        f"{copied.blobs} blobs linked; no bytes copied)"
    )


def _hint(error: object) -> str:
    status = getattr(error, "status", 400)
    if status == 404:
        return NOT_FOUND_HINT
    if status == 403:
        return "The target refuses it: see 'dockyard protection list' and the project's quota."
    return "Check the names: project/repository:tag, lowercase, as docker writes them."
