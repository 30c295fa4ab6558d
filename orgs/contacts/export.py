"""Export of an org's own contacts: short-lived signed links and a constant-memory stream."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.contacts import repository
from orgs.contacts.repository import ContactFilter
from orgs.crypto import Keyring
from orgs.models import ContactScope, utcnow
from orgs.scoping import Membership, Scope, system_scope
from permissions.roles import Permission

LINK_TTL = timedelta(minutes=10)
BATCH = 1000
PURPOSE = "export"
COLUMNS = (
    "ref",
    "scope",
    "created_at",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "country",
    "postcode",
    "locality",
    "region",
    "street",
    "street_number",
    "consent",
)
DELIVERY_COLUMNS = frozenset(
    {"ref", "scope", "created_at", "first_name", "last_name", "country", "postcode", "locality"}
)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def _message(org_id: int, campaign: str, fmt: ExportFormat, expires: int) -> str:
    return f"{org_id}:{campaign}:{fmt.value}:{expires}"


async def export_link(
    session: AsyncSession,
    scope: Scope,
    keyring: Keyring,
    membership: Membership,
    fmt: ExportFormat,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed, short-lived path for the export; the request is audited."""
    expires_at = (now or utcnow()) + LINK_TTL
    expires = int(expires_at.timestamp())
    campaign = membership.campaign.name
    signature = keyring.sign(PURPOSE, _message(membership.org_id, campaign, fmt, expires))
    await audit.record(
        session,
        scope,
        membership.org_id,
        "contacts.export",
        "Campaign",
        membership.campaign.id,
        {"format": fmt.value},
    )
    path = (
        f"/export/contacts?org={membership.org_id}&campaign={campaign}"
        f"&format={fmt.value}&expires={expires}&signature={signature}"
    )
    return path, expires_at


def verify_link(
    keyring: Keyring, org_id: int, campaign: str, fmt: ExportFormat, expires: int, signature: str
) -> bool:
    if expires < int(utcnow().timestamp()):
        return False
    return keyring.verify(PURPOSE, _message(org_id, campaign, fmt, expires), signature)


def _record(
    data: dict[str, Any], scope: str, ref: str, created: datetime, consent: str
) -> dict[str, Any]:
    address = data.get("address") if isinstance(data.get("address"), dict) else {}
    assert isinstance(address, dict)
    row = {
        "ref": ref,
        "scope": scope,
        "created_at": created.isoformat(),
        "first_name": data.get("firstName"),
        "last_name": data.get("lastName"),
        "email": data.get("email"),
        "phone": data.get("phone"),
        "birth_date": data.get("birthDate"),
        "country": address.get("country"),
        "postcode": address.get("postcode"),
        "locality": address.get("locality"),
        "region": address.get("region"),
        "street": address.get("street"),
        "street_number": address.get("streetNumber"),
        "consent": consent,
    }
    if scope == ContactScope.DELIVERY.value:
        row = {k: (v if k in DELIVERY_COLUMNS else None) for k, v in row.items()}
    return row


async def stream(
    session: AsyncSession, keyring: Keyring, org_id: int, campaign: str, fmt: ExportFormat
) -> AsyncIterator[str]:
    """The org's own contacts in ``campaign`` as CSV or JSON lines, batch by batch.

    Runs in the org's system scope (the link was authorised and audited when issued); the
    org must still take part in the campaign (active or left).
    """
    scope = system_scope(org_id)
    membership = await scope.campaign_membership(
        session, campaign, Permission.EXPORT_CONTACTS, org_id=org_id
    )
    if membership is None:
        return
    if fmt is ExportFormat.CSV:
        yield ",".join(COLUMNS) + "\r\n"
    async for batch in repository.stream_contacts(
        session, scope, membership, ContactFilter(), BATCH
    ):
        ids = [s.id for _, s in batch if s.id is not None]
        consents = await repository.consents_by_supporter(session, scope, membership, ids)
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS) if fmt is ExportFormat.CSV else None
        for contact, supporter in batch:
            assert supporter.id is not None
            given = [c for c in consents[supporter.id] if c.withdrawn_at is None]
            status = "given" if any(c.given for c in given) else "none"
            if contact.scope == ContactScope.DELIVERY.value:
                status = ""
            row = _record(
                keyring.decrypt_json(contact.payload),
                contact.scope,
                supporter.ref,
                contact.created_at,
                status,
            )
            if writer is not None:
                writer.writerow(row)
            else:
                out.write(json.dumps(row) + "\n")
        yield out.getvalue()
