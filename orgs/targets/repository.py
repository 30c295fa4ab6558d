"""SQL of mail to target: targets and settings (management), the public read, the intake's
messages (written in the signature's transaction, after its action), and what the workers
read and record for one message.

Targets are campaign data: callers resolve the campaign through the subject's scope
(orgs/scoping.py) before anything here is called with its id. Addresses are read only by
the management side and the workers, never by the public read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from orgs.models import (
    DeliveryEvent,
    MailToTarget,
    Target,
    TargetEmail,
    TargetMessage,
)
from orgs.targets.drip import Window

# --- management (the ORM; the caller resolved the campaign through its scope) -----------------


async def settings_of(session: AsyncSession, campaign_id: int) -> MailToTarget | None:
    return await session.get(MailToTarget, campaign_id)


async def targets_of(session: AsyncSession, campaign_id: int) -> list[Target]:
    result = await session.execute(
        select(Target)
        .where(col(Target.campaign_id) == campaign_id)
        .order_by(col(Target.external_id))
    )
    return list(result.scalars())


async def target_by_external_id(
    session: AsyncSession, campaign_id: int, external_id: str
) -> Target | None:
    result = await session.execute(
        select(Target).where(
            col(Target.campaign_id) == campaign_id, col(Target.external_id) == external_id
        )
    )
    return result.scalar_one_or_none()


async def emails_of(
    session: AsyncSession, target_ids: Sequence[int]
) -> dict[int, list[TargetEmail]]:
    if not target_ids:
        return {}
    result = await session.execute(
        select(TargetEmail)
        .where(col(TargetEmail.target_id).in_(sorted(target_ids)))
        .order_by(col(TargetEmail.id))
    )
    out: dict[int, list[TargetEmail]] = {}
    for email in result.scalars():
        out.setdefault(email.target_id, []).append(email)
    return out


async def targets_with_messages(session: AsyncSession, target_ids: Sequence[int]) -> set[int]:
    """Which of ``target_ids`` some message refers to (those are disabled, never deleted)."""
    if not target_ids:
        return set()
    result = await session.execute(
        select(col(TargetMessage.target_id))
        .where(col(TargetMessage.target_id).in_(sorted(target_ids)))
        .distinct()
    )
    return {int(row[0]) for row in result}


_STATUS_COUNTS = text(
    """
    SELECT m.target_id,
           CASE WHEN m.kind = 'click' THEN 'click'
                WHEN d.status = 'held' AND m.hold = 'moderation' THEN 'moderation'
                ELSE d.status END AS status,
           count(*) AS n
    FROM target_message m LEFT JOIN delivery d ON d.id = m.delivery_id
    WHERE m.campaign_id = :campaign_id AND m.kind <> 'test'
    GROUP BY m.target_id, 2
    """
)


@dataclass
class MessageCounts:
    """Messages of one target by state (tests excluded)."""

    sent: int = 0
    queued: int = 0  # still to go: waiting for a confirmation, due later, being sent
    held: int = 0  # awaiting moderation, or the campaign is paused
    held_for_moderation: int = 0  # of ``held``: awaiting a coordinator's decision
    failed: int = 0
    cancelled: int = 0
    clicks: int = 0  # sent by the signer's own mail app (mailto)

    def add(self, other: MessageCounts) -> None:
        for name in COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


COUNT_NAMES = ("sent", "queued", "held", "held_for_moderation", "failed", "cancelled", "clicks")


_BUCKET = {
    "delivered": "sent",
    "waiting": "queued",
    "pending": "queued",
    "queued": "queued",
    "held": "held",
    "moderation": "held",
    "failed": "failed",
    "cancelled": "cancelled",
    "click": "clicks",
}


async def message_counts(conn: AsyncConnection, campaign_id: int) -> dict[int, MessageCounts]:
    """Per target id: its messages by state (aggregates, no personal data)."""
    out: dict[int, MessageCounts] = {}
    for row in await conn.execute(_STATUS_COUNTS, {"campaign_id": campaign_id}):
        status = str(row.status)
        bucket = _BUCKET.get(status)
        if bucket is None:
            continue
        counts = out.setdefault(int(row.target_id), MessageCounts())
        setattr(counts, bucket, getattr(counts, bucket) + int(row.n))
        if status == "moderation":
            counts.held_for_moderation += int(row.n)
    return out


_HAS_TARGETS = text("SELECT EXISTS (SELECT 1 FROM target WHERE campaign_id = :campaign_id)")


async def has_targets(conn: AsyncConnection, campaign_id: int) -> bool:
    """Whether the campaign has any target (active or not): a mail-to-target campaign."""
    result = await conn.execute(_HAS_TARGETS, {"campaign_id": campaign_id})
    return bool(result.scalar_one())


_HOLD_FOR_PAUSE = text(
    """
    WITH held AS (
      UPDATE delivery d SET status = 'held', updated_at = now()
      FROM target_message m
      WHERE m.delivery_id = d.id AND m.campaign_id = :campaign_id AND m.kind = 'send'
        AND d.status = 'pending'
      RETURNING d.id
    ),
    marked AS (
      UPDATE target_message SET hold = 'paused'
      WHERE delivery_id IN (SELECT id FROM held)
    )
    UPDATE target SET last_slot_at = NULL WHERE campaign_id = :campaign_id
    """
)


async def hold_for_pause(conn: AsyncConnection, campaign_id: int) -> None:
    """Every message of the campaign still to be sent (pending) is held: none becomes due."""
    await conn.execute(_HOLD_FOR_PAUSE, {"campaign_id": campaign_id})


_HELD = text(
    """
    SELECT m.target_id, m.delivery_id, s.confirmation = 'confirming' AS unconfirmed
    FROM target_message m
    JOIN delivery d ON d.id = m.delivery_id
    JOIN supporter s ON s.id = m.supporter_id
    WHERE m.campaign_id = :campaign_id AND m.kind = 'send' AND m.hold = :hold
      AND d.status = 'held' AND (CAST(:ids AS bigint[]) IS NULL OR m.id = ANY(:ids))
    ORDER BY m.target_id, m.id
    """
)


@dataclass(frozen=True)
class HeldMessage:
    target_id: int
    delivery_id: int
    unconfirmed: bool  # its signer has not confirmed (double opt-in): it waits once released


async def held_messages(
    conn: AsyncConnection, campaign_id: int, hold: str, ids: list[int] | None = None
) -> list[HeldMessage]:
    """The campaign's messages held for ``hold`` (all, or those of ``ids``), in order."""
    rows = await conn.execute(_HELD, {"campaign_id": campaign_id, "hold": hold, "ids": ids})
    return [HeldMessage(int(r.target_id), int(r.delivery_id), bool(r.unconfirmed)) for r in rows]


