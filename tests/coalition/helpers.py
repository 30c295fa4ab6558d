"""Build what intake writes (DESIGN §5) with the factories, until the public intake lands."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.models import ActionPage, ContactScope, Org, Supporter
from tests import factories as f

DELIVERY_KEYS = ("firstName", "lastName")


@dataclass
class Signature:
    supporter: Supporter
    data: dict[str, Any]


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
    """A supporter signs on ``page``: the rows intake writes under DESIGN §5."""
    email = email or f"s-{secrets.token_hex(6)}@example.net"
    data: dict[str, Any] = {
        "firstName": "Sam",
        "lastName": "Signer",
        "email": email,
        "phone": "+33123456",
        "address": {"country": "FR", "postcode": "75001", "locality": "Paris", "street": "Rue"},
    }
    supporter = await f.make_supporter(session, page, keyring, email=email, country="FR")
    await f.make_action(session, page, supporter, **action)
    # 1. the page's org collected the data
    await f.make_contact(session, supporter, page_org, keyring, data)
    await f.make_consent(session, supporter, page_org, given=opt_in, action_page_id=page.id)
    # 2. communication consent to the lead
    entitled = {page_org.id}
    if lead is not None and lead_opt_in and lead.id != page_org.id:
        await f.make_contact(session, supporter, lead, keyring, data)
        await f.make_consent(session, supporter, lead, given=True, action_page_id=page.id)
        entitled.add(lead.id)
    # 3. the delivery org, limited to the fields delivery needs
    if delivery is not None and delivery.id not in entitled:
        limited: dict[str, Any] = {k: data[k] for k in DELIVERY_KEYS}
        limited["address"] = {k: data["address"][k] for k in ("country", "postcode", "locality")}
        await f.make_contact(session, supporter, delivery, keyring, limited, ContactScope.DELIVERY)
    return Signature(supporter=supporter, data=data)
