"""Campaign stats: totals for every partner, breakdowns by role (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.scoping import Membership, Scope
from orgs.stats import repository
from permissions import policies
from permissions.roles import Permission

DIMENSIONS = ("source", "medium", "campaign", "country", "day")


@dataclass
class CampaignStats:
    supporters: int
    actions: int
    by_partner: list[tuple[str, str, int]] | None
    own: dict[str, list[tuple[str | None, int]]]


async def campaign_stats(
    session: AsyncSession, scope: Scope, campaign: str
) -> CampaignStats | None:
    membership: Membership | None = await scope.campaign_membership(
        session, campaign, Permission.VIEW_STATS
    )
    if membership is None:
        return None
    if not policies.can_view_stats(scope.subject, membership.org_id, membership.reading_role):
        return None
    supporters, actions = await repository.totals(session, scope, membership)
    by_partner = None
    if policies.can_view_partner_breakdown(scope.subject, membership.org_id, membership.role):
        by_partner = await repository.by_partner_page(session, scope, membership)
    own = {d: await repository.own_breakdown(session, scope, membership, d) for d in DIMENSIONS}
    return CampaignStats(supporters, actions, by_partner, own)