_LOCK_CURSORS = text(
    """
    SELECT id, last_slot_at FROM target
    WHERE id = ANY(:ids) ORDER BY id FOR UPDATE
    """
)


async def lock_cursors(conn: AsyncConnection, target_ids: Sequence[int]) -> dict[int, Any]:
    """The drip cursors of ``target_ids``, locked until commit (in id order: no deadlock)."""
    rows = await conn.execute(_LOCK_CURSORS, {"ids": sorted(set(target_ids))})
    return {int(r.id): r.last_slot_at for r in rows}


_RELEASE = text(
    """
    WITH slotted AS (
      SELECT * FROM unnest(CAST(:delivery_ids AS bigint[]), CAST(:slots AS timestamptz[]),
                           CAST(:statuses AS text[]), CAST(:errors AS text[]))
             AS s(delivery_id, slot, status, error)
    ),
    released AS (
      UPDATE delivery d SET status = s.status, next_attempt_at = COALESCE(s.slot, now()),
                            last_error = s.error, updated_at = now()
      FROM slotted s WHERE d.id = s.delivery_id AND d.status = 'held'
      RETURNING d.id
    ),
    unmarked AS (
      UPDATE target_message SET hold = CAST(:hold AS text)
      WHERE delivery_id IN (SELECT id FROM released)
    )
    UPDATE target t SET last_slot_at = c.slot
    FROM unnest(CAST(:cursor_ids AS bigint[]), CAST(:cursor_slots AS timestamptz[]))
         AS c(id, slot)
    WHERE t.id = c.id
    """
)


