"""Campaigns and the coalition around them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.campaigns import repository
from orgs.models import (
    Campaign,
    CampaignStatus,
    Org,
    PartnerRole,
    Partnership,
    PartnershipStatus,
)
from orgs.organisations.service import SLUG


class CampaignError(ValueError):
    """A user-fixable problem with a campaign request."""


async def create_campaign(
    session: AsyncSession,
    lead: Org,
    name: str,
    title: str,
    *,
    goal: int | None = None,
    status: CampaignStatus = CampaignStatus.DRAFT,
    consent_texts: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> Campaign:
    """Create a campaign led by ``lead`` (its lead partnership is created with it)."""
    if not SLUG.match(name):
        raise CampaignError(f"campaign name {name!r} must be a lowercase slug")
    if await repository.campaign_by_name(session, name) is not None:
        raise CampaignError(f"a campaign named {name!r} already exists")
    assert lead.id is not None
    campaign = Campaign(
        org_id=lead.id,
        name=name,
        title=title,
        goal=goal,
        status=status.value,
        consent_texts=consent_texts or {},
        config=config or {},
    )
    session.add(campaign)
    await session.flush()
    assert campaign.id is not None
    session.add(
        Partnership(
            campaign_id=campaign.id,
            org_id=lead.id,
            role=PartnerRole.LEAD.value,
            status=PartnershipStatus.ACTIVE.value,
        )
    )
    await session.flush()
    return campaign


async def add_partner(
    session: AsyncSession,
    campaign: Campaign,
    org: Org,
    *,
    role: PartnerRole = PartnerRole.PARTNER,
    status: PartnershipStatus = PartnershipStatus.ACTIVE,
    delivery: bool = False,
) -> Partnership:
    assert campaign.id is not None
    assert org.id is not None
    partnership = Partnership(
        campaign_id=campaign.id,
        org_id=org.id,
        role=role.value,
        status=status.value,
        delivery=delivery,
    )
    session.add(partnership)
    await session.flush()
    return partnership
