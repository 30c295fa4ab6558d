"""Reading personal data: resolve the campaign through scoping, check the policy, read."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.contacts import repository
from orgs.contacts.repository import ContactFilter
from orgs.models import Contact, Supporter
from orgs.scoping import Membership, Scope
from permissions import policies
from permissions.roles import Permission

MAX_PAGE = 500


class ContactErrorCode(StrEnum):
    """Codes of the personal-data operations (exposed as ``ContactErrorCode``)."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"


async def reading_membership(
    session: AsyncSession,
    scope: Scope,
    campaign: str,
    org: int | None,
    permission: Permission = Permission.READ_CONTACTS,
) -> Membership | None:
    """The caller's org in ``campaign`` allowed to read personal data, or ``None``.

    A partner that left keeps reading its own data; anything else looks "not found".
    """
    membership = await scope.campaign_membership(session, campaign, permission, org_id=org)
    if membership is None:
        return None
    check = (
        policies.can_export_contacts
        if permission is Permission.EXPORT_CONTACTS
        else policies.can_read_contacts
    )
    if not check(scope.subject, membership.org_id, membership.reading_role):
        return None
    return membership


async def contacts(
    session: AsyncSession,
    scope: Scope,
    membership: Membership,
    flt: ContactFilter,
    first: int,
    after_id: int | None,
) -> tuple[list[tuple[Contact, Supporter, bool]], bool]:
    """One page of the org's own contacts (with their flagged state) and whether more follow."""
    first = max(0, min(first, MAX_PAGE))
    rows = await repository.contacts_page(session, scope, membership, flt, first, after_id)
    return rows[:first], len(rows) > first