async def release_held(
    conn: AsyncConnection,
    schedule: Sequence[tuple[int, datetime | None, str, str | None]],
    cursors: dict[int, datetime | None],
    hold: str | None = None,
) -> None:
    """Held messages get their status and slot: ``schedule`` is (delivery id, slot, status,
    error); ``cursors`` the targets' new drip cursors; ``hold`` what they stay held for."""
    await conn.execute(
        _RELEASE,
        {
            "delivery_ids": [s[0] for s in schedule],
            "slots": [s[1] for s in schedule],
            "statuses": [s[2] for s in schedule],
            "errors": [s[3] for s in schedule],
            "hold": hold,
            "cursor_ids": list(cursors),
            "cursor_slots": list(cursors.values()),
        },
    )


_CANCEL_TARGET = text(
    """
    WITH cancelled AS (
      UPDATE delivery d SET status = 'cancelled', last_error = :reason, updated_at = now()
      FROM target_message m
      WHERE m.delivery_id = d.id AND m.target_id = ANY(:target_ids)
        AND d.status IN ('waiting', 'held', 'pending', 'queued')
      RETURNING d.id
    ),
    reset AS (
      UPDATE target SET last_slot_at = NULL WHERE id = ANY(:target_ids)
    )
    SELECT count(*) FROM cancelled
    """
)


async def cancel_for_targets(conn: AsyncConnection, target_ids: Sequence[int], reason: str) -> int:
    """Cancel every message of these targets not sent yet; the number cancelled."""
    if not target_ids:
        return 0
    result = await conn.execute(_CANCEL_TARGET, {"target_ids": list(target_ids), "reason": reason})
    return int(result.scalar_one())


_REJECT = text(
    """
    WITH rejected AS (
      UPDATE delivery d SET status = 'cancelled', last_error = 'rejected by moderation',
                            updated_at = now()
      FROM target_message m
      WHERE m.delivery_id = d.id AND m.campaign_id = :campaign_id AND m.id = ANY(:ids)
        AND m.hold = 'moderation' AND d.status = 'held'
      RETURNING m.id
    )
    UPDATE target_message SET hold = NULL, payload = NULL
    WHERE id IN (SELECT id FROM rejected)
    """
)


async def reject_held(conn: AsyncConnection, campaign_id: int, ids: list[int]) -> int:
    """Rejected messages are cancelled and their texts forgotten; the number rejected."""
    result = await conn.execute(_REJECT, {"campaign_id": campaign_id, "ids": ids})
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class MessageRow:
    """One message as staff see it (its text decrypted by the service)."""

    id: int
    target_external_id: str
    target_name: str
    status: str
    hold: str | None
    payload: bytes | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


_MESSAGES = text(
    """
    SELECT m.id, t.external_id, t.name, d.status, m.hold, m.payload, m.created_at, m.sent_at,
           d.last_error
    FROM target_message m
    JOIN target t ON t.id = m.target_id
    JOIN delivery d ON d.id = m.delivery_id
    WHERE m.campaign_id = :campaign_id AND m.kind = 'send'
      AND (CAST(:status AS text) IS NULL OR d.status = :status)
      AND (CAST(:target AS text) IS NULL OR t.external_id = :target)
      AND (CAST(:after AS bigint) IS NULL OR m.id < :after)
    ORDER BY m.id DESC
    LIMIT :first
    """
)


async def messages(
    conn: AsyncConnection,
    campaign_id: int,
    *,
    status: str | None,
    target: str | None,
    after: int | None,
    first: int,
) -> list[MessageRow]:
    rows = await conn.execute(
        _MESSAGES,
        {
            "campaign_id": campaign_id,
            "status": status,
            "target": target,
            "after": after,
            "first": first,
        },
    )
    return [
        MessageRow(
            id=int(r.id),
            target_external_id=r.external_id,
            target_name=r.name,
            status=r.status,
            hold=r.hold,
            payload=bytes(r.payload) if r.payload is not None else None,
            created_at=r.created_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
        )
        for r in rows
    ]


# --- the public read (no addresses, ever) ----------------------------------------------------


@dataclass(frozen=True)
class PublicTarget:
    id: int
    external_id: str
    name: str
    area: str | None
    locale: str | None
    fields: dict[str, Any]
    postcodes: tuple[str, ...]


