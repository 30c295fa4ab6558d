"""Erasure (GDPR art. 17), by the rule of orgs/scoping.py: an org erases only its own copy;
every copy goes only at the person's own verified request.

* ``requestErasure`` (an org's data manager): the org's own copy is purged, its pending
  deliveries cancelled and its own tools told (``erasure_requested``); no other org's copy,
  consent or delivery changes.
* ``requestMyErasure`` (the person, no login): a signed link is mailed to the address the
  person gave; following it tells every org holding a copy and purges each copy. The answer
  is the same whatever the address, and nothing is mailed to an address the campaign does
  not hold.
* "It wasn't me" on a double opt-in mail (orgs/intake/confirmation.py) also erases every copy:
  the person proved control of the address the same way.

Counts keep their totals: counters are aggregates, not personal data. Requests are audited
without personal data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orgs.audit import repository as audit
from orgs.campaigns import repository as campaigns
from orgs.contacts import repository
from orgs.contacts.service import reading_membership
from orgs.crypto import Keyring
from orgs.models import DeliveryEvent
from orgs.outbox.repository import cancel_pending, plan_deliveries, plan_mail
from orgs.scoping import Scope

LINK_TTL_SECONDS = 7 * 24 * 3600
_PURPOSE = "erasure"


async def _erase(conn: AsyncConnection, supporter_id: int, org_ids: list[int]) -> list[int]:
    """Tell the tools of ``org_ids`` and purge their copies; the orgs told."""
    for org_id in org_ids:
        await cancel_pending(conn, supporter_id, org_id)
    await plan_deliveries(
        conn, event=DeliveryEvent.ERASURE_REQUESTED, org_ids=org_ids, supporter_id=supporter_id
    )
    # copies of orgs with a tool to tell are purged once it was told (the CRM can still find
    # the person); the others at once
    await repository.purge_untold(conn, supporter_id, org_ids)
    return await repository.told_of_erasure(conn, supporter_id, org_ids)


async def erase_own_copy(conn: AsyncConnection, org_id: int, supporter_id: int) -> list[int]:
    """One org forgets the supporter: its copy only, its tools only."""
    return await _erase(conn, supporter_id, await repository.holders(conn, supporter_id, org_id))


async def erase_everywhere(conn: AsyncConnection, supporter_id: int) -> list[int]:
    """The person's own verified request: every org holding a copy is told, then forgets."""
    await repository.mark_erased(conn, supporter_id)
    await cancel_pending(conn, supporter_id, None)
    return await _erase(conn, supporter_id, await repository.holders(conn, supporter_id))


async def request_erasure(
    session: AsyncSession, scope: Scope, campaign: str, contact_ref: str, org: int | None = None
) -> bool:
    """Erase the caller org's own copy of its supporter ``contact_ref`` (its Contact.ref).

    False when the org holds no such supporter (another org's reference looks the same).
    """
    membership = await reading_membership(session, scope, campaign, org)
    if membership is None or membership.campaign.id is None:
        return False
    conn = await session.connection()
    supporter_id = await repository.own_supporter(conn, scope, membership, contact_ref)
    if supporter_id is None:
        return False
    told = await erase_own_copy(conn, membership.org_id, supporter_id)
    await audit.record(
        session,
        scope,
        membership.org_id,
        "supporter.erasure_requested",
        "supporter",
        supporter_id,
        {"tools_told": len(told)},
    )
    return True


# --- the person's own request ------------------------------------------------------------------


def erasure_token(keyring: Keyring, supporter_id: int, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LINK_TTL_SECONDS)
    message = f"{supporter_id}.{expires}"
    return f"{message}.{keyring.sign(_PURPOSE, message)}"


def read_erasure_token(keyring: Keyring, value: str) -> int | None:
    """The supporter id of a valid, unexpired erasure link token; None otherwise."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    message = ".".join(parts[:2])
    if not keyring.verify(_PURPOSE, message, parts[2]) or int(parts[1]) < time.time():
        return None
    return int(parts[0])


@dataclass(frozen=True)
class MyErasure:
    """What a person's request did (never shown to the caller: the answer is constant)."""

    links_planned: int


async def request_my_erasure(
    conn: AsyncConnection, keyring: Keyring, email: str, campaign: str
) -> MyErasure:
    """Plan one signed link per public campaign named ``campaign`` that holds the address.

    ``email`` must already be validated and normalised (the intake's rules). The link goes
    through the outbox as a mail of an org holding a full copy (it knows the address), with
    an idempotency subject per day so repeating the request does not mail again.
    """
    fingerprint = keyring.fingerprint(email)
    campaign_ids = await campaigns.public_campaign_ids(conn, campaign)
    planned = 0
    day = int(time.time() // 86400)
    for supporter_id in await repository.supporters_by_fingerprint(conn, fingerprint, campaign_ids):
        org_id = await repository.full_copy_holder(conn, supporter_id)
        if org_id is None:
            continue  # no copy holds an address to write to (nor anything to erase by it)
        planned += await plan_mail(
            conn,
            event=DeliveryEvent.ERASURE_LINK_MAIL,
            org_id=org_id,
            supporter_id=supporter_id,
            subject=f"s{supporter_id}:{day}",
        )
    return MyErasure(planned)
