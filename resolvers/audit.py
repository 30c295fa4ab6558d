"""The audit log: the org by name within the caller's scope, then orgs/audit."""

from __future__ import annotations

from orgs.audit import repository
from orgs.audit.repository import AuditEntry
from resolvers import org as orgs
from resolvers.context import Context

MAX_PAGE = 200


async def audit_log(
    ctx: Context, org: str, action: str | None, first: int, before_id: int | None
) -> list[AuditEntry]:
    row = await orgs.org(ctx, org)
    if row is None or row.id is None:
        return []
    return await repository.events(
        await ctx.session(),
        ctx.scope,
        row.id,
        first=max(1, min(first, MAX_PAGE)),
        before_id=before_id,
        action_prefix=action,
    )