_PUBLIC_TARGETS = text(
    """
    SELECT t.id, t.external_id, t.name, t.area, t.locale, t.fields, t.postcodes
    FROM target t
    WHERE t.campaign_id = :campaign_id AND t.active
      AND EXISTS (SELECT 1 FROM target_email e WHERE e.target_id = t.id AND e.status = 'active')
      AND (CAST(:area AS text) IS NULL OR lower(t.area) = lower(:area))
      AND (CAST(:postcode AS text) IS NULL
           OR EXISTS (SELECT 1 FROM unnest(t.postcodes) AS p(prefix)
                      WHERE starts_with(:postcode, p.prefix)))
    ORDER BY t.name, t.external_id
    LIMIT 2000
    """
)


async def public_targets(
    conn: AsyncConnection, campaign_id: int, area: str | None, postcode: str | None
) -> list[PublicTarget]:
    """The targets signers may write to: active, with an address that gets mail; by area
    (case-insensitive) and/or a postcode some of their prefixes start."""
    rows = await conn.execute(
        _PUBLIC_TARGETS, {"campaign_id": campaign_id, "area": area, "postcode": postcode}
    )
    return [
        PublicTarget(
            id=int(r.id),
            external_id=r.external_id,
            name=r.name,
            area=r.area,
            locale=r.locale,
            fields=r.fields or {},
            postcodes=tuple(r.postcodes or ()),
        )
        for r in rows
    ]


_PUBLIC_COUNTS = text(
    """
    SELECT t.external_id, t.name, t.area,
           count(*) FILTER (WHERE m.kind = 'send' AND d.status = 'delivered') AS sent,
           count(*) FILTER (WHERE m.kind = 'send'
                              AND d.status IN ('waiting', 'held', 'pending', 'queued')) AS queued,
           count(*) FILTER (WHERE m.kind = 'send' AND d.status = 'failed') AS failed,
           count(*) FILTER (WHERE m.kind = 'click') AS clicks
    FROM target t
    JOIN target_message m ON m.target_id = t.id AND m.kind <> 'test'
    LEFT JOIN delivery d ON d.id = m.delivery_id
    WHERE t.campaign_id = :campaign_id
    GROUP BY t.id
    ORDER BY t.external_id
    """
)


@dataclass(frozen=True)
class TargetTally:
    external_id: str
    name: str
    area: str | None
    sent: int
    queued: int
    failed: int
    clicks: int


async def public_counts(conn: AsyncConnection, campaign_id: int) -> list[TargetTally]:
    """Messages sent, still to go, failed, and mailto clicks per target (tests excluded)."""
    rows = await conn.execute(_PUBLIC_COUNTS, {"campaign_id": campaign_id})
    return [
        TargetTally(r.external_id, r.name, r.area, r.sent, r.queued, r.failed, r.clicks)
        for r in rows
    ]


@dataclass(frozen=True)
class PublicSettings:
    """What a widget needs to know of a campaign's settings (the defaults without a row)."""

    mode: str = "server"
    editable: bool = True
    ask_reply_to: bool = False
    selection: str = "choose"
    templates: dict[str, Any] | None = None


_PUBLIC_SETTINGS = text(
    """
    SELECT mode, editable, ask_reply_to, selection, templates FROM mail_to_target
    WHERE campaign_id = :campaign_id
    """
)


async def public_settings(conn: AsyncConnection, campaign_id: int) -> PublicSettings:
    row = (await conn.execute(_PUBLIC_SETTINGS, {"campaign_id": campaign_id})).first()
    if row is None:
        return PublicSettings()
    return PublicSettings(
        row.mode, bool(row.editable), bool(row.ask_reply_to), row.selection, row.templates or {}
    )


# --- the intake (the signature's transaction) -------------------------------------------------


@dataclass(frozen=True)
class IntakeTarget:
    id: int
    external_id: str
    name: str
    mailable: bool  # active, with an active address
    emails: tuple[str, ...]  # active addresses (for a mailto link only)
    postcodes: tuple[str, ...] = ()  # the prefixes it answers for (normalised)


