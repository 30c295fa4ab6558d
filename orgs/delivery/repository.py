"""SQL of connectors and deliveries: management (async, the caller's scope) and what the
workers read for one delivery (sync, the system scope of the delivery's org)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    Executable,
    any_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import (
    Action,
    ActionPage,
    Campaign,
    Connector,
    ConnectorKind,
    Consent,
    Contact,
    ContactScope,
    Delivery,
    DeliveryStatus,
    Org,
    Supporter,
)
from orgs.scoping import Scope, visible_actions
from permissions.roles import Permission

MANAGE = Permission.MANAGE_CONNECTORS


async def connectors(session: AsyncSession, scope: Scope, org_id: int) -> list[Connector]:
    result = await session.execute(
        select(Connector)
        .where(col(Connector.org_id) == org_id, scope.org_filter(col(Connector.org_id), MANAGE))
        .order_by(col(Connector.id))
    )
    return list(result.scalars())


async def connector(session: AsyncSession, scope: Scope, connector_id: int) -> Connector | None:
    result = await session.execute(
        select(Connector).where(
            col(Connector.id) == connector_id, scope.org_filter(col(Connector.org_id), MANAGE)
        )
    )
    return result.scalar_one_or_none()


async def deliveries(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    *,
    status: str | None,
    connector_id: int | None,
    after: int | None,
    first: int,
) -> list[Delivery]:
    query = select(Delivery).where(
        col(Delivery.org_id) == org_id, scope.org_filter(col(Delivery.org_id), MANAGE)
    )
    if status is not None:
        query = query.where(col(Delivery.status) == status)
    if connector_id is not None:
        query = query.where(col(Delivery.connector_id) == connector_id)
    if after is not None:
        query = query.where(col(Delivery.id) < after)
    result = await session.execute(query.order_by(col(Delivery.id).desc()).limit(first))
    return list(result.scalars())


async def retry(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    ids: list[int] | None,
    now: datetime,
    connector_id: int | None = None,
) -> int:
    """Failed deliveries of the org (all, those listed, or one connector's) become pending
    again, due now."""
    query = (
        update(Delivery)
        .where(
            col(Delivery.org_id) == org_id,
            scope.org_filter(col(Delivery.org_id), MANAGE),
            col(Delivery.status) == DeliveryStatus.FAILED.value,
        )
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
        )
    )
    if ids is not None:
        query = query.where(col(Delivery.id).in_(ids))
    if connector_id is not None:
        query = query.where(col(Delivery.connector_id) == connector_id)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class ConnectorHealth:
    """What a connector has done lately (counts, times and the last error; no personal data)."""

    delivered_last_day: int = 0
    last_delivered_at: datetime | None = None
    pending: int = 0  # due or being sent
    retrying: int = 0  # of the pending, those that failed at least once
    waiting: int = 0  # held until the supporter confirms (double opt-in)
    failed: int = 0  # given up on: retry them once the connector is fixed
    last_error: str | None = None
    last_error_at: datetime | None = None


_UNSETTLED = (
    DeliveryStatus.PENDING.value,
    DeliveryStatus.QUEUED.value,
    DeliveryStatus.WAITING.value,
    DeliveryStatus.FAILED.value,
)


async def connector_health(
    session: AsyncSession, scope: Scope, org_id: int, now: datetime
) -> dict[int, ConnectorHealth]:
    """Health of each of the org's connectors (only those with deliveries appear)."""
    if not scope.allows(org_id, MANAGE):
        return {}
    status, connector = col(Delivery.status), col(Delivery.connector_id)
    pending = status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.QUEUED.value])
    unsettled = (
        await session.execute(
            select(
                connector,
                func.count().filter(pending),
                func.count().filter(pending, col(Delivery.attempts) > 0),
                func.count().filter(status == DeliveryStatus.WAITING.value),
                func.count().filter(status == DeliveryStatus.FAILED.value),
            )
            .where(col(Delivery.org_id) == org_id, status.in_(_UNSETTLED), connector.is_not(None))
            .group_by(connector)
        )
    ).all()
    delivered = status == DeliveryStatus.DELIVERED.value
    settled = (
        await session.execute(
            select(
                col(Connector.id),
                select(func.count())
                .where(
                    connector == col(Connector.id),
                    delivered,
                    col(Delivery.delivered_at) > now - timedelta(days=1),
                )
                .scalar_subquery(),
                select(func.max(col(Delivery.delivered_at)))
                .where(connector == col(Connector.id), delivered)
                .scalar_subquery(),
            ).where(
                col(Connector.org_id) == org_id, scope.org_filter(col(Connector.org_id), MANAGE)
            )
        )
    ).all()
    errors = (
        await session.execute(
            select(connector, col(Delivery.last_error), col(Delivery.updated_at))
            .where(
                col(Delivery.org_id) == org_id,
                status.in_(_UNSETTLED),
                col(Delivery.last_error).is_not(None),
                connector.is_not(None),
            )
            .order_by(connector, col(Delivery.updated_at).desc())
            .ext(distinct_on(connector))
        )
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for cid, day, last in settled:
        found[int(cid)] = {"delivered_last_day": int(day), "last_delivered_at": last}
    for cid, n_pending, n_retrying, n_waiting, n_failed in unsettled:
        assert cid is not None
        found.setdefault(int(cid), {}).update(
            pending=int(n_pending),
            retrying=int(n_retrying),
            waiting=int(n_waiting),
            failed=int(n_failed),
        )
    for cid, error, at in errors:
        assert cid is not None
        found.setdefault(int(cid), {}).update(last_error=error, last_error_at=at)
    return {cid: ConnectorHealth(**fields) for cid, fields in found.items()}


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """Instance-wide outbox sizes by status, for /metrics (no personal data)."""
    result = await session.execute(
        select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
    )
    return {str(status): int(count) for status, count in result.all()}


# --- what the workers read for deliveries (sync; system scope of the deliveries' org) --------


def _member(scope: Scope, org_id: int) -> bool:
    return scope.allows(org_id, Permission.READ_CONTACTS)


def smtp_connector(conn: Connection, scope: Scope, org_id: int) -> dict[str, Any] | None:
    """The org's first enabled SMTP connector (config and encrypted secrets), if any."""
    row = (
        conn.execute(
            select(col(Connector.config), col(Connector.secrets_encrypted))
            .where(
                col(Connector.org_id) == org_id,
                scope.org_filter(col(Connector.org_id), MANAGE),
                col(Connector.kind) == ConnectorKind.SMTP.value,
                col(Connector.enabled).is_(True),
            )
            .order_by(col(Connector.id))
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


@dataclass(frozen=True)
class ContactCopy:
    """The org's own copy of a supporter (still encrypted)."""

    ref: str
    scope: str
    payload: bytes


# The workers' statements for a batch are built once per org (building one costs
# milliseconds of CPU, as much as sending the batch's webhooks): the ids are bound.
_STATEMENTS_CACHED = 1024


def _ids(name: str) -> BindParameter[Any]:
    """A list of ids as one array parameter (``= ANY(:name)``): the statement's text stays
    the same whatever the batch's size, so the driver keeps it parsed and prepared."""
    return bindparam(name, type_=ARRAY(BigInteger))


def connector_row(
    conn: Connection, scope: Scope, org_id: int, connector_id: int
) -> dict[str, Any] | None:
    """A connector of ``org_id`` (one of the scope's orgs allowed to manage connectors), with
    its org's name and public key; read by the workers once per batch."""
    if not scope.allows(org_id, MANAGE):
        return None
    row = conn.execute(_connector_row(org_id), {"connector_id": connector_id}).mappings().first()
    return dict(row) if row is not None else None


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _connector_row(org_id: int) -> Executable:
    return (
        select(
            col(Connector.id),
            col(Connector.org_id),
            col(Org.name).label("org_name"),
            col(Connector.kind),
            col(Connector.name),
            col(Connector.config),
            col(Connector.secrets_encrypted),
            col(Connector.enabled),
            col(Org.public_key),
        )
        .join(Org, col(Org.id) == col(Connector.org_id))
        .where(col(Connector.id) == bindparam("connector_id"), col(Connector.org_id) == org_id)
    )


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _contact_copies(org_id: int) -> Executable:
    return (
        select(
            col(Contact.supporter_id), col(Contact.ref), col(Contact.scope), col(Contact.payload)
        )
        .where(
            col(Contact.org_id) == org_id,
            col(Contact.supporter_id) == any_(_ids("supporter_ids")),
            col(Contact.disabled_at).is_(None),
        )
        .order_by(col(Contact.id))
    )


def contact_copies(
    conn: Connection, scope: Scope, org_id: int, supporter_ids: Sequence[int]
) -> dict[int, ContactCopy]:
    """The org's own enabled Contact for each supporter that has one (§5), by supporter."""
    if not _member(scope, org_id) or not supporter_ids:
        return {}
    rows = conn.execute(_contact_copies(org_id), {"supporter_ids": list(supporter_ids)})
    found: dict[int, ContactCopy] = {}
    for row in rows:
        found.setdefault(row.supporter_id, ContactCopy(row.ref, row.scope, bytes(row.payload)))
    return found


def any_full_copy(conn: Connection, supporter_id: int) -> tuple[int, bytes] | None:
    """(org id, payload) of some enabled full copy of the supporter: the address to which the
    person's own erasure link is mailed (the system acting for the person, not for an org)."""
    row = conn.execute(
        select(col(Contact.org_id), col(Contact.payload))
        .where(
            col(Contact.supporter_id) == supporter_id,
            col(Contact.disabled_at).is_(None),
            col(Contact.scope) == ContactScope.FULL.value,
        )
        .order_by(col(Contact.id))
        .limit(1)
    ).first()
    return (int(row.org_id), bytes(row.payload)) if row is not None else None


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _delivery_contexts(org_id: int) -> Executable:
    return (
        select(
            col(Org.name).label("org_name"),
            col(Org.title).label("org_title"),
            col(Org.public_key),
            col(Org.settings).label("org_settings"),
            col(Campaign.name).label("campaign_name"),
            col(Campaign.title).label("campaign_title"),
            col(Supporter.id).label("supporter_id"),
            col(Supporter.confirmation),
            # the language of mails about the person rather than an action (erasure link)
            col(ActionPage.locale),
        )
        .select_from(Supporter)
        .join(Campaign, col(Campaign.id) == col(Supporter.campaign_id))
        .join(ActionPage, col(ActionPage.id) == col(Supporter.first_action_page_id))
        .join(Org, col(Org.id) == org_id)
        .where(col(Supporter.id) == any_(_ids("supporter_ids")))
    )


def delivery_contexts(
    conn: Connection, scope: Scope, org_id: int, supporter_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The org, each supporter's campaign and confirmation state (no personal data), by
    supporter."""
    if not _member(scope, org_id) or not supporter_ids:
        return {}
    rows = conn.execute(
        _delivery_contexts(org_id), {"supporter_ids": list(supporter_ids)}
    ).mappings()
    return {row["supporter_id"]: dict(row) for row in rows}


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _actions_seen_by(org_id: int) -> Executable:
    return (
        visible_actions(
            org_id,
            col(Action.id),
            col(Action.action_type),
            col(Action.custom_fields),
            col(Action.created_at),
            col(Action.testing),
            col(Action.source),
            col(Action.medium),
            col(Action.tracking_campaign),
            col(Action.content),
            col(Action.location),
            col(ActionPage.id).label("page_id"),
            col(ActionPage.name).label("page_name"),
            col(ActionPage.locale),
            col(ActionPage.templates),
            col(ActionPage.config).label("page_config"),
        )
        .join(ActionPage, col(ActionPage.id) == col(Action.action_page_id))
        .where(col(Action.id) == any_(_ids("action_ids")))
    )


def actions_seen_by(
    conn: Connection, scope: Scope, org_id: int, action_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The actions and their pages as ``org_id`` may see them (orgs/scoping.py
    ``action_view``), by action: those it may not see at all are missing; ``view`` says how
    much of each it may see."""
    if not _member(scope, org_id) or not action_ids:
        return {}
    rows = conn.execute(_actions_seen_by(org_id), {"action_ids": list(action_ids)}).mappings()
    return {row["id"]: dict(row) for row in rows}


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _consents_to(org_id: int) -> Executable:
    return (
        select(
            col(Consent.supporter_id),
            col(Org.name).label("org"),
            col(Consent.purpose),
            col(Consent.given),
            col(Consent.wording_version),
            col(Consent.method),
            col(Consent.created_at),
            col(Consent.confirmed_at),
            col(Consent.withdrawn_at),
        )
        .join(Org, col(Org.id) == col(Consent.org_id))
        .where(
            col(Consent.supporter_id) == any_(_ids("supporter_ids")),
            col(Consent.org_id) == org_id,
        )
        .order_by(col(Consent.id))
    )


def consents_to(
    conn: Connection, scope: Scope, org_id: int, supporter_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """Each supporter's consent decisions to this org only, in the order made, by supporter."""
    if not _member(scope, org_id) or not supporter_ids:
        return {}
    rows = conn.execute(_consents_to(org_id), {"supporter_ids": list(supporter_ids)}).mappings()
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        consent = dict(row)
        found.setdefault(consent.pop("supporter_id"), []).append(consent)
    return found


def org_facts(conn: Connection, scope: Scope, org_id: int) -> dict[str, Any] | None:
    """An org's name, title and mail settings (no personal data)."""
    if not _member(scope, org_id):
        return None
    row = (
        conn.execute(
            select(
                col(Org.name).label("org_name"),
                col(Org.title).label("org_title"),
                col(Org.settings).label("org_settings"),
            ).where(col(Org.id) == org_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def page_mail_facts(
    conn: Connection, scope: Scope, org_id: int, page_id: int
) -> dict[str, Any] | None:
    """One of the org's pages as its mails need it: locale, templates, campaign, org."""
    if not _member(scope, org_id):
        return None
    row = (
        conn.execute(
            select(
                col(ActionPage.locale),
                col(ActionPage.templates),
                col(Campaign.name).label("campaign_name"),
                col(Campaign.title).label("campaign_title"),
                col(Org.name).label("org_name"),
                col(Org.title).label("org_title"),
                col(Org.settings).label("org_settings"),
            )
            .join(Campaign, col(Campaign.id) == col(ActionPage.campaign_id))
            .join(Org, col(Org.id) == col(ActionPage.org_id))
            .where(col(ActionPage.id) == page_id, col(ActionPage.org_id) == org_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
