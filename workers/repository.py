"""SQL of the delivery pipeline (sync: Dramatiq actors and the relay run in threads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

STALE_QUEUED_SECONDS = 300  # a queued row not picked up by then is enqueued again

_DUE = text(
    """
    SELECT id FROM delivery
    WHERE (status = 'pending' AND next_attempt_at <= now())
       OR (status = 'queued' AND enqueued_at < now() - make_interval(secs => :stale))
    ORDER BY id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
_MARK_QUEUED = text(
    "UPDATE delivery SET status = 'queued', enqueued_at = now(), updated_at = now() "
    "WHERE id = ANY(:ids)"
)


def claim_due(conn: Connection, batch: int, stale_seconds: int = STALE_QUEUED_SECONDS) -> list[int]:
    """Lock due rows (pending and due, or queued for too long) and mark them queued."""
    ids = [row[0] for row in conn.execute(_DUE, {"stale": stale_seconds, "batch": batch})]
    if ids:
        conn.execute(_MARK_QUEUED, {"ids": ids})
    return ids


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


_LOCK = text(
    """
    SELECT id, org_id, connector_id, event, action_id, supporter_id, status, attempts,
           idempotency_key
    FROM delivery WHERE id = :id AND status IN ('pending', 'queued')
    FOR UPDATE SKIP LOCKED
    """
)


def lock_job(conn: Connection, delivery_id: int) -> DeliveryJob | None:
    """The delivery, locked for this attempt; None when done, cancelled or being sent."""
    row = conn.execute(_LOCK, {"id": delivery_id}).mappings().first()
    return DeliveryJob(**row) if row is not None else None


_EARLIER = text(
    """
    SELECT 1 FROM delivery
    WHERE supporter_id = :supporter_id AND org_id = :org_id
      AND connector_id IS NOT DISTINCT FROM :connector_id
      AND id < :id AND status IN ('pending', 'queued', 'waiting')
    LIMIT 1
    """
)


def has_earlier_undelivered(conn: Connection, job: DeliveryJob) -> bool:
    """A later event for a supporter never overtakes an earlier one (same org, connector)."""
    if job.supporter_id is None:
        return False
    params = {
        "supporter_id": job.supporter_id,
        "org_id": job.org_id,
        "connector_id": job.connector_id,
        "id": job.id,
    }
    return conn.execute(_EARLIER, params).first() is not None


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


_CONNECTOR = text(
    """
    SELECT c.id, c.org_id, o.name AS org_name, c.kind, c.name, c.config, c.secrets_encrypted,
           c.enabled, o.public_key
    FROM connector c JOIN org o ON o.id = c.org_id
    WHERE c.id = :id
    """
)


def connector(conn: Connection, connector_id: int) -> dict[str, Any] | None:
    row = conn.execute(_CONNECTOR, {"id": connector_id}).mappings().first()
    return dict(row) if row is not None else None


_FACTS = text(
    """
    SELECT a.id AS action_id, a.action_type, a.custom_fields, a.created_at, a.testing,
           a.source, a.medium, a.tracking_campaign, a.content, a.location,
           p.id AS page_id, p.name AS page_name, p.locale, p.templates, p.config AS page_config,
           c.name AS campaign_name, c.title AS campaign_title,
           s.id AS supporter_id, s.ref, s.confirmation,
           o.name AS org_name, o.title AS org_title, o.public_key, o.settings AS org_settings
    FROM supporter s
    JOIN org o ON o.id = :org_id
    LEFT JOIN action a ON a.id = :action_id
    JOIN action_page p ON p.id = COALESCE(a.action_page_id, s.first_action_page_id)
    JOIN campaign c ON c.id = p.campaign_id
    WHERE s.id = :supporter_id
    """
)


def facts(
    conn: Connection, *, org_id: int, supporter_id: int, action_id: int | None
) -> dict[str, Any] | None:
    """What a payload says about the event: action, page, campaign, supporter, org."""
    params = {"org_id": org_id, "supporter_id": supporter_id, "action_id": action_id}
    row = conn.execute(_FACTS, params).mappings().first()
    return dict(row) if row is not None else None


def contact_payload(conn: Connection, *, org_id: int, supporter_id: int) -> bytes | None:
    """The org's own encrypted copy of the contact (DESIGN §5); None when it holds none."""
    row = conn.execute(
        text(
            "SELECT payload FROM contact WHERE org_id = :o AND supporter_id = :s "
            "AND disabled_at IS NULL"
        ),
        {"o": org_id, "s": supporter_id},
    ).first()
    return bytes(row[0]) if row is not None else None


def consents(conn: Connection, *, org_id: int, supporter_id: int) -> list[dict[str, Any]]:
    """The supporter's consent decisions to this org only."""
    rows = conn.execute(
        text(
            """
            SELECT o.name AS org, c.purpose, c.given, c.wording_version, c.method,
                   c.created_at, c.confirmed_at, c.withdrawn_at
            FROM consent c JOIN org o ON o.id = c.org_id
            WHERE c.supporter_id = :s AND c.org_id = :o
            ORDER BY c.id
            """
        ),
        {"o": org_id, "s": supporter_id},
    ).mappings()
    return [dict(r) for r in rows]


def purge_after_erasure(conn: Connection, job_id: int, supporter_id: int, org_id: int) -> None:
    """Forget the org's copy once its tools have been told (no erasure left to send)."""
    conn.execute(
        text(
            """
            UPDATE contact SET payload = ''::bytea, disabled_at = now(), updated_at = now()
            WHERE supporter_id = :s AND org_id = :o AND NOT EXISTS (
              SELECT 1 FROM delivery
              WHERE supporter_id = :s AND org_id = :o AND event = 'erasure_requested'
                AND status IN ('pending', 'queued') AND id <> :id)
            """
        ),
        {"s": supporter_id, "o": org_id, "id": job_id},
    )
