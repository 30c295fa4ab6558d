"""SQL for an org's staff list and the audit trail of staff changes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import Staffer, StaffRole, User
from orgs.scoping import Scope
from permissions.roles import Permission


async def staff_of_org(
    session: AsyncSession, scope: Scope, org_id: int
) -> list[tuple[Staffer, str]]:
    """Staff of ``org_id`` with their emails; empty unless the scope may manage its staff."""
    result = await session.execute(
        select(Staffer, col(User.email))
        .join(User, col(User.id) == col(Staffer.user_id))
        .where(
            col(Staffer.org_id) == org_id,
            scope.org_filter(col(Staffer.org_id), Permission.MANAGE_STAFF),
        )
        .order_by(col(User.email))
    )
    return [(staffer, email) for staffer, email in result.all()]


async def staffer_for_update(
    session: AsyncSession, scope: Scope, org_id: int, user_id: int
) -> Staffer | None:
    result = await session.execute(
        select(Staffer)
        .where(
            col(Staffer.org_id) == org_id,
            col(Staffer.user_id) == user_id,
            scope.org_filter(col(Staffer.org_id), Permission.MANAGE_STAFF),
        )
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def owner_count(session: AsyncSession, scope: Scope, org_id: int) -> int:
    """Owners of ``org_id``, rows locked so two concurrent removals cannot both pass."""
    rows = await session.execute(
        select(col(Staffer.id))
        .where(
            col(Staffer.org_id) == org_id,
            col(Staffer.role) == StaffRole.OWNER.value,
            scope.org_filter(col(Staffer.org_id), Permission.MANAGE_STAFF),
        )
        .with_for_update()
    )
    return len(rows.all())


async def delete_staffer(session: AsyncSession, staffer: Staffer) -> None:
    await session.delete(staffer)
    await session.flush()
