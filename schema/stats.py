"""Campaign stats: totals for every partner, breakdowns by role (orgs/stats/service.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from orgs.stats import service
from orgs.stats.service import Breakdown as BreakdownValue
from orgs.stats.service import Coverage as CoverageValue
from resolvers import stats as resolvers
from resolvers import targets as target_reads
from resolvers.context import Context
from schema.permissions import require_scope
from schema.public import MailToTargetStats

StatsCoverage = strawberry.enum(
    CoverageValue,
    name="StatsCoverage",
    description="Which pages the breakdowns cover: CAMPAIGN (the lead and coordinators) or "
    "OWN_PAGES (any other partner: its own pages).",
)
StatsDimension = strawberry.enum(
    BreakdownValue,
    name="StatsDimension",
    description="What a breakdown counts by. Signatures: counted, each person once per page; "
    "NEW_OR_RETURNING keys are `new` and `returning`; COUNTRY counts new supporters by the "
    "country they gave; SHARE_MEDIUM counts shares; FLAGGED counts actions not counted.",
)
From = Annotated[
    date | None, strawberry.argument(name="from", description="First UTC day (inclusive).")
]
To = Annotated[date | None, strawberry.argument(description="Last UTC day (inclusive).")]


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
    source: list[Bucket] = strawberry.field(description="Your pages' signatures by utm_source.")
    medium: list[Bucket]
    campaign: list[Bucket] = strawberry.field(description="By utm_campaign.")
    country: list[Bucket] = strawberry.field(
        description="The supporters your own pages brought, by the country they gave there."
    )
    day: list[Bucket] = strawberry.field(description="Signatures per UTC day (key: the day).")


@strawberry.type
class StatsCount:
    key: str = strawberry.field(description='The value counted ("" when none was given).')
    count: int


@strawberry.type
class DayStats:
    day: date
    signatures: int
    new_supporters: int = strawberry.field(description="People counted for the first time.")
    returning: int = strawberry.field(description="Signatures of people counted before.")


@strawberry.type
class PageStats:
    page: str
    org: str
    signatures: int
    new_supporters: int
    actions: list[StatsCount] = strawberry.field(description="Counted actions per type.")

    @classmethod
    def build(cls, row: service.PageStats) -> PageStats:
        return cls(
            page=row.page,
            org=row.org,
            signatures=row.signatures,
            new_supporters=row.new_supporters,
            actions=[StatsCount(key=k, count=n) for k, n in sorted(row.actions.items())],
        )


@strawberry.type
class PartnerStats:
    org: str
    signatures: int
    new_supporters: int
    actions: int
    pages: list[PageStats]


@strawberry.type
class ReferralStats:
    generation: int = strawberry.field(
        description="1: shared by someone who came directly; 2: by someone a share brought; ..."
    )
    sharer_page: str | None = strawberry.field(
        description="The page the sharer signed on; null when it is another partner's."
    )
    medium: str = strawberry.field(description="Where the link was shared (utm_medium).")
    signatures: int


@strawberry.type
class GenerationCount:
    generation: int
    signatures: int


@strawberry.type
class ShareMediumStats:
    medium: str
    shares: int = strawberry.field(description="Share actions to this medium.")
    signatures: int = strawberry.field(description="Signatures its links brought (all levels).")
    by_generation: list[GenerationCount]


@strawberry.type
class DoubleOptInStats:
    asked: int = strawberry.field(description="People asked to confirm their address.")
    confirmed: int
    rate: float | None = strawberry.field(description="confirmed / asked; null when none asked.")


@strawberry.type(
    description="A campaign's numbers: totals for every partner; breakdowns of the pages "
    "`coverage` says (counts, never personal data). Days are UTC."
)
class CampaignStats:
    view: strawberry.Private[service.StatsView]
    supporters: int = strawberry.field(description="People counted in the campaign, once each.")
    actions: int = strawberry.field(description="Counted actions, once per person, page, type.")
    goal: int | None
    by_type: list[StatsCount] = strawberry.field(
        description="The campaign's counted actions per type, once per person and type."
    )
    coverage: StatsCoverage  # type: ignore[valid-type]

    @strawberry.field(
        description="Per partner org and page; lead and coordinators only (null otherwise)."
    )
    async def by_partner(self, info: Info[Context, None]) -> list[PartnerPageCount] | None:
        found = await resolvers.by_partner_page(info.context, self.view)
        if found is None:
            return None
        return [PartnerPageCount(org=o, page=p, actions=n) for o, p, n in found]

    @strawberry.field(description="Your org's own pages by UTM, country and day.")
    async def own(self, info: Info[Context, None]) -> OwnBreakdown:
        own = await resolvers.own_breakdown(info.context, self.view)

        def buckets(dimension: str) -> list[Bucket]:
            return [Bucket(key=k, actions=n) for k, n in own[dimension]]

        return OwnBreakdown(
            source=buckets("source"),
            medium=buckets("medium"),
            campaign=buckets("campaign"),
            country=buckets("country"),
            day=buckets("day"),
        )

    @strawberry.field(description="Signatures per day of the covered pages.")
    async def days(
        self,
        info: Info[Context, None],
        from_: From = None,
        to: To = None,
    ) -> list[DayStats]:
        found = await resolvers.days(info.context, self.view, from_, to)
        return [
            DayStats(
                day=d.day,
                signatures=d.signatures,
                new_supporters=d.new_supporters,
                returning=d.returning,
            )
            for d in found
        ]

    @strawberry.field(description="Counts of the covered pages by one dimension, largest first.")
    async def breakdown(
        self,
        info: Info[Context, None],
        dimension: StatsDimension,  # type: ignore[valid-type]
        from_: From = None,
        to: To = None,
    ) -> list[StatsCount]:
        found = await resolvers.breakdown(info.context, self.view, dimension, from_, to)
        return [StatsCount(key=k, count=n) for k, n in found]

    @strawberry.field(description="The covered pages (your own, or every page of the campaign).")
    async def pages(
        self, info: Info[Context, None], from_: From = None, to: To = None
    ) -> list[PageStats]:
        return [
            PageStats.build(p) for p in await resolvers.pages(info.context, self.view, from_, to)
        ]

    @strawberry.field(
        description="Per partner org with its pages; null unless you lead or coordinate."
    )
    async def partners(
        self, info: Info[Context, None], from_: From = None, to: To = None
    ) -> list[PartnerStats] | None:
        found = await resolvers.partners(info.context, self.view, from_, to)
        if found is None:
            return None
        return [
            PartnerStats(
                org=p.org,
                signatures=p.signatures,
                new_supporters=p.new_supporters,
                actions=p.actions,
                pages=[PageStats.build(page) for page in p.pages],
            )
            for p in found
        ]

    @strawberry.field(description="Signatures that came through shares, by level and medium.")
    async def referrals(
        self, info: Info[Context, None], from_: From = None, to: To = None
    ) -> list[ReferralStats]:
        found = await resolvers.referrals(info.context, self.view, from_, to)
        return [
            ReferralStats(
                generation=r.generation,
                sharer_page=r.sharer_page,
                medium=r.medium,
                signatures=r.signatures,
            )
            for r in found
        ]

    @strawberry.field(description="The share funnel: shares by medium and what they brought.")
    async def shares(
        self, info: Info[Context, None], from_: From = None, to: To = None
    ) -> list[ShareMediumStats]:
        found = await resolvers.share_funnel(info.context, self.view, from_, to)
        return [
            ShareMediumStats(
                medium=s.medium,
                shares=s.shares,
                signatures=s.signatures,
                by_generation=[
                    GenerationCount(generation=g, signatures=n) for g, n in s.by_generation.items()
                ],
            )
            for s in found
        ]

    @strawberry.field(
        description="Messages to the campaign's targets (mail to target): the public counters "
        "every partner sees, per target and per area (no address); null when the campaign has "
        "no targets. The lead's and coordinators' details: `campaignTargets`, "
        "`campaignTargetAreas`."
    )
    async def targets(self, info: Info[Context, None]) -> MailToTargetStats | None:
        if not await target_reads.has_targets(info.context, self.view.campaign_id):
            return None
        tallies = await target_reads.public_tallies(info.context, self.view.campaign_id)
        return MailToTargetStats.from_tallies(tallies)

    @strawberry.field(description="Double opt-in on the covered pages: asked and confirmed.")
    async def double_opt_in(self, info: Info[Context, None]) -> DoubleOptInStats:
        found = await resolvers.double_opt_in(info.context, self.view)
        return DoubleOptInStats(asked=found.asked, confirmed=found.confirmed, rate=found.rate)


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="Stats of a campaign your org takes part in; null for any other campaign. "
        "With several member orgs in the campaign pass `org`.",
        permission_classes=[require_scope("stats:read")],
    )
    async def campaign_stats(
        self, info: Info[Context, None], campaign: str, org: str | None = None
    ) -> CampaignStats | None:
        view = await resolvers.stats_view(info.context, campaign, org)
        if view is None:
            return None
        total = await resolvers.totals(info.context, view)
        return CampaignStats(
            view=view,
            supporters=total.supporters,
            actions=total.actions,
            goal=total.goal,
            by_type=[StatsCount(key=k, count=n) for k, n in sorted(total.by_type.items())],
            coverage=view.coverage,
        )
