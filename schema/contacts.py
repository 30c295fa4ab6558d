"""Personal data for the caller's own org: contacts with consents and actions (DESIGN §5)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

import strawberry
from strawberry.types import Info

from orgs.contacts.export import ExportFormat as ExportFormatSpec
from orgs.contacts.repository import ContactFilter as ContactFilterSpec
from orgs.contacts.service import ContactErrorCode
from orgs.errors import Problem
from orgs.models import Action as ActionRow
from orgs.models import Contact as ContactRow
from orgs.models import ContactScope
from orgs.models import Supporter as SupporterRow
from orgs.scoping import Membership, mask_action, mask_contact
from resolvers import contacts as resolvers
from resolvers.context import Context
from resolvers.loaders import ActionsBySupporterLoader, ConsentsBySupporterLoader, loader
from schema.permissions import require_scope
from schema.results import field_error, operation
from schema.scalars import JsonValue


@strawberry.enum
class ConsentStatus(Enum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    NONE = "none"


@strawberry.input
class ContactFilter:
    page: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    consent: ConsentStatus | None = None
    action_type: str | None = None
    source: str | None = None
    flagged: bool | None = strawberry.field(
        default=None, description="true: only flagged contacts; false: only the others."
    )

    def spec(self) -> ContactFilterSpec:
        return ContactFilterSpec(
            page=self.page,
            since=self.since,
            until=self.until,
            consent=self.consent.value if self.consent else None,
            action_type=self.action_type,
            source=self.source,
            flagged=self.flagged,
        )


@strawberry.type
class ContactAddress:
    country: str | None = None
    postcode: str | None = None
    locality: str | None = None
    region: str | None = None
    street: str | None = None
    street_number: str | None = None


@strawberry.type
class ContactConsent:
    purpose: str
    given: bool
    wording_version: str | None
    method: str
    created_at: datetime
    confirmed_at: datetime | None
    withdrawn_at: datetime | None


@strawberry.type
class Tracking:
    source: str | None
    medium: str | None
    campaign: str | None
    content: str | None
    location: str | None


@strawberry.type(
    description=(
        "One of the supporter's actions your org may see: those on your own pages, and those "
        "whose consent gave your org its copy. As the delivery org without consent you see "
        "only what the action was and when (page, tracking and custom fields are null)."
    )
)
class ContactAction:
    id: int
    action_type: str
    created_at: datetime
    page: str | None
    tracking: Tracking | None
    custom_fields: JsonValue | None
    flagged: bool | None

    @classmethod
    def build(cls, row: ActionRow, page: str, view: str) -> ContactAction:
        assert row.id is not None
        shown = mask_action(
            {
                "id": row.id,
                "actionType": row.action_type,
                "createdAt": row.created_at,
                "page": page,
                "tracking": Tracking(
                    source=row.source,
                    medium=row.medium,
                    campaign=row.tracking_campaign,
                    content=row.content,
                    location=row.location,
                ),
                "customFields": JsonValue(row.custom_fields),
                "flagged": row.flagged is not None,
            },
            view,
        )
        assert shown is not None
        return cls(
            id=row.id,
            action_type=row.action_type,
            created_at=row.created_at,
            page=shown.get("page"),
            tracking=shown.get("tracking"),
            custom_fields=shown.get("customFields"),
            flagged=shown.get("flagged"),
        )


@strawberry.type
class Contact:
    id: int
    ref: str = strawberry.field(
        description="Your org's own reference for this person (another org's differs)."
    )
    scope: str
    created_at: datetime
    flagged: bool = strawberry.field(
        description="Every action of this person your org can see was flagged (bot, rate "
        "limit, ...): review before use; excluded from exports unless asked."
    )
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: str | None
    address: ContactAddress | None
    membership: strawberry.Private[Membership]
    supporter_id: strawberry.Private[int]

    @property
    def delivery_only(self) -> bool:
        return self.scope == ContactScope.DELIVERY.value

    @classmethod
    def build(
        cls,
        row: ContactRow,
        supporter: SupporterRow,
        data: dict[str, Any],
        member: Membership,
        flagged: bool,
    ) -> Contact:
        assert row.id is not None
        assert supporter.id is not None
        shown = mask_contact(data, row.scope)
        raw = shown.get("address")
        address = None
        if isinstance(raw, dict):
            address = ContactAddress(
                country=raw.get("country"),
                postcode=raw.get("postcode"),
                locality=raw.get("locality"),
                region=raw.get("region"),
                street=raw.get("street"),
                street_number=raw.get("streetNumber"),
            )
        return cls(
            id=row.id,
            ref=row.ref,
            scope=row.scope,
            created_at=row.created_at,
            flagged=flagged,
            first_name=shown.get("firstName"),
            last_name=shown.get("lastName"),
            email=shown.get("email"),
            phone=shown.get("phone"),
            birth_date=shown.get("birthDate"),
            address=address,
            membership=member,
            supporter_id=supporter.id,
        )

    @strawberry.field(description="Consents this supporter gave to your org.")
    async def consents(self, info: Info[Context, None]) -> list[ContactConsent]:
        if self.delivery_only:
            return []
        rows = await loader(info.context, ConsentsBySupporterLoader, self.membership).load(
            self.supporter_id
        )
        return [
            ContactConsent(
                purpose=c.purpose,
                given=c.given,
                wording_version=c.wording_version,
                method=c.method,
                created_at=c.created_at,
                confirmed_at=c.confirmed_at,
                withdrawn_at=c.withdrawn_at,
            )
            for c in rows
        ]

    @strawberry.field(description="This supporter's actions on the campaign.")
    async def actions(self, info: Info[Context, None]) -> list[ContactAction]:
        rows = await loader(info.context, ActionsBySupporterLoader, self.membership).load(
            self.supporter_id
        )
        return [ContactAction.build(a, page, view) for a, page, view in rows]


@strawberry.type
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class ContactConnection:
    nodes: list[Contact]
    page_info: PageInfo


@strawberry.type
class ContactQuery:
    @strawberry.field(
        description=(
            "Your org's own contacts in a campaign (null when the campaign is not yours to "
            "read). With several member orgs in the campaign pass `org`."
        ),
        permission_classes=[require_scope("contacts:read")],
    )
    async def contacts(
        self,
        info: Info[Context, None],
        campaign: str,
        org: str | None = None,
        filter: ContactFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ContactConnection | None:
        ctx = info.context
        member = await resolvers.membership(ctx, campaign, org)
        if member is None:
            return None
        spec = filter.spec() if filter else ContactFilterSpec()
        rows, more = await resolvers.contacts(ctx, member, spec, first, after)
        nodes = [
            Contact.build(c, s, ctx.keyring.decrypt_json(c.payload), member, flag)
            for c, s, flag in rows
        ]
        end = resolvers.encode_cursor(nodes[-1].id) if nodes else after
        return ContactConnection(
            nodes=nodes, page_info=PageInfo(end_cursor=end, has_next_page=more)
        )


@strawberry.enum
class ExportFormat(Enum):
    CSV = "csv"
    JSONL = "jsonl"


@strawberry.input
class ExportContactsInput:
    campaign: str
    format: ExportFormat = ExportFormat.CSV
    org: str | None = None
    include_flagged: bool = strawberry.field(
        default=False, description="Also export flagged contacts (their flagged column says so)."
    )


ContactError = field_error(
    "ContactError", ContactErrorCode, "A problem with a personal-data request; nothing changed."
)
ExportContacts = operation("ExportContacts", ContactError, url=str, expires_at=datetime)
RequestErasure = operation("RequestErasure", ContactError, contact_ref=str)
RequestMyErasure = operation("RequestMyErasure", ContactError, message=str)
if TYPE_CHECKING:  # generated at run time (schema/results.py); opaque to mypy
    ExportContactsResult: TypeAlias = Any
    RequestErasureResult: TypeAlias = Any
    RequestMyErasureResult: TypeAlias = Any
else:
    ExportContactsResult = ExportContacts.result
    RequestErasureResult = RequestErasure.result
    RequestMyErasureResult = RequestMyErasure.result


def _problem(field: str, code: ContactErrorCode, message: str) -> list[Problem]:
    return [Problem(("input", field), code, message)]


@strawberry.type
class ContactMutation:
    @strawberry.mutation(
        description="A short-lived signed link streaming your org's contacts (audited).",
        permission_classes=[require_scope("contacts:export")],
    )
    async def export_contacts(
        self, info: Info[Context, None], input: ExportContactsInput
    ) -> ExportContactsResult:
        link = await resolvers.export_link(
            info.context,
            input.campaign,
            input.org,
            ExportFormatSpec(input.format.value),
            include_flagged=input.include_flagged,
        )
        if link is None:
            return ExportContacts.failed(
                _problem("campaign", ContactErrorCode.NOT_FOUND, "campaign not found")
            )
        path, expires_at = link
        return ExportContacts.success(url=path, expires_at=expires_at)


@strawberry.input
class RequestErasureInput:
    campaign: str
    contact_ref: str = strawberry.field(description="The supporter's reference (contacts.ref).")
    org: str | None = None


@strawberry.type
class ErasureMutation:
    @strawberry.mutation(
        description=(
            "A supporter asked your org to delete them: your org's copy is purged and your "
            "tools are told (erasure_requested). Other orgs' copies are theirs: the person "
            "erases every copy with requestMyErasure."
        ),
        permission_classes=[require_scope("contacts:read")],
    )
    async def request_erasure(
        self, info: Info[Context, None], input: RequestErasureInput
    ) -> RequestErasureResult:
        done = await resolvers.request_erasure(
            info.context, input.campaign, input.contact_ref, input.org
        )
        if not done:
            return RequestErasure.failed(
                _problem(
                    "contactRef",
                    ContactErrorCode.NOT_FOUND,
                    "no such supporter of your org in this campaign",
                )
            )
        return RequestErasure.success(contact_ref=input.contact_ref)


@strawberry.input
class RequestMyErasureInput:
    email: str = strawberry.field(description="The address you signed with.")
    campaign: str = strawberry.field(
        description="The campaign's name (as its pages show it) or <org>/<name>."
    )


MY_ERASURE_ANSWER = (
    "If this campaign holds this address, a link to delete your details everywhere in the "
    "campaign is on its way to it."
)


@strawberry.type
class PublicErasureMutation:
    @strawberry.mutation(
        description=(
            "Anyone may ask to delete their own details from every organisation of a "
            "campaign: a signed link is mailed to the address; following it erases every "
            "copy. The answer is the same whatever the address."
        )
    )
    async def request_my_erasure(
        self, info: Info[Context, None], input: RequestMyErasureInput
    ) -> RequestMyErasureResult:
        if not await resolvers.request_my_erasure(info.context, input.email, input.campaign):
            return RequestMyErasure.failed(
                _problem("email", ContactErrorCode.INVALID, "is not a valid email address")
            )
        return RequestMyErasure.success(message=MY_ERASURE_ANSWER)