@dataclass(frozen=True)
class IntakeSettings:
    """A campaign's settings as the intake needs them (defaults when it has none)."""

    locale: str  # the page's
    found: bool
    mode: str
    editable: bool
    ask_reply_to: bool
    selection: str
    paused: bool
    moderation: str
    blocked_words: tuple[str, ...]
    templates: dict[str, Any]
    timezone: str
    starts_on: Any
    ends_on: Any
    daily_start: int
    daily_end: int
    hourly_cap: int


_INTAKE_SETTINGS = text(
    """
    SELECT p.locale, s.campaign_id IS NOT NULL AS found, s.mode, s.editable, s.ask_reply_to,
           s.selection, s.paused,
           s.moderation, s.blocked_words, s.templates, s.timezone, s.starts_on, s.ends_on,
           s.daily_start, s.daily_end, s.hourly_cap
    FROM action_page p LEFT JOIN mail_to_target s ON s.campaign_id = p.campaign_id
    WHERE p.id = :page_id
    """
)
_INTAKE_TARGETS = text(
    """
    SELECT t.id, t.external_id, t.name, t.active, t.postcodes,
           ARRAY(SELECT e.email FROM target_email e
                 WHERE e.target_id = t.id AND e.status = 'active' ORDER BY e.id) AS emails
    FROM target t
    WHERE t.campaign_id = :campaign_id AND t.external_id = ANY(:external_ids)
    """
)


async def intake_settings(conn: AsyncConnection, page_id: int) -> IntakeSettings:
    row = (await conn.execute(_INTAKE_SETTINGS, {"page_id": page_id})).one()
    found = bool(row.found)
    return IntakeSettings(
        locale=row.locale,
        found=found,
        mode=row.mode if found else "server",
        editable=bool(row.editable) if found else True,
        ask_reply_to=bool(row.ask_reply_to) if found else False,
        selection=row.selection if found else "choose",
        paused=bool(row.paused) if found else False,
        moderation=row.moderation if found else "none",
        blocked_words=tuple(row.blocked_words or ()) if found else (),
        templates=(row.templates or {}) if found else {},
        timezone=row.timezone if found else "UTC",
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        daily_start=int(row.daily_start) if found else 0,
        daily_end=int(row.daily_end) if found else 1440,
        hourly_cap=int(row.hourly_cap) if found else 60,
    )


async def intake_targets(
    conn: AsyncConnection, campaign_id: int, external_ids: Sequence[str]
) -> dict[str, IntakeTarget]:
    """The campaign's targets named by ``external_ids`` (others are simply absent)."""
    rows = await conn.execute(
        _INTAKE_TARGETS, {"campaign_id": campaign_id, "external_ids": list(external_ids)}
    )
    out = {}
    for r in rows:
        emails = tuple(r.emails or ())
        out[r.external_id] = IntakeTarget(
            int(r.id),
            r.external_id,
            r.name,
            bool(r.active) and bool(emails),
            emails,
            tuple(r.postcodes or ()),
        )
    return out


_OWN_CONTACT = text(
    """
    SELECT payload FROM contact
    WHERE supporter_id = :supporter_id AND org_id = :org_id AND disabled_at IS NULL
    """
)


async def own_contact_payload(
    conn: AsyncConnection, supporter_id: int, org_id: int
) -> bytes | None:
    """The encrypted copy ``org_id`` holds of the supporter (the page's org: it collected
    it), for the intake's own checks on a follow-up; never answered to anyone."""
    row = (
        await conn.execute(_OWN_CONTACT, {"supporter_id": supporter_id, "org_id": org_id})
    ).first()
    return bytes(row.payload) if row is not None else None


_ALREADY = text(
    """
    SELECT target_id FROM target_message
    WHERE supporter_id = :supporter_id AND kind = :kind AND target_id = ANY(:target_ids)
    """
)


async def already_written(
    conn: AsyncConnection, supporter_id: int, kind: str, target_ids: Sequence[int]
) -> set[int]:
    """Targets this supporter already has a message (or click) of ``kind`` to: one is enough.

    The supporter's row is locked by the intake (upsert or ref lookup), so concurrent
    submissions of one person are serialised and this check is exact; a unique index backs it.
    """
    rows = await conn.execute(
        _ALREADY, {"supporter_id": supporter_id, "kind": kind, "target_ids": list(target_ids)}
    )
    return {int(r[0]) for r in rows}


