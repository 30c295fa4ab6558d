"""Double opt-in: the signed accept / reject links and what answering them does.

Accept: the supporter is confirmed, its double opt-in consents get their confirmation time,
deliveries held for it are released and a ``supporter_confirmed`` event is planned for every
org holding its contact. Reject ("it wasn't me"): held deliveries are cancelled and every
copy of the contact is erased. Unsubscribe (a follow-up mail's List-Unsubscribe) withdraws
the communication consents and plans ``consent_withdrawn``. Links expire after 30 days;
answering twice changes nothing.
"""

from __future__ import annotations

import time
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.crypto import Keyring
from orgs.models import DeliveryEvent
from workers.outbox import plan_deliveries

LINK_TTL_SECONDS = 30 * 24 * 3600
_PURPOSE = "double-opt-in"


class Answer(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    UNSUBSCRIBE = "unsubscribe"  # List-Unsubscribe of follow-up mails: withdraw consent


def token(keyring: Keyring, supporter_id: int, answer: Answer, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LINK_TTL_SECONDS)
    message = f"{supporter_id}.{answer.value}.{expires}"
    return f"{message}.{keyring.sign(_PURPOSE, message)}"


def read_token(keyring: Keyring, value: str) -> tuple[int, Answer] | None:
    """(supporter id, answer) of a valid, unexpired link token; None otherwise."""
    parts = value.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    message = ".".join(parts[:3])
    if not keyring.verify(_PURPOSE, message, parts[3]) or int(parts[2]) < time.time():
        return None
    try:
        return int(parts[0]), Answer(parts[1])
    except ValueError:
        return None


async def answer(conn: AsyncConnection, supporter_id: int, choice: Answer) -> bool:
    """Apply the supporter's answer; False when there was nothing to confirm or reject."""
    if choice is Answer.UNSUBSCRIBE:
        return await withdraw(conn, supporter_id)
    status = "confirmed" if choice is Answer.ACCEPT else "rejected"
    changed = (
        await conn.execute(
            text(
                "UPDATE supporter SET confirmation = CAST(:status AS text), "
                "confirmed_at = CASE WHEN CAST(:status AS text) = 'confirmed' THEN now() END, "
                "erased_at = CASE WHEN CAST(:status AS text) = 'rejected' THEN now() END "
                "WHERE id = :id AND confirmation = 'confirming' RETURNING id"
            ),
            {"id": supporter_id, "status": status},
        )
    ).first()
    if changed is None:
        return False
    params = {"id": supporter_id}
    if choice is Answer.ACCEPT:
        await conn.execute(
            text(
                "UPDATE consent SET confirmed_at = now() "
                "WHERE supporter_id = :id AND method = 'double' AND confirmed_at IS NULL"
            ),
            params,
        )
        await conn.execute(
            text(
                "UPDATE delivery SET status = 'pending', next_attempt_at = now(), "
                "updated_at = now() WHERE supporter_id = :id AND status = 'waiting'"
            ),
            params,
        )
        orgs = await conn.execute(
            text("SELECT org_id FROM contact WHERE supporter_id = :id AND disabled_at IS NULL"),
            params,
        )
        await plan_deliveries(
            conn,
            event=DeliveryEvent.SUPPORTER_CONFIRMED,
            org_ids=[row[0] for row in orgs],
            supporter_id=supporter_id,
        )
        return True
    await conn.execute(
        text(
            "UPDATE delivery SET status = 'cancelled', updated_at = now() "
            "WHERE supporter_id = :id AND status IN ('waiting', 'pending', 'queued')"
        ),
        params,
    )
    await conn.execute(
        text(
            "UPDATE contact SET payload = ''::bytea, disabled_at = now(), updated_at = now() "
            "WHERE supporter_id = :id"
        ),
        params,
    )
    return True


async def withdraw(conn: AsyncConnection, supporter_id: int) -> bool:
    """Withdraw every communication consent the supporter gave; tell the orgs concerned."""
    rows = await conn.execute(
        text(
            "UPDATE consent SET withdrawn_at = now() WHERE supporter_id = :id "
            "AND purpose = 'communication' AND given AND withdrawn_at IS NULL RETURNING org_id"
        ),
        {"id": supporter_id},
    )
    orgs = sorted({row[0] for row in rows})
    if not orgs:
        return False
    await plan_deliveries(
        conn, event=DeliveryEvent.CONSENT_WITHDRAWN, org_ids=orgs, supporter_id=supporter_id
    )
    return True


async def erase(conn: AsyncConnection, supporter_id: int) -> list[int]:
    """A supporter's erasure request: every org holding their contact is told, then forgets.

    Pending deliveries about them are cancelled; each org with a connector gets an
    ``erasure_requested`` event (its copy of the contact is purged once that is sent, so the
    CRM can still find the person); the other copies are purged at once. Returns the orgs
    told.
    """
    params = {"id": supporter_id}
    await conn.execute(
        text("UPDATE supporter SET erased_at = now() WHERE id = :id AND erased_at IS NULL"),
        params,
    )
    await conn.execute(
        text(
            "UPDATE delivery SET status = 'cancelled', updated_at = now() "
            "WHERE supporter_id = :id AND status IN ('waiting', 'pending', 'queued')"
        ),
        params,
    )
    rows = await conn.execute(
        text("SELECT org_id FROM contact WHERE supporter_id = :id AND disabled_at IS NULL"),
        params,
    )
    orgs = sorted(row[0] for row in rows)
    await plan_deliveries(
        conn, event=DeliveryEvent.ERASURE_REQUESTED, org_ids=orgs, supporter_id=supporter_id
    )
    await conn.execute(
        text(
            "UPDATE contact SET payload = ''::bytea, disabled_at = now(), updated_at = now() "
            "WHERE supporter_id = :id AND org_id NOT IN ("
            "  SELECT org_id FROM delivery WHERE supporter_id = :id "
            "  AND event = 'erasure_requested' AND status = 'pending')"
        ),
        params,
    )
    told = await conn.execute(
        text(
            "SELECT DISTINCT org_id FROM delivery WHERE supporter_id = :id "
            "AND event = 'erasure_requested' AND status = 'pending'"
        ),
        params,
    )
    return sorted(row[0] for row in told)
