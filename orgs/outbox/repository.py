"""The outbox (DESIGN §2): delivery rows written in the same transaction as their event.

Request code never talks to the broker. It calls :func:`plan_deliveries` / :func:`plan_mail`
inside its transaction; the relay (workers/relay.py) later claims committed rows and enqueues
their ids, and the delivery pipeline (workers/pipeline.py) locks the rows of an attempt
(one, or a connector's batch) and records the outcomes with the functions below. Planning
is async (the request's connection); the relay and the pipeline run in threads on a sync
connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.models import DeliveryEvent, DeliveryStatus

STALE_QUEUED_SECONDS = 300  # a queued row not picked up by then is enqueued again

MAIL_EVENTS = frozenset(
    {
        DeliveryEvent.CONFIRMATION_MAIL,
        DeliveryEvent.THANK_YOU_MAIL,
        DeliveryEvent.ERASURE_LINK_MAIL,
    }
)
#: Mails to the hub's own users (staff), not to supporters.
STAFF_MAIL_EVENTS = frozenset(
    {
        DeliveryEvent.PASSWORD_RESET_MAIL,
        DeliveryEvent.INVITATION_MAIL,
        DeliveryEvent.TEST_MAIL,
    }
)

# --- planning (in the event's own transaction) -----------------------------------------------

_PLAN = text(
    """
    INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status,
                          attempts, idempotency_key)
    SELECT c.org_id, c.id, CAST(:event AS text), :action_id, :supporter_id, :status, 0,
           CAST(:event AS text) || ':' || CAST(:subject AS text) || ':' || c.id
    FROM connector c
    WHERE c.org_id = ANY(:org_ids) AND c.enabled AND c.kind <> 'smtp'
    ON CONFLICT (idempotency_key) DO NOTHING
    """
)


async def plan_deliveries(
    conn: AsyncConnection,
    *,
    event: DeliveryEvent,
    org_ids: Iterable[int],
    supporter_id: int | None = None,
    action_id: int | None = None,
    waiting: bool = False,
) -> int:
    """Write one pending delivery per enabled connector of each org entitled to ``event``.

    ``org_ids`` must already follow the visibility rule (orgs/scoping.py): only orgs holding
    a Contact for the supporter, and for an action only the orgs it gave a copy.
    ``waiting`` holds the rows until a double opt-in is confirmed. The idempotency key
    (``event:subject:connector``) makes replays harmless. Returns the number of rows
    written. One statement, so it is cheap on the public write path.
    """
    ids = sorted(set(org_ids))
    if not ids:
        return 0
    subject = f"a{action_id}" if action_id is not None else f"s{supporter_id}"
    result = await conn.execute(
        _PLAN,
        {
            "event": event.value,
            "action_id": action_id,
            "supporter_id": supporter_id,
            "status": (DeliveryStatus.WAITING if waiting else DeliveryStatus.PENDING).value,
            "subject": subject,
            "org_ids": ids,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


_PLAN_MAIL = text(
    """
    INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status,
                          attempts, idempotency_key)
    VALUES (:org_id, NULL, CAST(:event AS text), :action_id, :supporter_id, 'pending', 0,
            CAST(:event AS text) || ':' || CAST(:subject AS text) || '\\:mail')
    ON CONFLICT (idempotency_key) DO NOTHING
    """
)


async def plan_mail(
    conn: AsyncConnection,
    *,
    event: DeliveryEvent,
    org_id: int,
    supporter_id: int,
    action_id: int | None = None,
    subject: str | None = None,
) -> int:
    """Write one pending mail delivery (thank-you, double opt-in or erasure link).

    ``connector_id`` stays NULL: the mail actor picks the org's enabled SMTP connector at send
    time, or the instance's SMTP settings. Idempotent like :func:`plan_deliveries`; a
    ``subject`` overrides the default idempotency subject (the action or supporter).
    """
    if event not in MAIL_EVENTS:
        raise ValueError(f"{event} is not a mail event")
    key = subject or (f"a{action_id}" if action_id is not None else f"s{supporter_id}")
    result = await conn.execute(
        _PLAN_MAIL,
        {
            "org_id": org_id,
            "event": event.value,
            "action_id": action_id,
            "supporter_id": supporter_id,
            "subject": key,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


_PLAN_STAFF_MAIL = text(
    """
    INSERT INTO delivery (org_id, connector_id, event, user_id, details, status, attempts,
                          idempotency_key)
    VALUES (:org_id, NULL, CAST(:event AS text), :user_id, CAST(:details AS jsonb), 'pending', 0,
            CAST(:event AS text) || ':' || CAST(:subject AS text) || '\\:mail')
    ON CONFLICT (idempotency_key) DO NOTHING
    """
)


async def plan_staff_mail(
    conn: AsyncConnection,
    *,
    event: DeliveryEvent,
    org_id: int,
    user_id: int,
    subject: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Write one pending mail to a staff member (a link is made when it is sent: the outbox
    never holds a usable secret). ``subject`` keys its idempotency (e.g. one per hour)."""
    if event not in STAFF_MAIL_EVENTS:
        raise ValueError(f"{event} is not a staff mail event")
    result = await conn.execute(
        _PLAN_STAFF_MAIL,
        {
            "org_id": org_id,
            "event": event.value,
            "user_id": user_id,
            "details": json.dumps(details or {}),
            "subject": subject,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


_CANCEL = text(
    """
    WITH cancelled AS (
      UPDATE delivery SET status = 'cancelled', updated_at = now()
      WHERE supporter_id = :supporter_id AND status IN ('waiting', 'held', 'pending', 'queued')
        AND (CAST(:org_id AS bigint) IS NULL OR org_id = :org_id)
    )
    -- the person's own words to targets are forgotten with them (mail to target)
    UPDATE target_message SET payload = NULL
    WHERE supporter_id = :supporter_id AND payload IS NOT NULL
      AND (CAST(:org_id AS bigint) IS NULL OR org_id = :org_id)
    """
)


async def cancel_pending(conn: AsyncConnection, supporter_id: int, org_id: int | None) -> None:
    """Cancel what is still to be sent about a supporter (to one org, or to every org), held
    messages to targets included, and forget the texts of the person's messages to targets."""
    await conn.execute(_CANCEL, {"supporter_id": supporter_id, "org_id": org_id})


_RELEASE_WAITING = text(
    "UPDATE delivery SET status = 'pending', next_attempt_at = GREATEST(next_attempt_at, now()), "
    "updated_at = now() WHERE supporter_id = :supporter_id AND status = 'waiting'"
)


async def release_waiting(conn: AsyncConnection, supporter_id: int) -> None:
    """Deliveries held for a double opt-in become due (the supporter confirmed); a message to
    a target keeps its drip slot when that is still to come."""
    await conn.execute(_RELEASE_WAITING, {"supporter_id": supporter_id})


# --- the relay and the pipeline (sync, in worker threads) -------------------------------------

#: The channel PostgreSQL notifies when a delivery becomes due (migration 0013's triggers).
DUE_CHANNEL = "delivery_due"

_CLAIM = text(
    """
    WITH due AS (
      SELECT id FROM delivery
      WHERE (status = 'pending'
             AND next_attempt_at <= COALESCE(CAST(:now AS timestamptz), now()))
         OR (status = 'queued' AND enqueued_at < now() - make_interval(secs => :stale))
      ORDER BY id
      LIMIT :batch
      FOR UPDATE SKIP LOCKED
    )
    UPDATE delivery d SET status = 'queued', enqueued_at = now(), updated_at = now()
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.connector_id, d.event
    """
)


@dataclass(frozen=True)
class Claimed:
    """A row the relay claimed: what it needs to choose the row's broker message."""

    id: int
    connector_id: int | None
    event: str


def claim(
    conn: Connection,
    batch: int,
    stale_seconds: int = STALE_QUEUED_SECONDS,
    now: datetime | None = None,
) -> list[Claimed]:
    """Lock due rows (pending and due, or queued for too long) and mark them queued, in id
    order; one statement.

    ``now`` is the clock rows are due by (the database's own by default; tests of drip
    sending move it). A row whose ``next_attempt_at`` is later is never claimed.
    """
    params = {"stale": stale_seconds, "batch": batch, "now": now}
    rows = conn.execute(_CLAIM, params).all()
    return sorted((Claimed(r.id, r.connector_id, r.event) for r in rows), key=lambda c: c.id)


_NEXT_DUE = text(
    """
    SELECT EXTRACT(EPOCH FROM min(next_attempt_at) - COALESCE(CAST(:now AS timestamptz), now()))
    FROM delivery WHERE status = 'pending'
    """
)


def seconds_to_next_due(conn: Connection, now: datetime | None = None) -> float | None:
    """Seconds until the earliest pending row is due (negative when overdue); None if none.

    Retries and drip slots become due without anything being written, so without a
    notification: the relay sleeps until then at most.
    """
    value = conn.execute(_NEXT_DUE, {"now": now}).scalar()
    return float(value) if value is not None else None


def release(conn: Connection, ids: list[int]) -> None:
    """Claimed rows whose messages could not be sent become pending (due) again."""
    conn.execute(
        text(
            "UPDATE delivery SET status = 'pending', enqueued_at = NULL, updated_at = now() "
            "WHERE id = ANY(:ids) AND status = 'queued'"
        ),
        {"ids": ids},
    )


@dataclass(frozen=True)
class DeliveryJob:
    id: int
    org_id: int
    connector_id: int | None
    event: str
    action_id: int | None
    supporter_id: int | None
    status: str
    attempts: int
    idempotency_key: str
    user_id: int | None = None
    details: dict[str, Any] | None = None


_LOCK = text(
    """
    SELECT id, org_id, connector_id, event, action_id, supporter_id, status, attempts,
           idempotency_key, user_id, details
    FROM delivery WHERE id = ANY(CAST(:ids AS bigint[])) AND status IN ('pending', 'queued')
    ORDER BY id
    FOR UPDATE SKIP LOCKED
    """
)


def lock_jobs(conn: Connection, delivery_ids: Sequence[int]) -> list[DeliveryJob]:
    """The deliveries still to send among ``delivery_ids``, locked for this attempt, in id
    order; one statement. Those done, cancelled or being sent by another worker are left out.
    """
    rows = conn.execute(_LOCK, {"ids": list(delivery_ids)}).mappings()
    return [DeliveryJob(**row) for row in rows]


_EARLIER = text(
    """
    SELECT j.id
    FROM unnest(CAST(:ids AS bigint[]), CAST(:supporters AS bigint[]), CAST(:orgs AS bigint[]),
                CAST(:connectors AS bigint[])) AS j(id, supporter_id, org_id, connector_id)
    WHERE EXISTS (
      SELECT 1 FROM delivery d
      WHERE d.supporter_id = j.supporter_id AND d.org_id = j.org_id
        AND d.connector_id IS NOT DISTINCT FROM j.connector_id
        AND d.id < j.id AND d.status IN ('pending', 'queued', 'waiting')
        AND d.event <> 'target_mail'
        AND d.id <> ALL(CAST(:exclude AS bigint[]))
    )
    """
)


def order_key(job: DeliveryJob) -> tuple[int, int, int | None] | None:
    """What a delivery is ordered within (supporter, org, connector); None when outside it
    (about nobody, or a message to a target)."""
    if job.supporter_id is None or job.event == DeliveryEvent.TARGET_MAIL.value:
        return None
    return (job.supporter_id, job.org_id, job.connector_id)


def earlier_undelivered(
    conn: Connection, jobs: Sequence[DeliveryJob], exclude: Sequence[int] = ()
) -> set[int]:
    """The ids among ``jobs`` that an earlier undelivered event of the same supporter, org
    and connector must precede; one statement. Rows in ``exclude`` (a batch being sent in id
    order, which keeps its own order) do not count.

    A later event for a supporter never overtakes an earlier one. Messages to targets are
    outside the order: each follows its target's drip schedule (days ahead, perhaps), so it
    neither waits for nor holds up anything else.
    """
    ordered = [j for j in jobs if order_key(j) is not None]
    if not ordered:
        return set()
    params = {
        "ids": [j.id for j in ordered],
        "supporters": [j.supporter_id for j in ordered],
        "orgs": [j.org_id for j in ordered],
        "connectors": [j.connector_id for j in ordered],
        "exclude": list(exclude),
    }
    return {int(row[0]) for row in conn.execute(_EARLIER, params)}


def finish(
    conn: Connection,
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    conn.execute(
        text(
            """
            UPDATE delivery
            SET status = CAST(:status AS text), attempts = :attempts, last_error = :error,
                next_attempt_at = COALESCE(CAST(:next_at AS timestamptz), next_attempt_at),
                delivered_at = CASE WHEN CAST(:status AS text) = 'delivered' THEN now() END,
                updated_at = now()
            WHERE id = :id
            """
        ),
        {
            "id": delivery_id,
            "status": status,
            "attempts": attempts,
            "error": error[:2000] if error else None,
            "next_at": next_attempt_at,
        },
    )


def delivered(conn: Connection, delivery_ids: Sequence[int]) -> None:
    """Deliveries sent by the attempt that locked them: one statement for a batch."""
    conn.execute(
        text(
            "UPDATE delivery SET status = 'delivered', attempts = attempts + 1, "
            "last_error = NULL, delivered_at = now(), updated_at = now() "
            "WHERE id = ANY(CAST(:ids AS bigint[]))"
        ),
        {"ids": list(delivery_ids)},
    )


def postpone(conn: Connection, delivery_id: int, seconds: float) -> None:
    """Back to pending, a little later, without counting an attempt (ordering waits)."""
    conn.execute(
        text(
            "UPDATE delivery SET status = 'pending', "
            "next_attempt_at = now() + make_interval(secs => :s), updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": delivery_id, "s": seconds},
    )


def postpone_until(conn: Connection, delivery_id: int, when: datetime) -> None:
    """Back to pending until ``when``, without counting an attempt (a message to a target
    outside its sending window, or over its target's hourly cap)."""
    conn.execute(
        text(
            "UPDATE delivery SET status = 'pending', next_attempt_at = :when, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": delivery_id, "when": when},
    )
