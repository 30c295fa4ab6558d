"""The widget-facing write API, Proca-compatible: addActionContact, addAction, linkActions.

Type names (ActionInput, ContactInput, AddressInput, ConsentInput, TrackingInput,
ContactReference, Json) are those existing widgets declare in their operations' variables.
Invalid input answers top-level GraphQL errors whose ``path`` ends at the offending input
field, with a stable ``extensions.code``; nothing is written (see schema/extensions.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from orgs.intake.service import Receipt
from orgs.intake.validation import IntakeValidationError
from resolvers import intake as resolvers
from resolvers.context import Context
from schema.scalars import JsonValue


class InputError(GraphQLError):
    """The first problem of a rejected submission; ``more`` holds the others."""

    more: list[GraphQLError]


def input_errors(field: str, error: IntakeValidationError) -> InputError:
    located = [
        GraphQLError(e.message, path=[field, *e.path], extensions={"code": e.code.value})
        for e in error.errors
    ]
    first = InputError(located[0].message, path=located[0].path, extensions=located[0].extensions)
    first.more = located[1:]
    return first


@strawberry.input
class AddressInput:
    country: str | None = None
    postcode: str | None = None
    locality: str | None = None
    region: str | None = None
    street: str | None = None
    street_number: str | None = None


@strawberry.input
class ContactInput:
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: str | None = None
    address: AddressInput | None = None


@strawberry.input(description="A message to targets (mail to target), as Proca's widget sends it.")
class MttActionInput:
    subject: str | None = strawberry.field(
        default=None, description="One line (null: the campaign's template)."
    )
    body: str | None = strawberry.field(
        default=None, description="Plain text (null: the campaign's template)."
    )
    targets: list[str] = strawberry.field(description="The targets' external ids.")
    files: list[str] | None = strawberry.field(
        default=None, description="Accepted for compatibility; not attached."
    )


@strawberry.input
class ActionInput:
    action_type: str
    custom_fields: JsonValue | None = strawberry.field(
        default=None, description="A JSON object, or a JSON-encoded string of one (≤ 8 KB)."
    )
    mtt: MttActionInput | None = strawberry.field(
        default=None, description="With actionType mail2target: the message and its targets."
    )
    testing: bool | None = None


@strawberry.input(description="Consent as shown: null (or absent) means the box was not shown.")
class ConsentInput:
    opt_in: bool | None = strawberry.field(
        default=None, description="Communication consent to the page's organisation."
    )
    lead_opt_in: bool | None = strawberry.field(
        default=None, description="Communication consent to the campaign's lead organisation."
    )
    consent_version: str | None = strawberry.field(
        default=None, description="The wording version shown (campaign.consent.version)."
    )


@strawberry.input
class TrackingInput:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    location: str | None = None
    referral_code: str | None = strawberry.field(
        default=None, description="The sharer's code from the shared URL (coalition_ref)."
    )


@strawberry.type
class ContactReference:
    contact_ref: str = strawberry.field(description="Pass to addAction for follow-ups.")
    first_name: str | None
    referral_code: str | None = strawberry.field(
        description="Put in shared URLs as coalition_ref: credits new signers to this supporter."
    )
    mailto: str | None = strawberry.field(
        default=None,
        description="A mail to target in the campaign's mailto mode: the mailto: link that "
        "opens the signer's own mail app with the message (null otherwise).",
    )

    @classmethod
    def from_receipt(cls, receipt: Receipt) -> ContactReference:
        return cls(
            contact_ref=receipt.contact_ref,
            first_name=receipt.first_name,
            referral_code=receipt.referral_code,
            mailto=receipt.mailto,
        )


def _camel(value: Any) -> Any:
    """Input objects as the plain dicts the service validates (camelCase keys, like JSON)."""
    if value is None:
        return None
    out: dict[str, Any] = {}
    for item in dataclasses.fields(value):
        name = item.name
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        inner = getattr(value, name)
        out[camel] = _camel(inner) if dataclasses.is_dataclass(inner) else inner
    return out


@strawberry.type
class IntakeMutation:
    @strawberry.mutation(description="Sign: a supporter's action with contact, consent, tracking.")
    async def add_action_contact(
        self,
        info: Info[Context, None],
        action_page_id: int,
        action: ActionInput,
        contact: ContactInput,
        privacy: ConsentInput,
        tracking: TrackingInput | None = None,
        contact_ref: strawberry.ID | None = None,
    ) -> ContactReference:
        try:
            receipt = await resolvers.add_action_contact(
                info.context,
                action_page_id,
                action=_camel(action),
                contact=_camel(contact),
                privacy=_camel(privacy),
                tracking=_camel(tracking),
                contact_ref=contact_ref,
            )
        except IntakeValidationError as error:
            raise input_errors("addActionContact", error) from None
        return ContactReference.from_receipt(receipt)

    @strawberry.mutation(description="A follow-up action (share, ...) by contactRef.")
    async def add_action(
        self,
        info: Info[Context, None],
        action_page_id: int,
        action: ActionInput,
        contact_ref: strawberry.ID,
        tracking: TrackingInput | None = None,
    ) -> ContactReference:
        try:
            receipt = await resolvers.add_action(
                info.context,
                action_page_id,
                action=_camel(action),
                contact_ref=contact_ref,
                tracking=_camel(tracking),
            )
        except IntakeValidationError as error:
            raise input_errors("addAction", error) from None
        return ContactReference.from_receipt(receipt)

    @strawberry.mutation(description="Attach anonymous actions taken before signing.")
    async def link_actions(
        self,
        info: Info[Context, None],
        action_page_id: int,
        contact_ref: strawberry.ID,
        link_refs: list[str],
    ) -> ContactReference:
        try:
            receipt = await resolvers.link_actions(
                info.context, action_page_id, contact_ref, link_refs
            )
        except IntakeValidationError as error:
            raise input_errors("linkActions", error) from None
        return ContactReference.from_receipt(receipt)
