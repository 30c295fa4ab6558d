"""The visibility rule (DESIGN §5), in one module: who may read what of whom.

Two halves, used by every path that returns or receives personal data (queries, exports,
deliveries, the dashboard) and never restated elsewhere:

* **Subject scope**: :class:`Scope` turns an authenticated subject into the orgs (and, via
  partnerships, the campaigns) it may act for. Repositories take a scope, never raw ids from
  a request; workers use :func:`system_scope` for exactly one org.
* **Data rule**: which orgs a signature gives a Contact copy and with which scope
  (:func:`grants`), the one list of delivery fields and the field mask (:func:`mask_contact`),
  which of a supporter's actions an org may see and how much of each
  (:func:`action_view`, :func:`mask_action`), and the contactRef capability rule
  (:func:`ref_reaches`).

An org reads a supporter only through its own Contact row (``Contact.org_id`` filtered by
:meth:`Scope.org_filter`), and a Contact exists only where :func:`grants` entitles the org.
An org erases only its own copy; every copy goes only at the person's own verified request
(orgs/contacts/erasure.py).

Who sees which fields of whom (docs/permissions.md has the same table):

* the org whose page collected it: every contact field; the actions on its own pages;
* an org given communication consent (lead opt-in): every field; the actions on its own
  pages and each action whose consent granted it its copy;
* the campaign's delivery org without consent: the delivery fields; each signature's
  delivery fields (what, when);
* anyone else: nothing (aggregate counts only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from orgs.models import (
    Action,
    Campaign,
    Consent,
    ConsentPurpose,
    ContactScope,
    Org,
    Partnership,
    PartnershipStatus,
)
from permissions.roles import Permission
from permissions.subject import ANONYMOUS, Subject, system_subject


@dataclass(frozen=True)
class Scope:
    subject: Subject

    def org_ids(self, permission: Permission) -> frozenset[int]:
        """Orgs the subject may act for with ``permission`` (role bits AND token scopes)."""
        return self.subject.orgs_with(permission)

    def allows(self, org_id: int, permission: Permission) -> bool:
        return permission in self.subject.permissions_in(org_id)

    def member_org_ids(self) -> frozenset[int]:
        """Orgs the subject belongs to, whatever its permissions there."""
        return frozenset(self.subject.grants)

    def org_filter(self, column: Any, permission: Permission) -> ColumnElement[bool]:
        """SQL condition limiting ``column`` (an ``org_id``) to orgs allowed ``permission``."""
        ids = self.org_ids(permission)
        if not ids:
            return false()
        result: ColumnElement[bool] = column.in_(sorted(ids))
        return result

    async def campaign_membership(
        self,
        session: AsyncSession,
        campaign: str | int,
        permission: Permission,
        *,
        org_id: int | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> Membership | None:
        """The campaign ``campaign`` as seen by one of the subject's orgs.

        ``campaign`` is an id, a name, or a name qualified with its name space
        (``<org>/<name>``, see :func:`campaign_name_filter`). ``org_id`` picks the acting org
        (it must be one of the subject's orgs allowed ``permission``); without it the
        subject's org with the strongest partnership is used. ``None`` when the campaign
        does not exist, no allowed org takes part in it with one of ``statuses`` (default:
        :data:`READABLE_STATUSES`), or a bare name matches several of the subject's
        campaigns: "not yours" looks like "not found".
        """
        ids = self.org_ids(permission) if org_id is None else self.org_ids(permission) & {org_id}
        if not ids:
            return None
        wanted = statuses if statuses is not None else READABLE_STATUSES
        which = (
            col(Campaign.id) == campaign
            if isinstance(campaign, int)
            else campaign_name_filter(campaign)
        )
        result = await session.execute(
            select(Campaign, Partnership)
            .join(Partnership, col(Partnership.campaign_id) == col(Campaign.id))
            .where(
                which,
                col(Partnership.org_id).in_(sorted(ids)),
                col(Partnership.status).in_(wanted),
            )
            .order_by(col(Partnership.id))
        )
        rows: list[tuple[Campaign, Partnership]] = [(c, p) for c, p in result.all()]
        if not rows or len({c.id for c, _ in rows}) > 1:
            return None
        rank = {"lead": 0, "coordinator": 1, "partner": 2}
        active = PartnershipStatus.ACTIVE.value
        found, partnership = min(
            rows, key=lambda r: (r[1].status != active, rank.get(r[1].role, 3))
        )
        return Membership(campaign=found, partnership=partnership)


def campaign_name_filter(name: str) -> ColumnElement[bool]:
    """SQL condition for a campaign named ``name`` or ``<name space org>/<name>``.

    Campaign names are unique only within the name space of the org that created them, so a
    bare name may match other tenants' campaigns: callers combine this with a partnership of
    the subject's orgs (or a public status), never use it alone to reveal a campaign.
    """
    space, _, bare = name.rpartition("/")
    if not space:
        return col(Campaign.name) == name
    owner = aliased(Org)
    return and_(
        col(Campaign.name) == bare,
        exists().where(col(owner.id) == col(Campaign.namespace_org_id), col(owner.name) == space),
    )


#: Partnerships through which an org reads its own data: it stays the controller of what it
#: collected and what was consented to it after leaving or being removed (issue 10).
READABLE_STATUSES: tuple[str, ...] = (
    PartnershipStatus.ACTIVE.value,
    PartnershipStatus.LEFT.value,
    PartnershipStatus.REMOVED.value,
)


@dataclass(frozen=True)
class Membership:
    """A campaign seen through one org's partnership in it."""

    campaign: Campaign
    partnership: Partnership

    @property
    def org_id(self) -> int:
        return self.partnership.org_id

    @property
    def role(self) -> str | None:
        """The coalition role, only while the partnership is active (policies need it)."""
        if self.partnership.status != PartnershipStatus.ACTIVE.value:
            return None
        return self.partnership.role

    @property
    def reading_role(self) -> str | None:
        """The role for reading the org's own data: kept after leaving or removal."""
        if self.partnership.status not in READABLE_STATUSES:
            return None
        return self.partnership.role


PUBLIC = Scope(ANONYMOUS)


def scope_for(subject: Subject) -> Scope:
    return Scope(subject)


def system_scope(org_id: int) -> Scope:
    """Full rights in one org, for workers and services acting on that org's own behalf."""
    return Scope(system_subject(org_id))


# --- the data rule --------------------------------------------------------------------------

#: The contact fields the delivery org receives without consent: what delivering the
#: signatures to the target needs. The one list (intake, contacts, exports, payloads use it).
DELIVERY_CONTACT_FIELDS: tuple[str, ...] = ("firstName", "lastName")
DELIVERY_ADDRESS_FIELDS: tuple[str, ...] = ("country", "postcode", "locality")


def mask_contact(data: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """The fields of a contact payload an org with a Contact of ``scope`` may see."""
    if scope == ContactScope.FULL.value:
        return dict(data)
    if scope != ContactScope.DELIVERY.value:
        return {}
    out = {k: data[k] for k in DELIVERY_CONTACT_FIELDS if data.get(k) not in (None, "")}
    raw = data.get("address")
    if isinstance(raw, Mapping):
        address = {k: raw[k] for k in DELIVERY_ADDRESS_FIELDS if raw.get(k) not in (None, "")}
        if address:
            out["address"] = address
    return out


@dataclass(frozen=True)
class Grants:
    """What one signature gives each org (DESIGN §5).

    ``contacts``: org -> Contact scope it gets from this signature; ``consents``: the
    decisions as shown, (org, purpose, given); ``recipients``: the orgs told of the action
    (those it gave a copy: only they may see its details).
    """

    contacts: dict[int, ContactScope] = field(default_factory=dict)
    consents: list[tuple[int, ConsentPurpose, bool]] = field(default_factory=list)

    @property
    def recipients(self) -> list[int]:
        return sorted(self.contacts)


def grants(
    *,
    page_org_id: int,
    lead_org_id: int,
    delivery_org_id: int | None,
    opt_in: bool | None,
    lead_opt_in: bool | None,
) -> Grants:
    """Contact copies and consent decisions of one signature.

    1. the page's org collected the data: a full copy;
    2. the lead org with lead opt-in: a full copy;
    3. the delivery org: full when 1 or 2 already applies to it, else delivery fields only.
    A consent box that was not shown (None) records nothing and grants nothing.
    """
    communication = ConsentPurpose.COMMUNICATION
    result = Grants(contacts={page_org_id: ContactScope.FULL})
    if opt_in is not None:
        result.consents.append((page_org_id, communication, opt_in))
    if lead_org_id != page_org_id:
        if lead_opt_in is not None:
            result.consents.append((lead_org_id, communication, lead_opt_in))
        if lead_opt_in:
            result.contacts[lead_org_id] = ContactScope.FULL
    elif opt_in is None and lead_opt_in is not None:
        result.consents.append((page_org_id, communication, lead_opt_in))
    if delivery_org_id is not None:
        result.consents.append((delivery_org_id, ConsentPurpose.DELIVERY, True))
        result.contacts.setdefault(delivery_org_id, ContactScope.DELIVERY)
    return result


class ActionView(StrEnum):
    """How much of one action an org may see."""

    FULL = "full"  # taken on the org's own page, or its consent granted the org its copy
    DELIVERY = "delivery"  # the delivery purpose: that it happened, what and when


#: The action fields of the DELIVERY view (payload and API names).
ACTION_DELIVERY_FIELDS: tuple[str, ...] = ("id", "actionType", "createdAt")


def action_view(org_id: Any, action: Any = Action) -> ColumnElement[str | None]:
    """SQL: this org's :class:`ActionView` of ``action`` (a row of ``action``), NULL: none.

    An org sees an action's details only when the action was taken on its own page, or when
    that action itself granted the org its copy (communication consent given with it:
    full; the delivery purpose: delivery fields only). Aggregates are not personal data
    and do not go through this.
    """
    granted = aliased(Consent)
    given_with = [col(granted.action_id) == action.id, col(granted.org_id) == org_id]
    consented = exists().where(
        *given_with,
        col(granted.purpose) == ConsentPurpose.COMMUNICATION.value,
        col(granted.given).is_(True),
    )
    delivery = exists().where(*given_with, col(granted.purpose) == ConsentPurpose.DELIVERY.value)
    view: ColumnElement[str | None] = case(
        (action.org_id == org_id, literal(ActionView.FULL.value)),
        (consented, literal(ActionView.FULL.value)),
        (delivery, literal(ActionView.DELIVERY.value)),
        else_=None,
    )
    return view


def visible_actions(org_id: int, *columns: Any) -> Select[Any]:
    """SELECT ``columns`` and this org's view of every action it may see (view not NULL)."""
    view = action_view(org_id).label("view")
    return select(*columns, view).where(view.is_not(None))


def mask_action(action: Mapping[str, Any], view: str | None) -> dict[str, Any] | None:
    """The fields of an action (payload/API names) an org with ``view`` may see."""
    if view == ActionView.FULL.value:
        return dict(action)
    if view == ActionView.DELIVERY.value:
        return {k: action[k] for k in ACTION_DELIVERY_FIELDS if k in action}
    return None


# --- contactRef: a capability of one submission ----------------------------------------------


def ref_reaches(*, issued_org_id: int, page_org_id: int, age_seconds: float, ttl: float) -> bool:
    """Whether a contactRef issued on one of ``issued_org_id``'s pages authorises a follow-up
    on a page of ``page_org_id`` (same campaign: the lookup is by campaign).

    Only pages of the issuing page's org, for ``ttl`` seconds; it never reaches the
    supporter's other submissions.
    """
    return issued_org_id == page_org_id and age_seconds < ttl


#: What anyone may read of a campaign's recent actions (Proca's ``campaign.actions``): the
#: action's id, type, time and the supporter's country; of its custom fields only the keys
#: the campaign lists as public (:func:`public_action_keys`). Never a contact field.
PUBLIC_ACTION_FIELDS: tuple[str, ...] = ("id", "actionType", "createdAt", "country")
_NEVER_PUBLIC = frozenset(
    key.lower()
    for key in (
        "firstName",
        "lastName",
        "name",
        "email",
        "phone",
        "birthDate",
        "address",
        "postcode",
        "street",
        "streetNumber",
        "locality",
        "region",
        "contactRef",
        "ref",
    )
)
MAX_PUBLIC_ACTIONS = 100


def public_action_keys(campaign_config: Mapping[str, Any], action_type: str) -> list[str]:
    """Custom field keys of ``action_type`` actions that the campaign publishes.

    The lead lists them in the campaign config as ``"publicActions": ["<type>:<key>", ...]``
    (Proca's format); a contact field name is never public, even when listed (a person may
    have typed their address into a custom field of that name).
    """
    listed = campaign_config.get("publicActions")
    if not isinstance(listed, list):
        return []
    keys = []
    for item in listed:
        if not isinstance(item, str):
            continue
        kind, sep, key = item.partition(":")
        if sep and kind == action_type and key and key.lower() not in _NEVER_PUBLIC:
            keys.append(key)
    return sorted(set(keys))


def public_custom_fields(custom_fields: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """The public part of an action's custom fields: the listed keys whose values are text."""
    return {
        key: custom_fields[key]
        for key in keys
        if isinstance(custom_fields.get(key), str | int | float | bool)
    }


def visibility_reference() -> str:
    """The rule as one Markdown table (embedded in docs/permissions.md; a test checks)."""
    delivery = ", ".join(
        [*DELIVERY_CONTACT_FIELDS, *(f"address.{k}" for k in DELIVERY_ADDRESS_FIELDS)]
    )
    action_fields = ", ".join(ACTION_DELIVERY_FIELDS)
    rows = [
        (
            "the org whose page collected it",
            "all",
            "those on its own pages: all fields",
            "it collected them (§5.1)",
        ),
        (
            "an org given communication consent (lead opt-in)",
            "all",
            "those on its own pages, and each action whose consent gave it its copy: all fields",
            "consent (§5.2)",
        ),
        (
            "the campaign's delivery org, without consent",
            delivery,
            f"each signature: {action_fields}",
            "delivering the signatures (§5.3)",
        ),
        (
            "any other org, a removed or left partner for new signatures, anyone anonymous",
            "none",
            "aggregate counts; the campaign's recent actions: "
            f"{', '.join(PUBLIC_ACTION_FIELDS)} and the custom fields the campaign lists as "
            "public (never a contact field)",
            "public reads (Proca's `campaign.actions`)",
        ),
    ]
    lines = [
        "| who | contact fields | actions | why |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    return "\n".join(lines) + "\n"
