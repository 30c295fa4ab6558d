"""SQL for campaigns and partnerships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import ActionPage, Campaign, Partnership, PartnershipStatus
from orgs.scoping import Scope


async def campaign_by_name(session: AsyncSession, name: str) -> Campaign | None:
    result = await session.execute(select(Campaign).where(col(Campaign.name) == name))
    return result.scalar_one_or_none()


async def campaigns_of_org(session: AsyncSession, scope: Scope, org_id: int) -> list[Campaign]:
    """Campaigns ``org_id`` leads or takes part in (active partnership), if the subject is staff."""
    if org_id not in scope.member_org_ids():
        return []
    result = await session.execute(
        select(Campaign)
        .join(Partnership, col(Partnership.campaign_id) == col(Campaign.id))
        .where(
            col(Partnership.org_id) == org_id,
            col(Partnership.status) == PartnershipStatus.ACTIVE.value,
        )
        .order_by(col(Campaign.id))
    )
    return list(result.scalars())


async def member_campaign_by_name(
    session: AsyncSession, scope: Scope, name: str
) -> Campaign | None:
    """A campaign one of the subject's orgs takes part in; any other answers None."""
    ids = scope.member_org_ids()
    if not ids:
        return None
    result = await session.execute(
        select(Campaign)
        .join(Partnership, col(Partnership.campaign_id) == col(Campaign.id))
        .where(col(Campaign.name) == name, col(Partnership.org_id).in_(sorted(ids)))
        .limit(1)
    )
    return result.scalar_one_or_none()


async def partnership_of(
    session: AsyncSession, campaign_id: int, org_id: int
) -> Partnership | None:
    """The partnership of ``org_id`` in a campaign the caller already resolved through a scope."""
    result = await session.execute(
        select(Partnership).where(
            col(Partnership.campaign_id) == campaign_id, col(Partnership.org_id) == org_id
        )
    )
    return result.scalar_one_or_none()


async def partnerships_of_campaign(session: AsyncSession, campaign_id: int) -> list[Partnership]:
    result = await session.execute(
        select(Partnership)
        .where(col(Partnership.campaign_id) == campaign_id)
        .order_by(col(Partnership.id))
    )
    return list(result.scalars())


async def pages_of_partner(
    session: AsyncSession, campaign_id: int, org_id: int
) -> list[ActionPage]:
    result = await session.execute(
        select(ActionPage)
        .where(col(ActionPage.campaign_id) == campaign_id, col(ActionPage.org_id) == org_id)
        .order_by(col(ActionPage.id))
    )
    return list(result.scalars())


async def campaign_by_id(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)
