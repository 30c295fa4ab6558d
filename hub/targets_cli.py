"""``coalition-hub targets import FILE.csv|json``: an operator loads a campaign's targets.

The file is read like ``upsertTargets`` input (orgs/targets/files.py) and goes through the
same service, acting as the org named by ``--org`` (the campaign's lead or a coordinator):
every problem is reported with its line, and nothing is written unless the whole file passes.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import ConfigurationError


class TargetsCommandError(click.ClickException):
    exit_code = 2


@click.group()
def targets() -> None:
    """A campaign's targets (mail to target: docs/mail-to-target.md)."""


@targets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="The lead or a coordinator org.")
@click.option("--campaign", required=True, help="The campaign's name (or org/name).")
@click.option(
    "--missing",
    type=click.Choice(["keep", "replace", "disable"]),
    default="keep",
    show_default=True,
    help="What becomes of the campaign's targets the file does not list.",
)
def import_(file: Path, org_name: str, campaign: str, missing: str) -> None:
    """Create or update the targets listed in FILE (.csv or .json), by external id."""
    from hub.cli import _org_id, _run_in_session, _settings
    from orgs.targets import files, service

    try:
        items, where = files.parse(file.name, file.read_bytes())
    except files.FileProblem as exc:
        raise TargetsCommandError(f"{file.name}: {exc}") from None
    if not items:
        raise TargetsCommandError(f"{file.name}: no targets in the file")

    async def work(session: AsyncSession) -> list[service.TargetView]:
        org_id = await _org_id(session, org_name)
        return await service.import_targets(
            session, org_id, campaign, items, service.Missing(missing)
        )

    try:
        views = _run_in_session(_settings(), work)
    except service.TargetError as exc:
        lines = []
        for problem in exc.problems:
            path = problem.field[1:]  # ("input", "targets", i, ...)
            if len(path) >= 2 and path[0] == "targets" and path[1].isdigit():
                rest = ".".join(path[2:])
                lines.append(f"{file.name}: {where(int(path[1]))}: {rest}: {problem.message}")
            elif path == ("campaign",):
                lines.append(f"campaign {campaign!r} as org {org_name!r}: {problem.message}")
            else:
                lines.append(f"{file.name}: {'.'.join(path)}: {problem.message}")
        raise TargetsCommandError("\n".join(lines)) from None
    except ConfigurationError:
        raise
    active = sum(1 for v in views if v.target.active)
    click.echo(
        f"imported {len(items)} targets into {campaign}: {len(views)} targets, {active} active"
    )
