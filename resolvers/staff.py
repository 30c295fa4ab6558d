"""Staff management: resolve the org by name within the caller's scope, then the service."""

from __future__ import annotations

from orgs.models import Staffer, StaffRole
from orgs.organisations import repository as organisations
from orgs.staff import service
from orgs.staff.service import StaffError
from resolvers.context import Context


async def _org_id(ctx: Context, org: str) -> int | None:
    row = await organisations.member_org_by_name(await ctx.session(), ctx.scope, org)
    return row.id if row is not None else None


async def staff(ctx: Context, org: str) -> list[tuple[Staffer, str]]:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return []
    return await service.list_staff(await ctx.session(), ctx.scope, org_id)


async def change_staff_role(
    ctx: Context, org: str, user_id: int, role: StaffRole
) -> Staffer | StaffError:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return service.NOT_FOUND
    return await service.change_role(await ctx.session(), ctx.scope, org_id, user_id, role)


async def remove_staff(ctx: Context, org: str, user_id: int) -> Staffer | StaffError:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return service.NOT_FOUND
    return await service.remove(await ctx.session(), ctx.scope, org_id, user_id)


async def invite_staff(ctx: Context, org: str, email: str, role: StaffRole) -> str | StaffError:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return StaffError(("input", "org"), service.StaffErrorCode.NOT_FOUND, "No such org")
    session = await ctx.session()
    return await service.invite(session, ctx.scope, org_id, email, role, ctx.settings.public_url)
