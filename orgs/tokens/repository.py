"""SQL for an org's API tokens, limited to orgs whose tokens the scope may manage."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import ApiToken
from orgs.scoping import Scope
from permissions.roles import Permission


async def tokens_of_org(session: AsyncSession, scope: Scope, org_id: int) -> list[ApiToken]:
    result = await session.execute(
        select(ApiToken)
        .where(
            col(ApiToken.org_id) == org_id,
            scope.org_filter(col(ApiToken.org_id), Permission.MANAGE_TOKENS),
        )
        .order_by(col(ApiToken.id))
    )
    return list(result.scalars())


async def token_for_update(
    session: AsyncSession, scope: Scope, org_id: int, token_id: int
) -> ApiToken | None:
    result = await session.execute(
        select(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            col(ApiToken.org_id) == org_id,
            scope.org_filter(col(ApiToken.org_id), Permission.MANAGE_TOKENS),
        )
        .with_for_update()
    )
    return result.scalar_one_or_none()
