"""SQL on personal data: only the acting org's own Contact rows, through orgs/scoping.py.

Reads take the :class:`Scope` and a :class:`Membership` that scoping resolved for the
caller; the Contact filter is both ``Contact.org_id == membership.org_id`` and the scope's
own org filter, so a key alone is never trusted. Actions are read only through
:func:`orgs.scoping.visible_actions` (the org's own pages, or actions that granted it its
copy), and the contact filters below match visible actions only, so a filter cannot test
what a supporter did on another org's page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, exists, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from orgs.models import Action, ActionPage, Consent, Contact, Supporter
from orgs.scoping import ActionView, Membership, Scope, action_view, visible_actions
from permissions.roles import Permission


@dataclass(frozen=True)
class ContactFilter:
    page: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    consent: str | None = None  # "given" | "withdrawn" | "none"
    action_type: str | None = None
    source: str | None = None
    flagged: bool | None = None  # None: both; False: only contacts with a counted action


def flagged_contact() -> ColumnElement[bool]:
    """SQL: the contact came only from flagged actions (bots, rate limits, ...) as far as the
    acting org can see: none of the supporter's actions it may see was accepted."""
    return ~exists().where(
        col(Action.supporter_id) == col(Supporter.id),
        col(Action.campaign_id) == col(Supporter.campaign_id),
        col(Action.flagged).is_(None),
        action_view(col(Contact.org_id)).is_not(None),
    )


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
    view = action_view(org_id)
    seen = [
        col(Action.supporter_id) == col(Supporter.id),
        col(Action.campaign_id) == campaign_id,
    ]
    full = view == ActionView.FULL.value
    if flt.page is not None:
        conditions.append(
            exists().where(
                *seen,
                full,
                col(Action.action_page_id) == col(ActionPage.id),
                col(ActionPage.name) == flt.page,
            )
        )
    if flt.action_type is not None:
        conditions.append(
            exists().where(*seen, view.is_not(None), col(Action.action_type) == flt.action_type)
        )
    if flt.source is not None:
        conditions.append(exists().where(*seen, full, col(Action.source) == flt.source))
    if flt.flagged is not None:
        flagged = flagged_contact()
        conditions.append(flagged if flt.flagged else ~flagged)
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
) -> list[tuple[Contact, Supporter, bool]]:
    """Up to ``first + 1`` of the org's Contact rows in the campaign, keyset by id."""
    conditions = _conditions(scope, membership, flt, Permission.READ_CONTACTS)
    if after_id is not None:
        conditions.append(col(Contact.id) > after_id)
    result = await session.execute(
        select(Contact, Supporter, flagged_contact())
        .join(Supporter, col(Supporter.id) == col(Contact.supporter_id))
        .where(*conditions)
        .order_by(col(Contact.id))
        .limit(first + 1)
    )
    return [(c, s, bool(flag)) for c, s, flag in result.all()]


async def stream_contacts(
    session: AsyncSession,
    scope: Scope,
    membership: Membership,
    flt: ContactFilter,
    batch: int = 1000,
) -> AsyncIterator[list[tuple[Contact, Supporter, bool]]]:
    """The same rows for export, in keyset batches (constant memory)."""
    after: int | None = None
    while True:
        conditions = _conditions(scope, membership, flt, Permission.EXPORT_CONTACTS)
        if after is not None:
            conditions.append(col(Contact.id) > after)
        result = await session.execute(
            select(Contact, Supporter, flagged_contact())
            .join(Supporter, col(Supporter.id) == col(Contact.supporter_id))
            .where(*conditions)
            .order_by(col(Contact.id))
            .limit(batch)
        )
        rows = [(c, s, bool(flag)) for c, s, flag in result.all()]
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
) -> dict[int, list[tuple[Action, str, str]]]:
    """The supporters' actions the acting org may see, with the page name and its view.

    Only supporters the acting org holds a Contact row for are answered, and of their
    actions only those :func:`orgs.scoping.action_view` lets the org see.
    """
    out: dict[int, list[tuple[Action, str, str]]] = {i: [] for i in supporter_ids}
    if not supporter_ids or not scope.allows(membership.org_id, Permission.READ_CONTACTS):
        return out
    result = await session.execute(
        visible_actions(membership.org_id, Action, col(ActionPage.name))
        .join(ActionPage, col(ActionPage.id) == col(Action.action_page_id))
        .where(
            col(Action.supporter_id).in_(list(supporter_ids)),
            col(Action.campaign_id) == membership.campaign.id,
            exists().where(
                col(Contact.supporter_id) == col(Action.supporter_id),
                col(Contact.org_id) == membership.org_id,
                col(Contact.disabled_at).is_(None),
            ),
        )
        .order_by(col(Action.id))
    )
    for action, page_name, view in result.all():
        assert action.supporter_id is not None
        out[action.supporter_id].append((action, page_name, view))
    return out


