"""SQL for campaigns and partnerships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from orgs.models import ActionPage, Campaign, CampaignStatus, Partnership, PartnershipStatus
from orgs.scoping import Scope, campaign_name_filter


async def campaign_in_namespace(
    session: AsyncSession, namespace_org_id: int, name: str
) -> Campaign | None:
    """The campaign ``name`` in one org's name space (the only place names must be unique)."""
    result = await session.execute(
        select(Campaign).where(
            col(Campaign.namespace_org_id) == namespace_org_id, col(Campaign.name) == name
        )
    )
    return result.scalar_one_or_none()


async def public_campaign(session: AsyncSession, name: str) -> Campaign | None:
    """A campaign anyone may name: not a draft, and named unambiguously (a bare name that
    several tenants use must be qualified as ``<org>/<name>``)."""
    result = await session.execute(
        select(Campaign)
        .where(campaign_name_filter(name), col(Campaign.status) != CampaignStatus.DRAFT.value)
        .limit(2)
    )
    rows = list(result.scalars())
    return rows[0] if len(rows) == 1 else None


async def public_campaign_ids(conn: AsyncConnection, name: str) -> list[int]:
    """Ids of every non-draft campaign named ``name`` (bare or qualified)."""
    result = await conn.execute(
        select(col(Campaign.id)).where(
            campaign_name_filter(name), col(Campaign.status) != CampaignStatus.DRAFT.value
        )
    )
    return [int(row.id) for row in result]


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


async def member_campaign(session: AsyncSession, scope: Scope, campaign_id: int) -> Campaign | None:
    """A campaign one of the subject's orgs takes part in; any other answers None."""
    ids = scope.member_org_ids()
    if not ids:
        return None
    result = await session.execute(
        select(Campaign)
        .join(Partnership, col(Partnership.campaign_id) == col(Campaign.id))
        .where(col(Campaign.id) == campaign_id, col(Partnership.org_id).in_(sorted(ids)))
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


async def partnership_changed(session: AsyncSession, partnership: Partnership) -> bool:
    """Whether the partnership row changed (status, role) since ``partnership`` was read."""
    result = await session.execute(
        select(col(Partnership.status), col(Partnership.updated_at)).where(
            col(Partnership.id) == partnership.id
        )
    )
    row = result.first()
    return row is None or (row.status, row.updated_at) != (
        partnership.status,
        partnership.updated_at,
    )
