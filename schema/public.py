"""The widget-facing read API (Proca-compatible shapes; see docs/api.md)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from orgs.campaigns import consent
from orgs.campaigns.service import campaign_phase
from orgs.i18n import catalog
from orgs.intake.repository import Counts
from orgs.models import ActionPage as PageRow
from orgs.models import Campaign as CampaignRow
from orgs.models import MailToTargetMode as ModeValue
from orgs.models import Org as OrgRow
from orgs.models import PageStatus
from orgs.models import TargetSelection as SelectionValue
from orgs.targets import render
from orgs.targets.repository import TargetTally
from resolvers import public
from resolvers import targets as target_reads
from resolvers.context import Context
from schema.scalars import JsonValue
from schema.targets import MailToTargetMode, TargetSelection


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


@strawberry.type(
    description="Someone signers may write to (mail to target); its addresses are never public."
)
class PublicTarget:
    id: str = strawberry.field(description="What `ActionInput.mtt.targets` takes (= externalId).")
    external_id: str
    name: str
    area: str | None
    locale: str | None
    fields: JsonValue = strawberry.field(description="Party, role, photo URL...")
    postcodes: list[str] = strawberry.field(description="Postcode prefixes it answers for.")


@strawberry.type(description="Messages to one target: sent, still to go, failed, mailto clicks.")
class TargetCount:
    id: str = strawberry.field(description="The target's external id.")
    name: str
    area: str | None
    sent: int
    queued: int
    failed: int
    clicks: int


@strawberry.type(description="Messages to the targets of one area.")
class TargetAreaCount:
    area: str | None
    sent: int
    queued: int
    failed: int
    clicks: int


@strawberry.type(description="Public counters of the messages to targets (tests excluded).")
class MailToTargetStats:
    sent: int
    queued: int
    failed: int
    clicks: int
    by_target: list[TargetCount]
    by_area: list[TargetAreaCount]

    @classmethod
    def from_tallies(cls, tallies: list[TargetTally]) -> MailToTargetStats:
        areas: dict[str | None, TargetAreaCount] = {}
        for t in tallies:
            area = areas.setdefault(
                t.area, TargetAreaCount(area=t.area, sent=0, queued=0, failed=0, clicks=0)
            )
            area.sent += t.sent
            area.queued += t.queued
            area.failed += t.failed
            area.clicks += t.clicks
        return cls(
            sent=sum(t.sent for t in tallies),
            queued=sum(t.queued for t in tallies),
            failed=sum(t.failed for t in tallies),
            clicks=sum(t.clicks for t in tallies),
            by_target=[
                TargetCount(
                    id=t.external_id,
                    name=t.name,
                    area=t.area,
                    sent=t.sent,
                    queued=t.queued,
                    failed=t.failed,
                    clicks=t.clicks,
                )
                for t in tallies
            ],
            by_area=sorted(areas.values(), key=lambda a: (a.area is None, a.area or "")),
        )


@strawberry.type(description="What the widget's Email step needs (no address, no schedule).")
class PublicMailToTarget:
    mode: MailToTargetMode  # type: ignore[valid-type]
    editable: bool = strawberry.field(description="Signers may edit subject and message.")
    ask_reply_to: bool = strawberry.field(
        description="Offer the signer to let targets reply (their email goes to the targets)."
    )
    selection: TargetSelection  # type: ignore[valid-type]
    subject: str | None = strawberry.field(description="The template, in the page's language.")
    body: str | None
    texts: JsonValue = strawberry.field(
        description="The Email step's wording in the page's language (the widget's names)."
    )


@strawberry.type
class PublicCampaign:
    id: strawberry.Private[int]
    frozen: strawberry.Private[dict[str, Any] | None]
    locale: strawberry.Private[str]
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
            locale=locale,
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

    @strawberry.field(
        description="The targets signers may write to (never their addresses), by area "
        "(case-insensitive) and/or postcode (the targets whose postcode prefixes it starts with)."
    )
    async def targets(
        self, info: Info[Context, None], area: str | None = None, postcode: str | None = None
    ) -> list[PublicTarget]:
        rows = await target_reads.public_targets(info.context, self.id, area, postcode)
        return [
            PublicTarget(
                id=t.external_id,
                external_id=t.external_id,
                name=t.name,
                area=t.area,
                locale=t.locale,
                fields=JsonValue(t.fields),
                postcodes=list(t.postcodes),
            )
            for t in rows
        ]

    @strawberry.field(description="The Email step's settings and template.")
    async def mail_to_target(self, info: Info[Context, None]) -> PublicMailToTarget:
        found = await target_reads.public_settings(info.context, self.id)
        text = render.template(found.templates or {}, self.locale)
        return PublicMailToTarget(
            mode=ModeValue(found.mode),
            editable=found.editable,
            ask_reply_to=found.ask_reply_to,
            selection=SelectionValue(found.selection),
            subject=text.subject if text else None,
            body=text.body if text else None,
            texts=JsonValue(catalog.mtt_widget_texts(self.locale)),
        )

    @strawberry.field(description="Messages to targets, per target and per area.")
    async def target_stats(self, info: Info[Context, None]) -> MailToTargetStats:
        tallies = await target_reads.public_tallies(info.context, self.id)
        return MailToTargetStats.from_tallies(tallies)


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
