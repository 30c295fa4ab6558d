"""The widget-facing read API (Proca-compatible shapes; see docs/api.md)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from orgs.campaigns import consent
from orgs.campaigns.service import campaign_phase
from orgs.intake.repository import Counts
from orgs.models import ActionPage as PageRow
from orgs.models import Campaign as CampaignRow
from orgs.models import Org as OrgRow
from orgs.models import PageStatus
from resolvers import public
from resolvers.context import Context
from schema.scalars import JsonValue


@strawberry.enum
class ActionPageStatus(Enum):
    LIVE = "live"
    CLOSED = "closed"


@strawberry.type
class PublicOrg:
    name: str
    title: str
    privacy_policy_url: str | None

    @classmethod
    def from_row(cls, org: OrgRow) -> PublicOrg:
        return cls(
            name=org.name,
            title=org.title,
            privacy_policy_url=org.settings.get("privacy_policy_url"),
        )


@strawberry.type(
    description="The consent wording the page shows in its locale; send `version` back as "
    "`privacy.consentVersion`."
)
class ConsentText:
    version: str
    opt_in_text: str
    lead_opt_in_text: str | None


@strawberry.type
class ActionTypeCount:
    action_type: str
    count: int


@strawberry.type
class CountryCount:
    country: str
    count: int


@strawberry.type(description="Public counters: testing and flagged actions never count.")
class PublicStats:
    supporter_count: int = strawberry.field(description="Unique supporters.")
    action_count: list[ActionTypeCount] = strawberry.field(
        description="Actions by type (a person's repeat of the same action counts once)."
    )
    supporter_countries: list[CountryCount]

    @classmethod
    def from_counts(cls, counts: Counts) -> PublicStats:
        return cls(
            supporter_count=counts.supporters,
            action_count=[
                ActionTypeCount(action_type=k, count=v) for k, v in sorted(counts.actions.items())
            ],
            supporter_countries=[
                CountryCount(country=k, count=v)
                for k, v in sorted(counts.countries.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        )


@strawberry.type
class PublicCampaign:
    id: strawberry.Private[int]
    frozen: strawberry.Private[dict[str, Any] | None]
    name: str
    title: str
    goal: int | None
    lead_org: PublicOrg
    consent: ConsentText

    @classmethod
    def from_row(cls, campaign: CampaignRow, lead: OrgRow, locale: str) -> PublicCampaign:
        shown = consent.wording(campaign.consent_texts, locale)
        assert campaign.id is not None
        return cls(
            id=campaign.id,
            frozen=campaign.frozen_counts,
            name=campaign.name,
            title=campaign.title,
            goal=campaign.goal,
            lead_org=PublicOrg.from_row(lead),
            consent=ConsentText(
                version=shown.version if shown else "",
                opt_in_text=shown.opt_in if shown else "",
                lead_opt_in_text=shown.lead_opt_in if shown else None,
            ),
        )

    @strawberry.field(
        description="Campaign totals over every partner's pages (a person's repeat of the same "
        "action counts once in the campaign); frozen values while the lead froze them."
    )
    async def stats(self, info: Info[Context, None]) -> PublicStats:
        if self.frozen is not None:
            return PublicStats.from_counts(Counts(**self.frozen["campaign"]))
        return PublicStats.from_counts(await public.campaign_counts(info.context, self.id))


@strawberry.federation.type(
    keys=["id"],
    description="A live or closed action page, as the public sees it (a federation entity: "
    "any subgraph may reference it by id; a draft or unknown page resolves to null).",
)
class ActionPage:
    id: int
    name: str
    locale: str
    status: ActionPageStatus
    config: JsonValue
    double_opt_in: bool
    org: PublicOrg
    campaign: PublicCampaign

    @strawberry.field(description="This page's own counters (a repeat counts once per page).")
    async def stats(self, info: Info[Context, None]) -> PublicStats:
        frozen = self.campaign.frozen
        if frozen is not None and str(self.id) in frozen["pages"]:
            return PublicStats.from_counts(Counts(**frozen["pages"][str(self.id)]))
        return PublicStats.from_counts(await public.page_counts(info.context, self.id))

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: int) -> ActionPage | None:
        """``_entities``: the same page ``actionPage(id)`` answers anyone, else null."""
        return await visible_page(info, page_id=int(id))


async def visible_page(
    info: Info[Context, None], *, page_id: int | None = None, name: str | None = None
) -> ActionPage | None:
    """A page the public may see (live or closed, its campaign neither draft nor scheduled)."""
    found = await public.action_page(info.context, page_id, name)
    if found is None or campaign_phase(found[2]) in ("draft", "scheduled"):
        return None
    return _public_page(*found)


@strawberry.type
class PublicQuery:
    @strawberry.field(description="A live or closed action page; null when draft or unknown.")
    async def action_page(
        self, info: Info[Context, None], id: int | None = None, name: str | None = None
    ) -> ActionPage | None:
        page = await visible_page(info, page_id=id, name=name)
        public.cache_publicly(info.context)
        return page


def _public_page(page: PageRow, org: OrgRow, campaign: CampaignRow, lead: OrgRow) -> ActionPage:
    assert page.id is not None
    double_opt_in = page.double_opt_in
    if double_opt_in is None:
        double_opt_in = bool(
            org.settings.get("doubleOptIn", org.settings.get("double_opt_in", False))
        )
    return ActionPage(
        id=page.id,
        name=page.name,
        locale=page.locale,
        status=ActionPageStatus.LIVE
        if page.status == PageStatus.LIVE.value and campaign_phase(campaign) == "live"
        else ActionPageStatus.CLOSED,
        config=JsonValue(page.config),
        double_opt_in=double_opt_in,
        org=PublicOrg.from_row(org),
        campaign=PublicCampaign.from_row(campaign, lead, page.locale),
    )
