"""Double opt-in: the signed accept / reject links and what answering them does.

Accept: the supporter is confirmed, its double opt-in consents get their confirmation time,
deliveries held for it are released and a ``supporter_confirmed`` event is planned for every
org holding its contact. Reject ("it wasn't me", the person's own answer from their
mailbox): held deliveries are cancelled and every copy of the contact is erased. Unsubscribe
(a follow-up mail's List-Unsubscribe) withdraws the communication consents and plans
``consent_withdrawn``. Links expire after 30 days; answering twice changes nothing.
"""

from __future__ import annotations

import time
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.contacts import repository as contacts
from orgs.crypto import Keyring
from orgs.intake import repository as intake
from orgs.models import DeliveryEvent
from orgs.outbox.repository import cancel_pending, plan_deliveries, release_waiting

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
    if choice is Answer.ACCEPT:
        if not await contacts.confirm_supporter(conn, supporter_id):
            return False
        await release_waiting(conn, supporter_id)
        await plan_deliveries(
            conn,
            event=DeliveryEvent.SUPPORTER_CONFIRMED,
            org_ids=await contacts.holders(conn, supporter_id),
            supporter_id=supporter_id,
        )
        return True
    if not await contacts.reject_supporter(conn, supporter_id):
        return False
    await intake.uncount_supporter(conn, supporter_id)
    # nothing was delivered before confirmation: the held deliveries go, then every copy
    await cancel_pending(conn, supporter_id, None)
    await contacts.purge_untold(conn, supporter_id, await contacts.holders(conn, supporter_id))
    return True


async def withdraw(conn: AsyncConnection, supporter_id: int) -> bool:
    """Withdraw every communication consent the supporter gave; tell the orgs concerned."""
    orgs = await contacts.withdraw_communication(conn, supporter_id)
    if not orgs:
        return False
    await plan_deliveries(
        conn, event=DeliveryEvent.CONSENT_WITHDRAWN, org_ids=orgs, supporter_id=supporter_id
    )
    return True
