"""SQL for reading personal data: only the acting org's own Contact rows (DESIGN §5).

Every function takes the :class:`Scope` and a :class:`Membership` that scoping resolved for
the caller; the Contact filter is both ``Contact.org_id == membership.org_id`` and the scope's
own org filter, so a key alone is never trusted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import Action, ActionPage, Consent, Contact, Supporter
from orgs.scoping import Membership, Scope
from permissions.roles import Permission


@dataclass(frozen=True)
class ContactFilter:
    page: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    consent: str | None = None  # "given" | "withdrawn" | "none"
    action_type: str | None = None
    source: str | None = None


def _conditions(
    scope: Scope, membership: Membership, flt: ContactFilter, permission: Permission
) -> list[ColumnElement[bool]]:
    org_id = membership.org_id
    campaign_id = membership.campaign.id
    conditions: list[ColumnElement[bool]] = [
        col(Contact.org_id) == org_id,
        scope.org_filter(col(Contact.org_id), permission),
        col(Supporter.campaign_id) == campaign_id,
        col(Contact.disabled_at).is_(None),
        col(Supporter.erased_at).is_(None),
    ]
    action_on = [
        col(Action.supporter_id) == col(Supporter.id),
        col(Action.campaign_id) == campaign_id,
    ]
    if flt.page is not None:
        conditions.append(
            exists().where(
                *action_on,
                col(Action.action_page_id) == col(ActionPage.id),
                col(ActionPage.name) == flt.page,
            )
        )
    if flt.action_type is not None:
        conditions.append(exists().where(*action_on, col(Action.action_type) == flt.action_type))
    if flt.source is not None:
        conditions.append(exists().where(*action_on, col(Action.source) == flt.source))
    if flt.since is not None:
        conditions.append(col(Contact.created_at) >= flt.since)
    if flt.until is not None:
        conditions.append(col(Contact.created_at) < flt.until)
    if flt.consent is not None:
        to_org = [
            col(Consent.supporter_id) == col(Supporter.id),
            col(Consent.org_id) == org_id,
        ]
        given = exists().where(
            *to_org, col(Consent.given).is_(True), col(Consent.withdrawn_at).is_(None)
        )
        withdrawn = exists().where(*to_org, col(Consent.withdrawn_at).is_not(None))
        if flt.consent == "given":
            conditions.append(given)
        elif flt.consent == "withdrawn":
            conditions.append(and_(withdrawn, ~given))
        else:
            conditions.append(~exists().where(*to_org))
    return conditions


async def contacts_page(
    session: AsyncSession,
    scope: Scope,
    membership: Membership,
    flt: ContactFilter,
    first: int,
    after_id: int | None,
) -> list[tuple[Contact, Supporter]]:
    """Up to ``first + 1`` of the org's Contact rows in the campaign, keyset by id."""
    conditions = _conditions(scope, membership, flt, Permission.READ_CONTACTS)
    if after_id is not None:
        conditions.append(col(Contact.id) > after_id)
    result = await session.execute(
        select(Contact, Supporter)
        .join(Supporter, col(Supporter.id) == col(Contact.supporter_id))
        .where(*conditions)
        .order_by(col(Contact.id))
        .limit(first + 1)
    )
    return [(c, s) for c, s in result.all()]


async def stream_contacts(
    session: AsyncSession,
    scope: Scope,
    membership: Membership,
    flt: ContactFilter,
    batch: int = 1000,
) -> AsyncIterator[list[tuple[Contact, Supporter]]]:
    """The same rows for export, in keyset batches (constant memory)."""
    after: int | None = None
    while True:
        conditions = _conditions(scope, membership, flt, Permission.EXPORT_CONTACTS)
        if after is not None:
            conditions.append(col(Contact.id) > after)
        result = await session.execute(
            select(Contact, Supporter)
            .join(Supporter, col(Supporter.id) == col(Contact.supporter_id))
            .where(*conditions)
            .order_by(col(Contact.id))
            .limit(batch)
        )
        rows = [(c, s) for c, s in result.all()]
        if not rows:
            return
        yield rows
        last = rows[-1][0].id
        assert last is not None
        after = last
        session.expunge_all()


async def consents_by_supporter(
    session: AsyncSession, scope: Scope, membership: Membership, supporter_ids: Sequence[int]
) -> dict[int, list[Consent]]:
    """Consents the supporters gave to the acting org (not to anyone else)."""
    out: dict[int, list[Consent]] = {i: [] for i in supporter_ids}
    if not supporter_ids:
        return out
    result = await session.execute(
        select(Consent)
        .where(
            col(Consent.supporter_id).in_(list(supporter_ids)),
            col(Consent.org_id) == membership.org_id,
            scope.org_filter(col(Consent.org_id), Permission.READ_CONTACTS),
        )
        .order_by(col(Consent.id))
    )
    for consent in result.scalars():
        out[consent.supporter_id].append(consent)
    return out


async def actions_by_supporter(
    session: AsyncSession, scope: Scope, membership: Membership, supporter_ids: Sequence[int]
) -> dict[int, list[tuple[Action, str]]]:
    """The supporters' actions on the campaign, with the page name.

    Only supporters the acting org holds a Contact row for are answered.
    """
    out: dict[int, list[tuple[Action, str]]] = {i: [] for i in supporter_ids}
    if not supporter_ids:
        return out
    result = await session.execute(
        select(Action, col(ActionPage.name))
        .join(ActionPage, col(ActionPage.id) == col(Action.action_page_id))
        .where(
            col(Action.supporter_id).in_(list(supporter_ids)),
            col(Action.campaign_id) == membership.campaign.id,
            exists().where(
                col(Contact.supporter_id) == col(Action.supporter_id),
                col(Contact.org_id) == membership.org_id,
                scope.org_filter(col(Contact.org_id), Permission.READ_CONTACTS),
            ),
        )
        .order_by(col(Action.id))
    )
    for action, page_name in result.all():
        assert action.supporter_id is not None
        out[action.supporter_id].append((action, page_name))
    return out
