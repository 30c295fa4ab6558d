"""Proca's API dialect, served at ``/api`` (Proca's own path) for Proca's CLI and widget.

The hub's own API (``/graphql``) keeps its shapes: its widget reads ``config`` as an object and
``actionPage`` answers null for an unknown page. Proca's clients expect Proca's: the ``Json``
scalar is a JSON-encoded string both ways, ``actionPage`` answers a ``not_found`` error,
pages, campaigns and orgs are interfaces with a public and a private view, and
``updateActionPage(id, input)`` answers the page. Both dialects run on the same services and
rules; only the shapes differ (docs/proca.md).

What each view shows:

- ``PublicActionPage`` / ``PublicCampaign`` / ``PublicOrg``: what ``/graphql`` shows anyone,
  for live and closed pages of public campaigns (a draft or unknown page is ``not_found``).
- ``PrivateActionPage``: the page's own org (any member, any status); ``PrivateOrg``: that
  org's members; ``PrivateCampaign``: members of the campaign's lead org. A page's Proca
  ``config`` is its ``config.proca`` (the hub's widget ignores that key): Proca's CLI pulls and
  pushes it without touching the hub widget's settings.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, NewType, Self

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import Info

from orgs.campaigns.service import campaign_phase
from orgs.errors import DomainError
from orgs.intake.repository import Counts
from orgs.models import ActionPage as PageRow
from orgs.models import Campaign as CampaignRow
from orgs.models import Org as OrgRow
from orgs.models import PageStatus
from orgs.public.service import OrgSupporters
from resolvers import proca as resolvers
from resolvers.context import Context
from schema.errors import MASKED_MESSAGE, PlainSchema, should_mask
from schema.extensions import InputErrors, TextGate, UnitOfWork
from schema.intake import InputError, IntakeMutation
from schema.introspection import IntrospectionGate
from schema.limits import CostLimits, DocumentLimits, DocumentValidation
from schema.scalars import JsonValue

MAX_JSON_DEPTH = 32


def _depth_over(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _parse_json(value: Any) -> Any:
    """Proca sends Json as a JSON-encoded string; an object is accepted as well."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValueError("Json must be a JSON-encoded object") from None
    if not isinstance(value, dict) or _depth_over(value, MAX_JSON_DEPTH):
        raise ValueError(f"Json must be a JSON object nested at most {MAX_JSON_DEPTH} levels")
    return value


ProcaJson = strawberry.scalar(
    name="Json",
    description="A JSON-encoded string (Proca's Json): answered as one, sent as one (or an "
    "object).",
    serialize=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
    parse_value=_parse_json,
)

NaiveDateTimeValue = NewType("NaiveDateTimeValue", datetime)
NaiveDateTime = strawberry.scalar(
    name="NaiveDateTime",
    description="A UTC time without its zone, as Proca writes it (2024-05-01T12:00:00).",
    serialize=lambda value: value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat(),
    parse_value=datetime.fromisoformat,
)


def not_found() -> GraphQLError:
    """Proca's answer for an unknown (or not yours) object, whatever the reason."""
    return GraphQLError("Entity not found", extensions={"code": "not_found"})


def bad_arg(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "bad_arg"})


class ProcaAuthenticated(BasePermission):
    """Proca's first gate: a caller (user or token); a token also needs ``pages:write``."""

    message = "Authentication is required for this API call"
    error_extensions = {"code": "unauthorized"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        subject = info.context.subject
        if not subject.is_authenticated:
            return False
        if subject.token_id is not None and "pages:write" not in subject.scopes:
            self.message = "You do not have the required permission"
            self.error_extensions = {"code": "permission_denied"}
            return False
        return True


# --- orgs ---------------------------------------------------------------------------------


@strawberry.type
class Processing:
    supporter_confirm: bool = strawberry.field(
        description="Double opt-in by default for the org's pages."
    )
    supporter_confirm_template: str | None = strawberry.field(
        description="`confirmation` (the page's or the built-in mail) when double opt-in is on."
    )


@strawberry.interface(name="Org")
class OrgView:
    row: strawberry.Private[OrgRow]
    name: str
    title: str

    @strawberry.field(description="Public settings: {privacy: {policyUrl}}.")
    def config(self) -> JsonValue:
        url = self.row.settings.get("privacy_policy_url")
        return JsonValue({"privacy": {"policyUrl": url}} if url else {})

    @classmethod
    def of(cls, info: Info[Context, None], row: OrgRow) -> OrgView:
        assert row.id is not None
        if resolvers.is_member(info.context, row.id):
            return PrivateOrg(row=row, name=row.name, title=row.title, id=row.id)
        return PublicOrg(row=row, name=row.name, title=row.title)


@strawberry.type
class PublicOrg(OrgView):
    pass


@strawberry.type
class PrivateOrg(OrgView):
    id: int

    @strawberry.field
    def processing(self) -> Processing:
        settings = self.row.settings
        doi = bool(settings.get("double_opt_in", settings.get("doubleOptIn", False)))
        return Processing(
            supporter_confirm=doi, supporter_confirm_template="confirmation" if doi else None
        )


# --- stats and public actions -------------------------------------------------------------


@strawberry.type
class ActionTypeCount:
    action_type: str
    count: int


@strawberry.type
class AreaCount:
    area: str
    count: int


@strawberry.type
class OrgCount:
    org: OrgView
    count: int


@strawberry.type
class CustomField:
    key: str
    value: str


@strawberry.type
class ActionCustomFields:
    action_id: int
    action_type: str
    inserted_at: NaiveDateTimeValue
    area: str | None = strawberry.field(description="The supporter's country.")
    values: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="Only the keys the campaign lists as public.")
    def custom_fields(self) -> JsonValue:
        return JsonValue(self.values)

    @strawberry.field(deprecation_reason="use customFields")
    def fields(self) -> list[CustomField]:
        return [CustomField(key=k, value=str(v)) for k, v in sorted(self.values.items())]


