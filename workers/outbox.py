"""The outbox (DESIGN §2): delivery rows written in the same transaction as the event.

Request code never talks to the broker. It calls :func:`plan_deliveries` inside its
transaction; the relay (workers/relay.py) later enqueues the rows that committed. This module
must stay importable from ``orgs/``: no dramatiq, no actors here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.models import DeliveryEvent, DeliveryStatus

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

    ``org_ids`` must already be filtered by the visibility rule (DESIGN §5): only orgs holding
    a Contact for the supporter. ``waiting`` holds the rows until a double opt-in is confirmed.
    The idempotency key (``event:subject:connector``) makes replays harmless. Returns the
    number of rows written. One statement, so it is cheap on the public write path.
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
) -> int:
    """Write one pending mail delivery (thank-you or double opt-in confirmation).

    ``connector_id`` stays NULL: the mail actor picks the org's enabled SMTP connector at send
    time, or the instance's SMTP settings. Idempotent like :func:`plan_deliveries`.
    """
    if event not in (DeliveryEvent.CONFIRMATION_MAIL, DeliveryEvent.THANK_YOU_MAIL):
        raise ValueError(f"{event} is not a mail event")
    subject = f"a{action_id}" if action_id is not None else f"s{supporter_id}"
    result = await conn.execute(
        _PLAN_MAIL,
        {
            "org_id": org_id,
            "event": event.value,
            "action_id": action_id,
            "supporter_id": supporter_id,
            "subject": subject,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
