"""Sign through the real public intake (orgs/intake), so visibility tests read what it wrote."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions, hash_ref
from orgs.models import ActionPage, Contact, ContactRef, Org, Partnership, Supporter

TRACKING = ("source", "medium", "campaign", "content", "location")


@dataclass
class Signature:
    supporter: Supporter
    data: dict[str, Any]
    contact_ref: str  # the capability this submission answered (not an identity)


async def supporter_of(session: AsyncSession, contact_ref: str) -> Supporter:
    """The supporter a contactRef was issued for (tests only: the API never tells)."""
    found = await session.execute(
        select(Supporter)
        .join(ContactRef, col(ContactRef.supporter_id) == col(Supporter.id))
        .where(col(ContactRef.ref_hash) == hash_ref(contact_ref))
    )
    return found.scalars().one()


async def contact_ref_of(session: AsyncSession, supporter: Supporter, org: Org) -> str:
    """``org``'s own reference for the supporter (Contact.ref, as its contacts list shows)."""
    found = await session.execute(
        select(col(Contact.ref)).where(
            col(Contact.supporter_id) == supporter.id, col(Contact.org_id) == org.id
        )
    )
    return str(found.scalar_one())


async def sign(
    session: AsyncSession,
    keyring: Keyring,
    page: ActionPage,
    page_org: Org,
    *,
    lead: Org | None = None,
    opt_in: bool = True,
    lead_opt_in: bool = False,
    delivery: Org | None = None,
    email: str | None = None,
    **action: Any,
) -> Signature:
    """A supporter signs on ``page`` through the intake service (DESIGN §5 applies).

    ``lead`` says the lead's opt-in box was shown; ``delivery`` makes that org the
    campaign's delivery org first; ``action`` takes ``action_type`` and tracking fields.
    """
    assert page.id is not None
    assert page_org.id == page.org_id
    email = email or f"s-{secrets.token_hex(6)}@example.net"
    data: dict[str, Any] = {
        "firstName": "Sam",
        "lastName": "Signer",
        "email": email,
        "phone": "+33 1 23 45 67 89",
        "address": {"country": "FR", "postcode": "75001", "locality": "Paris", "street": "Rue"},
    }
    if delivery is not None:
        await session.execute(
            update(Partnership)
            .where(col(Partnership.campaign_id) == page.campaign_id)
            .values(delivery=col(Partnership.org_id) == delivery.id)
        )
    await session.flush()
    shown_lead_box = lead is not None and lead.id != page_org.id
    receipt = await service.add_action_contact(
        await session.connection(),
        IntakeOptions(keyring=keyring, window_seconds=0),
        page.id,
        action={"actionType": action.pop("action_type", "signature")},
        contact=data,
        privacy={"optIn": opt_in, "leadOptIn": lead_opt_in if shown_lead_box else None},
        tracking={k: action.pop(k) for k in TRACKING if k in action},
    )
    assert not action, f"unsupported action fields: {sorted(action)}"
    supporter = await supporter_of(session, receipt.contact_ref)
    data["phone"] = "+33123456789"  # as stored: E.164
    return Signature(supporter=supporter, data=data, contact_ref=receipt.contact_ref)
