"""SQL for action pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from orgs.models import ActionPage, Campaign, CampaignStatus, Org, PageStatus
from orgs.scoping import Scope

PUBLIC_STATUSES = (PageStatus.LIVE.value, PageStatus.CLOSED.value)


PublicPage = tuple[ActionPage, Org, Campaign, Org]


async def public_page(
    session: AsyncSession, *, page_id: int | None = None, name: str | None = None
) -> PublicPage | None:
    """A page the public may see (live or closed) with its org, campaign and lead org,
    detached from the session (safe to keep after the request).

    Never a page of a draft campaign: page ids are sequential, and a draft (its name, title,
    lead) stays invisible to other tenants and the public, as the intake refuses it too.
    """
    lead = aliased(Org)
    query = (
        select(ActionPage, Org, Campaign, lead)
        .join(Org, col(Org.id) == col(ActionPage.org_id))
        .join(Campaign, col(Campaign.id) == col(ActionPage.campaign_id))
        .join(lead, col(lead.id) == col(Campaign.org_id))
        .where(
            col(ActionPage.status).in_(PUBLIC_STATUSES),
            col(Campaign.status) != CampaignStatus.DRAFT.value,
        )
    )
    if page_id is not None:
        query = query.where(col(ActionPage.id) == page_id)
    if name is not None:
        query = query.where(col(ActionPage.name) == name)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    found: PublicPage = (row[0], row[1], row[2], row[3])
    # detached with their values loaded: callers cache them across requests, and a rollback
    # of this session must not expire what the cache holds
    for item in {id(item): item for item in found}.values():
        session.expunge(item)
    return found


async def pages_of_org(session: AsyncSession, scope: Scope, org_id: int) -> list[ActionPage]:
    if org_id not in scope.member_org_ids():
        return []
    result = await session.execute(
        select(ActionPage).where(col(ActionPage.org_id) == org_id).order_by(col(ActionPage.id))
    )
    return list(result.scalars())


async def page_by_name(session: AsyncSession, name: str) -> ActionPage | None:
    result = await session.execute(select(ActionPage).where(col(ActionPage.name) == name))
    return result.scalar_one_or_none()


async def member_page_by_id(session: AsyncSession, scope: Scope, page_id: int) -> ActionPage | None:
    """A page owned by one of the subject's orgs; any other answers None."""
    ids = scope.member_org_ids()
    if not ids:
        return None
    result = await session.execute(
        select(ActionPage).where(
            col(ActionPage.id) == page_id, col(ActionPage.org_id).in_(sorted(ids))
        )
    )
    return result.scalar_one_or_none()
