"""Reads for an authenticated org member (the management side)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from orgs.campaigns import consent
from orgs.models import ActionPage as PageRow
from orgs.models import Campaign as CampaignRow
from orgs.models import Org as OrgRow
from resolvers import org as resolvers
from resolvers.context import Context
from schema.permissions import IsAuthenticated
from schema.scalars import JsonValue


@strawberry.type
class ConsentVersion:
    version: str
    locale: str
    opt_in: str
    lead_opt_in: str | None
    current: bool = strawberry.field(description="Pages of this locale show this version.")


@strawberry.federation.type(keys=["id"])
class Campaign:
    id: int
    name: str = strawberry.field(
        description="Unique within the org that created it; see qualifiedName."
    )
    title: str
    goal: int | None
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    counters_frozen: bool
    lead_org_id: strawberry.Private[int]
    namespace_org_id: strawberry.Private[int]
    consent_texts: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="Every consent wording version, per locale.")
    def consent_versions(self) -> list[ConsentVersion]:
        data = consent.normalise(self.consent_texts)
        current: dict[str, str] = data["current"]
        return [
            ConsentVersion(
                version=version,
                locale=locale,
                opt_in=str(texts.get("optIn") or ""),
                lead_opt_in=texts.get("leadOptIn"),
                current=current.get(locale) == version,
            )
            for version, per_locale in sorted(data["versions"].items())
            for locale, texts in sorted(per_locale.items())
        ]

    @strawberry.field(
        description="<creating org>/<name>: names this campaign unambiguously in any argument."
    )
    async def qualified_name(self, info: Info[Context, None]) -> str:
        space = await resolvers.org_name(info.context, self.namespace_org_id)
        return f"{space}/{self.name}"

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: int) -> Campaign | None:
        row = await resolvers.campaign(info.context, int(id))
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: CampaignRow) -> Campaign:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            title=row.title,
            goal=row.goal,
            status=row.status,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            counters_frozen=row.frozen_counts is not None,
            lead_org_id=row.org_id,
            namespace_org_id=row.namespace_org_id,
            consent_texts=row.consent_texts,
        )


@strawberry.federation.type(keys=["id"], name="OrgActionPage")
class OrgActionPage:
    id: int
    name: str
    locale: str
    status: str
    config: JsonValue
    campaign_id: int
    double_opt_in: bool | None = strawberry.field(
        description="null: the page follows its org's setting."
    )
    thank_you_mail: bool
    templates: JsonValue = strawberry.field(
        description="Mail templates: {locale: {confirmation|thank_you: {subject, text, html}}}."
    )

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: int) -> OrgActionPage | None:
        row = await resolvers.page(info.context, int(id))
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: PageRow) -> OrgActionPage:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            locale=row.locale,
            status=row.status,
            config=JsonValue(row.config),
            campaign_id=row.campaign_id,
            double_opt_in=row.double_opt_in,
            thank_you_mail=row.thank_you_mail,
            templates=JsonValue(row.templates),
        )


@strawberry.federation.type(keys=["name"])
class Org:
    id: int
    name: str
    title: str
    privacy_policy_url: str | None
    embed_hosts: list[str] = strawberry.field(
        description="Sites allowed to embed this org's pages (empty: any)."
    )
    sender_name: str | None = strawberry.field(description="Display name of the org's mails.")
    reply_to: str | None = strawberry.field(description="Where replies to the org's mails go.")
    double_opt_in: bool = strawberry.field(description="Pages' default double opt-in.")

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], name: str) -> Org | None:
        row = await resolvers.org(info.context, name)
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: OrgRow) -> Org:
        assert row.id is not None
        settings = row.settings
        return cls(
            id=row.id,
            name=row.name,
            title=row.title,
            privacy_policy_url=settings.get("privacy_policy_url"),
            embed_hosts=list(settings.get("embed_hosts") or settings.get("embedHosts") or []),
            sender_name=settings.get("sender_name"),
            reply_to=settings.get("reply_to"),
            double_opt_in=bool(settings.get("double_opt_in", settings.get("doubleOptIn", False))),
        )

    @strawberry.field(description="Campaigns this org leads or is an active partner of.")
    async def campaigns(self, info: Info[Context, None]) -> list[Campaign]:
        return [Campaign.from_row(c) for c in await resolvers.campaigns_of(info.context, self.id)]

    @strawberry.field(description="This org's action pages.")
    async def action_pages(self, info: Info[Context, None]) -> list[OrgActionPage]:
        rows = await resolvers.pages_of(info.context, self.id)
        return [OrgActionPage.from_row(p) for p in rows]

    @strawberry.field(description="One of this org's pages by name (with its settings).")
    async def action_page(self, info: Info[Context, None], name: str) -> OrgActionPage | None:
        rows = await resolvers.pages_of(info.context, self.id)
        found = [p for p in rows if p.name == name]
        return OrgActionPage.from_row(found[0]) if found else None


@strawberry.type
class CurrentUser:
    id: int
    email: str
    created_at: datetime

    @strawberry.field(description="Orgs this user is staff of.")
    async def orgs(self, info: Info[Context, None]) -> list[Org]:
        return [Org.from_row(o) for o in await resolvers.member_orgs(info.context)]


@strawberry.type
class OrgQuery:
    @strawberry.field(description="The logged-in user; null for API tokens.")
    async def current_user(self, info: Info[Context, None]) -> CurrentUser | None:
        user = await resolvers.current_user(info.context)
        if user is None or user.id is None:
            return None
        return CurrentUser(id=user.id, email=user.email, created_at=user.created_at)

    @strawberry.field(
        description="An org the caller belongs to; null for any other org.",
        permission_classes=[IsAuthenticated],
    )
    async def org(self, info: Info[Context, None], name: str) -> Org | None:
        row = await resolvers.org(info.context, name)
        return Org.from_row(row) if row else None