# --- consent answers and erasure (Core, on the caller's connection) ----------------------------

_CONFIRM = text(
    """
    WITH confirmed AS (
      UPDATE supporter SET confirmation = 'confirmed', confirmed_at = now()
      WHERE id = :id AND confirmation = 'confirming' RETURNING id, campaign_id
    ),
    consents AS (
      UPDATE consent SET confirmed_at = now()
      WHERE supporter_id IN (SELECT id FROM confirmed) AND method = 'double'
        AND confirmed_at IS NULL
      RETURNING id, action_page_id
    )
    -- the confirmation rate's numerator, on the page that asked (its "doi:asked" counter)
    INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
    SELECT (SELECT action_page_id FROM consents ORDER BY id LIMIT 1), 'doi:confirmed|0',
           confirmed.campaign_id, 1
    FROM confirmed WHERE EXISTS (SELECT 1 FROM consents)
    ON CONFLICT (action_page_id, metric) DO UPDATE SET value = stat_counter.value + 1
    """
)
_STILL_CONFIRMING = text("SELECT confirmation FROM supporter WHERE id = :id")


async def confirm_supporter(conn: AsyncConnection, supporter_id: int) -> bool:
    """A double opt-in accepted: the supporter and its double opt-in consents are confirmed.
    False when there was nothing to confirm."""
    before = (await conn.execute(_STILL_CONFIRMING, {"id": supporter_id})).scalar_one_or_none()
    if before != "confirming":
        return False
    await conn.execute(_CONFIRM, {"id": supporter_id})
    return True


_REJECT = text(
    "UPDATE supporter SET confirmation = 'rejected', erased_at = now() "
    "WHERE id = :id AND confirmation = 'confirming' RETURNING id"
)


async def reject_supporter(conn: AsyncConnection, supporter_id: int) -> bool:
    """ "It wasn't me": the supporter is marked rejected and erased. False if not confirming."""
    return (await conn.execute(_REJECT, {"id": supporter_id})).first() is not None


_WITHDRAW = text(
    "UPDATE consent SET withdrawn_at = now() WHERE supporter_id = :id "
    "AND purpose = 'communication' AND given AND withdrawn_at IS NULL RETURNING org_id"
)


async def withdraw_communication(conn: AsyncConnection, supporter_id: int) -> list[int]:
    """Withdraw every communication consent the supporter gave; the orgs concerned."""
    rows = await conn.execute(_WITHDRAW, {"id": supporter_id})
    return sorted({int(row[0]) for row in rows})


_MARK_ERASED = text("UPDATE supporter SET erased_at = now() WHERE id = :id AND erased_at IS NULL")


async def mark_erased(conn: AsyncConnection, supporter_id: int) -> None:
    """Every copy of the supporter is going: it no longer answers refs or counts as a holder."""
    await conn.execute(_MARK_ERASED, {"id": supporter_id})


_HOLDERS = text(
    """
    SELECT org_id FROM contact
    WHERE supporter_id = :id AND disabled_at IS NULL
      AND (CAST(:org_id AS bigint) IS NULL OR org_id = :org_id)
    ORDER BY org_id
    """
)


async def holders(conn: AsyncConnection, supporter_id: int, org_id: int | None = None) -> list[int]:
    """Orgs holding an enabled copy of the supporter (only ``org_id``, when given)."""
    rows = await conn.execute(_HOLDERS, {"id": supporter_id, "org_id": org_id})
    return [int(row[0]) for row in rows]


