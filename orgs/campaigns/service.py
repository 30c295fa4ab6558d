"""Campaigns and the coalition around them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.campaigns import consent, repository
from orgs.i18n import catalog
from orgs.models import (
    Campaign,
    CampaignStatus,
    Org,
    PartnerRole,
    Partnership,
    PartnershipStatus,
    utcnow,
)
from orgs.organisations.service import SLUG


def campaign_phase(campaign: Campaign, now: datetime | None = None) -> str:
    """``draft``, ``scheduled`` (live, before ``starts_at``), ``live`` or ``closed`` (closed,
    or live after ``ends_at``): what the public and the intake see."""
    now = now or utcnow()
    if campaign.status != CampaignStatus.LIVE.value:
        return campaign.status
    if campaign.ends_at is not None and campaign.ends_at <= now:
        return CampaignStatus.CLOSED.value
    if campaign.starts_at is not None and campaign.starts_at > now:
        return "scheduled"
    return CampaignStatus.LIVE.value


class CampaignError(ValueError):
    """A user-fixable problem with a campaign request."""


class CampaignExists(CampaignError):
    """The org already has a campaign of that name."""


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
    """Create a campaign led by ``lead`` in its name space (the lead partnership with it).

    Names are unique per creating org: another tenant's campaign of the same name neither
    collides nor is revealed.
    """
    if not SLUG.match(name):
        raise CampaignError(f"campaign name {name!r} must be a lowercase slug")
    assert lead.id is not None
    if await repository.campaign_in_namespace(session, lead.id, name) is not None:
        raise CampaignExists(f"your org already has a campaign named {name!r}")
    campaign = Campaign(
        org_id=lead.id,
        namespace_org_id=lead.id,
        name=name,
        title=title,
        goal=goal,
        status=status.value,
        consent_texts=consent_texts
        or consent.initial(catalog.default_consent_texts, catalog.SUPPORTED),
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