@dataclass(frozen=True)
class NewMessage:
    target_id: int
    status: str  # waiting, held, pending, failed
    slot: datetime | None
    hold: str | None
    error: str | None
    token: str


_WRITE_MESSAGES = text(
    """
    WITH wanted AS (
      SELECT * FROM unnest(CAST(:target_ids AS bigint[]), CAST(:statuses AS text[]),
                           CAST(:slots AS timestamptz[]), CAST(:holds AS text[]),
                           CAST(:errors AS text[]), CAST(:tokens AS text[]))
             AS w(target_id, status, slot, hold, error, token)
    ),
    outbox AS (
      INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status,
                            attempts, next_attempt_at, last_error, idempotency_key)
      SELECT :org_id, NULL, :event, :action_id, :supporter_id, w.status, 0,
             COALESCE(w.slot, now()), w.error, :key_prefix || CAST(w.target_id AS text)
      FROM wanted w
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING id, idempotency_key
    ),
    messages AS (
      INSERT INTO target_message (org_id, campaign_id, target_id, supporter_id, action_id,
                                  delivery_id, kind, hold, payload, message_token, testing,
                                  created_at)
      SELECT :org_id, :campaign_id, w.target_id, :supporter_id, :action_id, o.id, :kind,
             w.hold, :payload, w.token, :testing, :created_at
      FROM wanted w JOIN outbox o ON o.idempotency_key = :key_prefix || CAST(w.target_id AS text)
      RETURNING target_id
    )
    UPDATE target t SET last_slot_at = w.slot
    FROM wanted w
    WHERE t.id = w.target_id AND w.slot IS NOT NULL AND w.status IN ('pending', 'waiting')
    """
)


async def write_messages(
    conn: AsyncConnection,
    *,
    org_id: int,
    campaign_id: int,
    supporter_id: int,
    action_id: int,
    kind: str,
    testing: bool,
    payload: bytes,
    messages: Sequence[NewMessage],
    created_at: datetime,
) -> None:
    """One outbox row (event ``target_mail``) and one message row per target, in one statement;
    the targets' drip cursors move to the slots taken."""
    if not messages:
        return
    await conn.execute(
        _WRITE_MESSAGES,
        {
            "org_id": org_id,
            "campaign_id": campaign_id,
            "supporter_id": supporter_id,
            "action_id": action_id,
            "event": DeliveryEvent.TARGET_MAIL.value,
            "key_prefix": f"{DeliveryEvent.TARGET_MAIL.value}:a{action_id}:{kind}:t",
            "kind": kind,
            "testing": testing,
            "payload": payload,
            "created_at": created_at,
            "target_ids": [m.target_id for m in messages],
            "statuses": [m.status for m in messages],
            "slots": [m.slot for m in messages],
            "holds": [m.hold for m in messages],
            "errors": [m.error for m in messages],
            "tokens": [m.token for m in messages],
        },
    )


_WRITE_CLICKS = text(
    """
    INSERT INTO target_message (org_id, campaign_id, target_id, supporter_id, action_id, kind,
                                testing)
    SELECT :org_id, :campaign_id, t, :supporter_id, :action_id, 'click', false
    FROM unnest(CAST(:target_ids AS bigint[])) AS t
    ON CONFLICT (target_id, supporter_id, kind) WHERE kind <> 'test' DO NOTHING
    """
)


async def write_clicks(
    conn: AsyncConnection,
    *,
    org_id: int,
    campaign_id: int,
    supporter_id: int,
    action_id: int,
    target_ids: Sequence[int],
) -> None:
    """Mailto clicks: counted once per supporter and target, never sent by the hub."""
    if target_ids:
        await conn.execute(
            _WRITE_CLICKS,
            {
                "org_id": org_id,
                "campaign_id": campaign_id,
                "supporter_id": supporter_id,
                "action_id": action_id,
                "target_ids": list(target_ids),
            },
        )