@strawberry.type
class PublicActionsResult:
    field_keys: list[str] | None = strawberry.field(
        description="The custom field keys that are public (the campaign's publicActions)."
    )
    list: list[ActionCustomFields | None] | None


@strawberry.type(description="Public counters: testing and flagged actions never count.")
class CampaignStats:
    campaign: strawberry.Private[CampaignRow]
    lead: strawberry.Private[OrgRow]

    async def _counts(self, info: Info[Context, None]) -> Counts:
        return await resolvers.campaign_counts(info.context, self.campaign)

    @strawberry.field
    async def supporter_count(self, info: Info[Context, None]) -> int:
        return (await self._counts(info)).supporters

    @strawberry.field
    async def action_count(self, info: Info[Context, None]) -> list[ActionTypeCount]:
        counts = await self._counts(info)
        return [ActionTypeCount(action_type=k, count=v) for k, v in sorted(counts.actions.items())]

    @strawberry.field(description="Supporters by country (their first counted action's).")
    async def supporter_count_by_area(self, info: Info[Context, None]) -> list[AreaCount]:
        counts = await self._counts(info)
        ranked = sorted(counts.countries.items(), key=lambda kv: (-kv[1], kv[0]))
        return [AreaCount(area=k, count=v) for k, v in ranked]

    @strawberry.field(
        description="Supporters by the org whose page recruited them: orgs with a live or "
        "closed page in the campaign, and the lead."
    )
    async def supporter_count_by_org(self, info: Info[Context, None]) -> list[OrgCount]:
        rows = await resolvers.supporters_by_org(info.context, self.campaign, self.lead)
        return [
            OrgCount(
                org=PublicOrg(row=_org_row(r), name=r.name, title=r.title),
                count=r.supporters,
            )
            for r in rows
        ]

    @strawberry.field(description="Supporters recruited by orgs other than org_name.")
    async def supporter_count_by_others(self, info: Info[Context, None], org_name: str) -> int:
        total = (await self._counts(info)).supporters
        rows = await resolvers.supporters_by_org(info.context, self.campaign, self.lead)
        return total - sum(r.supporters for r in rows if r.name == org_name)


def _org_row(found: OrgSupporters) -> OrgRow:
    settings = {"privacy_policy_url": found.privacy_policy_url} if found.privacy_policy_url else {}
    return OrgRow(name=found.name, title=found.title, settings=settings)


# --- campaigns ----------------------------------------------------------------------------


