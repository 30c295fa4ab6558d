"""SQL for orgs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import Org
from orgs.scoping import Scope


async def org_by_name(session: AsyncSession, name: str) -> Org | None:
    result = await session.execute(select(Org).where(col(Org.name) == name))
    return result.scalar_one_or_none()


async def org_by_id(session: AsyncSession, org_id: int) -> Org | None:
    """An org by id, for a caller that already resolved it through a scope."""
    return await session.get(Org, org_id)


async def org_name(session: AsyncSession, org_id: int) -> str:
    result = await session.execute(select(col(Org.name)).where(col(Org.id) == org_id))
    return str(result.scalar_one())


async def member_org_by_name(session: AsyncSession, scope: Scope, name: str) -> Org | None:
    """An org the subject belongs to; another org's name answers None (not found)."""
    ids = scope.member_org_ids()
    if not ids:
        return None
    result = await session.execute(
        select(Org).where(col(Org.name) == name, col(Org.id).in_(sorted(ids)))
    )
    return result.scalar_one_or_none()


async def member_orgs(session: AsyncSession, scope: Scope) -> list[Org]:
    ids = scope.member_org_ids()
    if not ids:
        return []
    result = await session.execute(
        select(Org).where(col(Org.id).in_(sorted(ids))).order_by(col(Org.name))
    )
    return list(result.scalars())