_PURGE_UNTOLD = text(
    """
    UPDATE contact SET payload = ''::bytea, disabled_at = now(), updated_at = now()
    WHERE supporter_id = :id AND org_id = ANY(CAST(:org_ids AS bigint[])) AND org_id NOT IN (
      SELECT org_id FROM delivery WHERE supporter_id = :id
        AND event = 'erasure_requested' AND status = 'pending')
    """
)


async def purge_untold(conn: AsyncConnection, supporter_id: int, org_ids: list[int]) -> None:
    """Purge the copies of ``org_ids`` whose tools have no erasure left to hear (the copies of
    orgs with a pending ``erasure_requested`` delivery go once it is sent)."""
    await conn.execute(_PURGE_UNTOLD, {"id": supporter_id, "org_ids": org_ids})


_TOLD = text(
    """
    SELECT DISTINCT org_id FROM delivery WHERE supporter_id = :id
      AND event = 'erasure_requested' AND status = 'pending'
      AND org_id = ANY(CAST(:org_ids AS bigint[]))
    ORDER BY org_id
    """
)


async def told_of_erasure(
    conn: AsyncConnection, supporter_id: int, org_ids: list[int]
) -> list[int]:
    rows = await conn.execute(_TOLD, {"id": supporter_id, "org_ids": org_ids})
    return [int(row[0]) for row in rows]


_OWN_SUPPORTER = text(
    """
    SELECT c.supporter_id FROM contact c JOIN supporter s ON s.id = c.supporter_id
    WHERE c.org_id = :org AND c.ref = :ref AND c.disabled_at IS NULL AND s.campaign_id = :campaign
    """
)


async def own_supporter(
    conn: AsyncConnection, scope: Scope, membership: Membership, contact_ref: str
) -> int | None:
    """The supporter the acting org knows as ``contact_ref`` (its own Contact.ref)."""
    if not scope.allows(membership.org_id, Permission.READ_CONTACTS):
        return None
    row = (
        await conn.execute(
            _OWN_SUPPORTER,
            {"org": membership.org_id, "ref": contact_ref, "campaign": membership.campaign.id},
        )
    ).first()
    return int(row[0]) if row is not None else None


_SUPPORTERS_BY_FINGERPRINT = text(
    """
    SELECT s.id, s.campaign_id FROM supporter s JOIN campaign c ON c.id = s.campaign_id
    WHERE s.fingerprint = :fingerprint AND s.erased_at IS NULL
      AND c.status <> 'draft' AND s.campaign_id = ANY(CAST(:campaign_ids AS bigint[]))
    """
)


async def supporters_by_fingerprint(
    conn: AsyncConnection, fingerprint: bytes, campaign_ids: list[int]
) -> list[int]:
    """The (not erased) supporters with this email fingerprint in the given public campaigns."""
    rows = await conn.execute(
        _SUPPORTERS_BY_FINGERPRINT, {"fingerprint": fingerprint, "campaign_ids": campaign_ids}
    )
    return [int(row[0]) for row in rows]


_PURGE_AFTER_ERASURE = text(
    """
    UPDATE contact SET payload = ''::bytea, disabled_at = now(), updated_at = now()
    WHERE supporter_id = :s AND org_id = :o AND NOT EXISTS (
      SELECT 1 FROM delivery
      WHERE supporter_id = :s AND org_id = :o AND event = 'erasure_requested'
        AND status IN ('pending', 'queued') AND id <> :id)
    """
)


def purge_after_erasure(conn: Connection, job_id: int, supporter_id: int, org_id: int) -> None:
    """Forget the org's copy once its tools have been told (no erasure left to send).
    Sync: the delivery pipeline calls it in the attempt's transaction."""
    conn.execute(_PURGE_AFTER_ERASURE, {"s": supporter_id, "o": org_id, "id": job_id})


_FULL_COPY_HOLDER = text(
    """
    SELECT org_id FROM contact
    WHERE supporter_id = :id AND disabled_at IS NULL AND scope = 'full'
    ORDER BY id LIMIT 1
    """
)


async def full_copy_holder(conn: AsyncConnection, supporter_id: int) -> int | None:
    """An org holding a full (addressable) copy of the supporter, if any."""
    value = (await conn.execute(_FULL_COPY_HOLDER, {"id": supporter_id})).scalar_one_or_none()
    return int(value) if value is not None else None