@strawberry.enum
class CampaignStatus(Enum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"
    IGNORED = "ignored"


@strawberry.interface(name="Campaign")
class CampaignView:
    row: strawberry.Private[CampaignRow]
    lead: strawberry.Private[OrgRow]
    id: int
    name: str
    title: str

    @strawberry.field(description="Not kept by the hub: always null.")
    def external_id(self) -> int | None:
        return None

    @strawberry.field(description="DRAFT, LIVE or CLOSED (closed once its end has passed).")
    def status(self) -> CampaignStatus:
        phase = campaign_phase(self.row)
        return CampaignStatus(phase if phase in ("draft", "closed") else "live")

    @strawberry.field(description="The campaign's config for Proca's widget (config.proca).")
    def config(self) -> JsonValue:
        found = (self.row.config or {}).get("proca")
        return JsonValue(found if isinstance(found, dict) else {})

    @strawberry.field
    def start(self) -> date | None:
        return self.row.starts_at.date() if self.row.starts_at else None

    @strawberry.field
    def end(self) -> date | None:
        return self.row.ends_at.date() if self.row.ends_at else None

    @strawberry.field
    def stats(self) -> CampaignStats:
        return CampaignStats(campaign=self.row, lead=self.lead)

    @strawberry.field(description="The lead org.")
    def org(self, info: Info[Context, None]) -> OrgView:
        return OrgView.of(info, self.lead)

    @strawberry.field(
        description="Recent actions of a type, newest first (at most 100): their id, type, "
        "time, the supporter's country, and the custom fields the campaign lists as public "
        'in its config ("publicActions": ["signature:comment"]); never contact data.'
    )
    async def actions(
        self, info: Info[Context, None], action_type: str, limit: int = 10
    ) -> PublicActionsResult:
        keys, rows = await resolvers.recent_actions(info.context, self.row, action_type, limit)
        return PublicActionsResult(
            field_keys=keys,
            list=[
                ActionCustomFields(
                    action_id=r.id,
                    action_type=r.action_type,
                    inserted_at=NaiveDateTimeValue(r.created_at),
                    area=r.country,
                    values=r.custom_fields,
                )
                for r in rows
            ],
        )

    @classmethod
    def of(cls, info: Info[Context, None], row: CampaignRow, lead: OrgRow) -> CampaignView:
        assert row.id is not None
        assert lead.id is not None
        kind = PrivateCampaign if resolvers.is_member(info.context, lead.id) else PublicCampaign
        return kind(row=row, lead=lead, id=row.id, name=row.name, title=row.title)


@strawberry.type
class PublicCampaign(CampaignView):
    pass


@strawberry.type
class PrivateCampaign(CampaignView):
    @strawberry.field(description="Your org's pages in this campaign (any status).")
    async def action_pages(self, info: Info[Context, None]) -> list[PrivateActionPage]:
        rows = await resolvers.own_pages_in(info.context, self.row)
        return [PrivateActionPage.from_rows(page, org, self.row, self.lead) for page, org in rows]


# --- action pages -------------------------------------------------------------------------


@strawberry.interface(name="ActionPage")
class ActionPageView:
    page: strawberry.Private[PageRow]
    org_row: strawberry.Private[OrgRow]
    campaign_row: strawberry.Private[CampaignRow]
    lead_row: strawberry.Private[OrgRow]
    id: int
    name: str
    locale: str

    @strawberry.field(description="`thank_you` when the page mails a thank-you, else null.")
    def thank_you_template(self) -> str | None:
        return "thank_you" if self.page.thank_you_mail else None

    @strawberry.field(description="Taking actions now (the page and its campaign are live).")
    def live(self) -> bool:
        return (
            self.page.status == PageStatus.LIVE.value
            and campaign_phase(self.campaign_row) == "live"
        )

    @strawberry.field(deprecation_reason="moved under config")
    def journey(self) -> list[str]:
        steps = self._proca_config().get("journey")
        if isinstance(steps, list) and all(isinstance(s, str) for s in steps):
            return steps
        return ["Petition", "Share"]

    @strawberry.field(
        description="The page's config for Proca's widget (the hub's widget config's `proca` "
        "key), as a JSON string."
    )
    def config(self) -> JsonValue:
        return JsonValue(self._proca_config())

    @strawberry.field
    def campaign(self, info: Info[Context, None]) -> CampaignView:
        return CampaignView.of(info, self.campaign_row, self.lead_row)

    @strawberry.field
    def org(self, info: Info[Context, None]) -> OrgView:
        return OrgView.of(info, self.org_row)

    def _proca_config(self) -> dict[str, Any]:
        found = (self.page.config or {}).get("proca")
        return found if isinstance(found, dict) else {}

    @classmethod
    def from_rows(cls, page: PageRow, org: OrgRow, campaign: CampaignRow, lead: OrgRow) -> Self:
        assert page.id is not None
        return cls(
            page=page,
            org_row=org,
            campaign_row=campaign,
            lead_row=lead,
            id=page.id,
            name=page.name,
            locale=page.locale,
        )


@strawberry.type
class PublicActionPage(ActionPageView):
    pass


@strawberry.type
class PrivateActionPage(ActionPageView):
    @strawberry.field(description="Not kept by the hub: always 0.")
    def extra_supporters(self) -> int:
        return 0

    @strawberry.field(description="`confirmation` when signers confirm by mail, else null.")
    def supporter_confirm_template(self) -> str | None:
        double = self.page.double_opt_in
        if double is None:
            settings = self.org_row.settings
            double = bool(settings.get("double_opt_in", settings.get("doubleOptIn", False)))
        return "confirmation" if double else None

    @strawberry.field(description="Not kept by the hub: always null.")
    def duplicate_template(self) -> str | None:
        return None

    @strawberry.field(description="Not kept by the hub: always null.")
    def location(self) -> str | None:
        return None


@strawberry.input(description="What Proca's CLI pushes; the hub keeps name, locale and config.")
class ActionPageInput:
    name: str | None = strawberry.field(default=None, description="The page's current name.")
    locale: str | None = None
    config: JsonValue | None = strawberry.field(
        default=None, description="The page's config for Proca's widget (a JSON string)."
    )
    thank_you_template: str | None = None
    supporter_confirm_template: str | None = None
    duplicate_template: str | None = None
    extra_supporters: int | None = None
    delivery: bool | None = None


def _unchanged(page: PrivateActionPage, input: ActionPageInput) -> list[str]:
    """Inputs the hub does not keep, given with another value than it answers."""
    kept = {
        "thankYouTemplate": (input.thank_you_template, page.thank_you_template()),
        "supporterConfirmTemplate": (
            input.supporter_confirm_template,
            page.supporter_confirm_template(),
        ),
        "duplicateTemplate": (input.duplicate_template, None),
        "extraSupporters": (input.extra_supporters, 0),
    }
    changed = [name for name, (given, current) in kept.items() if given not in (None, current)]
    if input.delivery is not None:
        changed.append("delivery")
    return changed


def _proca_errors(error: DomainError) -> GraphQLError:
    """A service's problems in Proca's shape: ``field: message``, the first one raised with
    the others attached (schema.extensions.InputErrors adds them to the answer)."""
    located = [
        GraphQLError(
            f"{'.'.join(p.field[1:])}: {p.message}",
            path=["updateActionPage", *p.field],
            extensions={"code": "not_found" if p.code.value == "NOT_FOUND" else "bad_arg"},
        )
        for p in error.problems
    ]
    first = InputError(located[0].message, path=located[0].path, extensions=located[0].extensions)
    first.more = located[1:]
    return first


def _one_identifier(id: int | None, name: str | None) -> None:
    if (id is None) == (name is None):
        raise bad_arg("Provide exactly one identifier argument")


@strawberry.type
class ProcaQuery:
    @strawberry.field(
        description="An action page: the private view for its own org (any status), else the "
        "public one (live or closed pages); not_found otherwise."
    )
    async def action_page(
        self, info: Info[Context, None], id: int | None = None, name: str | None = None
    ) -> ActionPageView:
        _one_identifier(id, name)
        found = await resolvers.page(info.context, id, name)
        if found is None:
            raise not_found()
        rows, private = found
        if not private:
            resolvers.cache_publicly(info.context)  # Proca's counter reads with GET
        return (PrivateActionPage if private else PublicActionPage).from_rows(*rows)


@strawberry.type
class ProcaMutation:
    @strawberry.mutation(
        permission_classes=[ProcaAuthenticated],
        description="Save a page's locale and Proca config (pages of your org; a token needs "
        "pages:write).",
    )
    async def update_action_page(
        self,
        info: Info[Context, None],
        input: ActionPageInput,
        id: int | None = None,
        name: str | None = None,
    ) -> ActionPageView:
        _one_identifier(id, name)
        found = await resolvers.page(info.context, id, name)
        if found is None or not found[1]:
            raise not_found()
        page = PrivateActionPage.from_rows(*found[0])
        if input.name is not None and input.name != page.name:
            raise bad_arg("A page keeps its name here: send its current name, or none")
        changed = _unchanged(page, input)
        if changed:
            raise bad_arg(f"Not kept by this server, send them unchanged: {', '.join(changed)}")
        try:
            updated = await resolvers.update_page(
                info.context, page.page, locale=input.locale, proca_config=input.config
            )
        except DomainError as error:
            raise _proca_errors(error) from None
        return PrivateActionPage.from_rows(updated, *found[0][1:])


def _build() -> PlainSchema:
    return PlainSchema(
        config=StrawberryConfig(
            scalar_map={JsonValue: ProcaJson, NaiveDateTimeValue: NaiveDateTime}
        ),
        query=merge_types("RootQueryType", (ProcaQuery,)),
        mutation=merge_types("RootMutationType", (ProcaMutation, IntakeMutation)),
        types=[
            PublicActionPage,
            PrivateActionPage,
            PublicCampaign,
            PrivateCampaign,
            PublicOrg,
            PrivateOrg,
        ],
        extensions=[
            UnitOfWork,
            InputErrors,
            TextGate,
            DocumentLimits,
            IntrospectionGate,
            CostLimits,
            DocumentValidation,
            lambda: MaskErrors(should_mask_error=should_mask, error_message=MASKED_MESSAGE),
        ],
    )


proca_schema = _build()


def print_sdl() -> str:
    return proca_schema.as_str() + "\n"