# --- the workers (sync, in the attempt's transaction) -----------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send, with its target and campaign settings (no signer data)."""

    id: int
    kind: str
    testing: bool
    hold: str | None
    payload: bytes | None
    token: str | None
    target_id: int
    target_name: str
    target_external_id: str
    target_area: str | None
    target_fields: dict[str, Any]
    target_locale: str | None
    target_active: bool
    emails: tuple[tuple[int, str], ...]  # (id, address) of the active addresses
    campaign_name: str
    campaign_title: str
    page_locale: str
    org_title: str
    paused: bool
    moderation: str
    window: dict[str, Any]  # timezone, starts_on, ends_on, daily_start, daily_end, hourly_cap


_OUTGOING = text(
    """
    SELECT m.id, m.kind, m.testing, m.hold, m.payload, m.message_token, m.target_id,
           t.name AS target_name, t.external_id AS target_external_id, t.area AS target_area,
           t.fields AS target_fields, t.locale AS target_locale, t.active AS target_active,
           c.name AS campaign_name, c.title AS campaign_title, p.locale AS page_locale,
           o.title AS org_title,
           COALESCE(s.paused, false) AS paused, COALESCE(s.moderation, 'none') AS moderation,
           COALESCE(s.timezone, 'UTC') AS timezone, s.starts_on, s.ends_on,
           COALESCE(s.daily_start, 0) AS daily_start, COALESCE(s.daily_end, 1440) AS daily_end,
           COALESCE(s.hourly_cap, 60) AS hourly_cap,
           ARRAY(SELECT e.id FROM target_email e
                 WHERE e.target_id = t.id AND e.status = 'active' ORDER BY e.id) AS email_ids,
           ARRAY(SELECT e.email FROM target_email e
                 WHERE e.target_id = t.id AND e.status = 'active' ORDER BY e.id) AS emails
    FROM target_message m
    JOIN target t ON t.id = m.target_id
    JOIN campaign c ON c.id = m.campaign_id
    JOIN org o ON o.id = m.org_id
    LEFT JOIN action a ON a.id = m.action_id
    LEFT JOIN action_page p ON p.id = a.action_page_id
    LEFT JOIN mail_to_target s ON s.campaign_id = m.campaign_id
    WHERE m.delivery_id = :delivery_id AND m.org_id = :org_id
    """
)


def outgoing(conn: Connection, delivery_id: int, org_id: int) -> OutgoingMessage | None:
    """The message of a ``target_mail`` delivery of ``org_id`` (None: gone)."""
    row = conn.execute(_OUTGOING, {"delivery_id": delivery_id, "org_id": org_id}).first()
    if row is None:
        return None
    return OutgoingMessage(
        id=int(row.id),
        kind=row.kind,
        testing=bool(row.testing),
        hold=row.hold,
        payload=bytes(row.payload) if row.payload is not None else None,
        token=row.message_token,
        target_id=int(row.target_id),
        target_name=row.target_name,
        target_external_id=row.target_external_id,
        target_area=row.target_area,
        target_fields=row.target_fields or {},
        target_locale=row.target_locale,
        target_active=bool(row.target_active),
        emails=tuple(zip(row.email_ids or (), row.emails or (), strict=True)),
        campaign_name=row.campaign_name,
        campaign_title=row.campaign_title,
        page_locale=row.page_locale or "en",
        org_title=row.org_title,
        paused=bool(row.paused),
        moderation=row.moderation,
        window={
            "timezone": row.timezone,
            "starts_on": row.starts_on,
            "ends_on": row.ends_on,
            "daily_start": int(row.daily_start),
            "daily_end": int(row.daily_end),
            "hourly_cap": int(row.hourly_cap),
        },
    )


_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:namespace, CAST(:target_id AS integer))")
_LOCK_NAMESPACE = 0x6D7474  # "mtt": sending to one target, one worker at a time


def try_lock_target(conn: Connection, target_id: int) -> bool:
    """Whether this transaction now sends to ``target_id`` alone (an advisory lock released
    at commit; the intake's row lock on the target is a different lock, never waited on)."""
    return bool(
        conn.execute(
            _TRY_LOCK, {"namespace": _LOCK_NAMESPACE, "target_id": target_id % (2**31)}
        ).scalar_one()
    )


_RECENT = text(
    """
    SELECT count(*) FILTER (WHERE sent_at > :since) AS n,
           min(sent_at) FILTER (WHERE sent_at > :since) AS oldest,
           max(sent_at) AS latest
    FROM target_message
    WHERE target_id = :target_id AND kind = 'send' AND sent_at <= :now
      AND sent_at > :since - interval '1 day'
    """
)


