"""Campaign stats for partners: totals for all, breakdowns by role."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import stats as resolvers
from resolvers.context import Context
from schema.permissions import require_scope


@strawberry.type
class PartnerPageCount:
    org: str
    page: str
    actions: int


@strawberry.type
class Bucket:
    key: str | None
    actions: int


@strawberry.type
class OwnBreakdown:
    source: list[Bucket]
    medium: list[Bucket]
    campaign: list[Bucket]
    country: list[Bucket] = strawberry.field(
        description="The supporters your own pages brought, by the country they gave there."
    )
    day: list[Bucket]


@strawberry.type
class CampaignStats:
    supporters: int
    actions: int
    by_partner: list[PartnerPageCount] | None = strawberry.field(
        description="Per partner org and page; lead and coordinators only (null otherwise)."
    )
    own: OwnBreakdown = strawberry.field(description="Your org's own actions by UTM, country, day.")


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="Stats of a campaign your org takes part in; null for any other campaign.",
        permission_classes=[require_scope("stats:read")],
    )
    async def campaign_stats(
        self, info: Info[Context, None], campaign: str
    ) -> CampaignStats | None:
        stats = await resolvers.campaign_stats(info.context, campaign)
        if stats is None:
            return None

        def buckets(dimension: str) -> list[Bucket]:
            return [Bucket(key=k, actions=n) for k, n in stats.own[dimension]]

        return CampaignStats(
            supporters=stats.supporters,
            actions=stats.actions,
            by_partner=None
            if stats.by_partner is None
            else [PartnerPageCount(org=o, page=p, actions=n) for o, p, n in stats.by_partner],
            own=OwnBreakdown(
                source=buckets("source"),
                medium=buckets("medium"),
                campaign=buckets("campaign"),
                country=buckets("country"),
                day=buckets("day"),
            ),
        )