@dataclass(frozen=True)
class Recent:
    """What a target got lately: messages in the last hour, the oldest of them, the latest."""

    count: int
    oldest: datetime | None
    latest: datetime | None


def sent_since(conn: Connection, target_id: int, since: datetime, now: datetime) -> Recent:
    """Messages sent to the target in ``(since, now]`` and the latest one sent."""
    row = conn.execute(_RECENT, {"target_id": target_id, "since": since, "now": now}).one()
    return Recent(int(row.n), row.oldest, row.latest)


_CURSOR = text("SELECT last_slot_at FROM target WHERE id = :id FOR UPDATE")
_MOVE_CURSOR = text("UPDATE target SET last_slot_at = :slot WHERE id = :id")


def take_slot(
    conn: Connection, target_id: int, window: Window, now: datetime, not_before: datetime
) -> datetime | None:
    """The target's next free drip slot not before ``not_before``; its cursor moves there.
    None when the window ends first. The target row is locked only until commit."""
    cursor = conn.execute(_CURSOR, {"id": target_id}).scalar_one_or_none()
    slot = window.slot_after(cursor, max(now, not_before))
    if slot is not None:
        conn.execute(_MOVE_CURSOR, {"id": target_id, "slot": slot})
    return slot


def mark_sent(conn: Connection, message_id: int, at: datetime) -> None:
    conn.execute(
        text("UPDATE target_message SET sent_at = :at WHERE id = :id"),
        {"id": message_id, "at": at},
    )


_HOLD = text(
    """
    WITH marked AS (
      UPDATE target_message SET hold = :reason WHERE delivery_id = :delivery_id
    )
    UPDATE delivery SET status = 'held', updated_at = now() WHERE id = :delivery_id
    """
)


def hold_delivery(conn: Connection, delivery_id: int, reason: str) -> None:
    """Held (the campaign is paused): the relay never claims it until it is released."""
    conn.execute(_HOLD, {"delivery_id": delivery_id, "reason": reason})


_HARD_BOUNCE = text(
    """
    UPDATE target_email SET status = 'bounced', bounced_at = now(), last_error = :error,
                            updated_at = now()
    WHERE id = :id AND status = 'active'
    """
)
_SOFT_BOUNCE = text(
    """
    UPDATE target_email
    SET soft_bounces = soft_bounces + 1, last_error = :error, updated_at = now(),
        status = CASE WHEN soft_bounces + 1 >= :limit THEN 'bounced' ELSE status END,
        bounced_at = CASE WHEN soft_bounces + 1 >= :limit THEN now() ELSE bounced_at END
    WHERE id = :id AND status = 'active'
    """
)


def record_bounce(
    conn: Connection, email_id: int, *, hard: bool, error: str, soft_limit: int
) -> None:
    """A mail server refused the address: bounced at once (5xx), or after ``soft_limit``
    temporary refusals (4xx) in a row. Only active addresses change."""
    statement = _HARD_BOUNCE if hard else _SOFT_BOUNCE
    conn.execute(statement, {"id": email_id, "error": error[:500], "limit": soft_limit})


def clear_soft_bounces(conn: Connection, email_ids: Sequence[int]) -> None:
    if email_ids:
        conn.execute(
            text(
                "UPDATE target_email SET soft_bounces = 0 WHERE id = ANY(:ids) AND soft_bounces > 0"
            ),
            {"ids": list(email_ids)},
        )


_PURGE_TESTS = text(
    """
    WITH old AS (
      DELETE FROM target_message
      WHERE kind = 'test' AND created_at < :before
      RETURNING delivery_id
    )
    DELETE FROM delivery WHERE id IN (SELECT delivery_id FROM old)
      AND status IN ('delivered', 'failed', 'cancelled')
    """
)


def purge_tests(conn: Connection, before: datetime) -> int:
    """Test messages (and their finished outbox rows) older than ``before`` are deleted."""
    result = conn.execute(_PURGE_TESTS, {"before": before})
    return int(getattr(result, "rowcount", 0) or 0)


def dumps(value: Any) -> str:
    """JSON as stored (for size limits)."""
    return json.dumps(value, separators=(",", ":"))
