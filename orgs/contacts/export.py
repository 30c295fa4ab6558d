"""Export of an org's own contacts: short-lived signed links and a constant-memory stream.

The rows are exactly what ``contacts`` answers the org (orgs/scoping.py: its own Contact
copies, masked by their scope), without flagged contacts unless asked, with the org's
standing consent (wording version, method, when) and where the person came from (page,
source, medium, UTM campaign of their first action the org sees in full). A link is bound to the
org's partnership as it was when minted: once the org leaves or is removed, links minted
before stop working (a new one can be minted: the org keeps its own data). Cells that a
spreadsheet would run as a formula are neutralised (OWASP CSV injection); an export that fails
mid-way ends with an error line instead of a truncated file that looks complete.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.campaigns import repository as campaigns
from orgs.contacts import repository
from orgs.contacts.repository import ContactFilter
from orgs.crypto import Keyring
from orgs.models import Action, Consent, ConsentPurpose, ContactScope, Partnership, utcnow
from orgs.scoping import ActionView, Membership, Scope, mask_contact, system_scope
from permissions.roles import Permission

log = structlog.get_logger(__name__)

LINK_TTL = timedelta(minutes=10)
COMMUNICATION = ConsentPurpose.COMMUNICATION.value
BATCH = 1000
PURPOSE = "export"
COLUMNS = (
    "ref",
    "scope",
    "created_at",
    "flagged",
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
    "consent_version",
    "consent_method",
    "consent_at",
    "page",
    "source",
    "medium",
    "utm_campaign",
)
#: the source columns come from the first of the person's actions the org sees in full
#: (orgs/scoping.py action_view): never what they did on another org's page
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FAILED_LINE = "# export failed: the file is incomplete, please try again"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def _generation(partnership: Partnership) -> str:
    """Changes whenever the partnership changes (leaving, removal, role): old links die."""
    return f"{partnership.status}.{int(partnership.updated_at.timestamp() * 1_000_000)}"


def _message(
    org_id: int, campaign_id: int, fmt: ExportFormat, flagged: bool, expires: int, gen: str
) -> str:
    return f"{org_id}:{campaign_id}:{fmt.value}:{int(flagged)}:{expires}:{gen}"


async def export_link(
    session: AsyncSession,
    scope: Scope,
    keyring: Keyring,
    membership: Membership,
    fmt: ExportFormat,
    *,
    include_flagged: bool = False,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed, short-lived path for the export; the request is audited."""
    expires_at = (now or utcnow()) + LINK_TTL
    expires = int(expires_at.timestamp())
    campaign_id = membership.campaign.id
    assert campaign_id is not None
    gen = _generation(membership.partnership)
    message = _message(membership.org_id, campaign_id, fmt, include_flagged, expires, gen)
    signature = keyring.sign(PURPOSE, message)
    await audit.record(
        session,
        scope,
        membership.org_id,
        "contacts.export",
        "Campaign",
        campaign_id,
        {"format": fmt.value, "flagged": include_flagged},
    )
    path = (
        f"/export/contacts?org={membership.org_id}&campaign={campaign_id}"
        f"&format={fmt.value}&flagged={int(include_flagged)}&expires={expires}"
        f"&gen={gen}&signature={signature}"
    )
    return path, expires_at


class ExportLink:
    """A parsed, signature-checked export link."""

    def __init__(
        self, org_id: int, campaign_id: int, fmt: ExportFormat, flagged: bool, gen: str
    ) -> None:
        self.org_id = org_id
        self.campaign_id = campaign_id
        self.fmt = fmt
        self.flagged = flagged
        self.gen = gen


def verify_link(keyring: Keyring, params: dict[str, str]) -> ExportLink | None:
    """The link's contents when its signature holds and it has not expired; None otherwise."""
    try:
        org_id = int(params["org"])
        campaign_id = int(params["campaign"])
        fmt = ExportFormat(params["format"])
        flagged = params.get("flagged", "0") == "1"
        expires = int(params["expires"])
        gen = params["gen"]
        signature = params["signature"]
    except (KeyError, ValueError):
        return None
    if expires < int(utcnow().timestamp()):
        return None
    message = _message(org_id, campaign_id, fmt, flagged, expires, gen)
    if not keyring.verify(PURPOSE, message, signature):
        return None
    return ExportLink(org_id, campaign_id, fmt, flagged, gen)


def _cell(value: Any) -> Any:
    """A value a spreadsheet shows as text, never runs (formula injection, OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _consent_columns(scope: str, consents: list[Consent]) -> dict[str, Any]:
    """The org's standing communication consent: given or not, its wording, how, when."""
    if scope == ContactScope.DELIVERY.value:
        return {"consent": "", "consent_version": None, "consent_method": None, "consent_at": None}
    standing = [c for c in consents if c.withdrawn_at is None and c.purpose == COMMUNICATION]
    given = [c for c in standing if c.given]
    latest = given[-1] if given else None
    return {
        "consent": "given" if latest else "none",
        "consent_version": latest.wording_version if latest else None,
        "consent_method": latest.method if latest else None,
        "consent_at": (latest.confirmed_at or latest.created_at).isoformat() if latest else None,
    }


def _source_columns(actions: list[tuple[Action, str, str]]) -> dict[str, Any]:
    first = next((a for a in actions if a[2] == ActionView.FULL.value), None)
    if first is None:
        return {"page": None, "source": None, "medium": None, "utm_campaign": None}
    action, page, _ = first
    return {
        "page": page,
        "source": action.source,
        "medium": action.medium,
        "utm_campaign": action.tracking_campaign,
    }


def _record(
    data: dict[str, Any], scope: str, ref: str, created: datetime, flagged: bool
) -> dict[str, Any]:
    visible = mask_contact(data, scope)
    raw = visible.get("address")
    address: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "ref": ref,
        "scope": scope,
        "created_at": created.isoformat(),
        "flagged": flagged,
        "first_name": visible.get("firstName"),
        "last_name": visible.get("lastName"),
        "email": visible.get("email"),
        "phone": visible.get("phone"),
        "birth_date": visible.get("birthDate"),
        "country": address.get("country"),
        "postcode": address.get("postcode"),
        "locality": address.get("locality"),
        "region": address.get("region"),
        "street": address.get("street"),
        "street_number": address.get("streetNumber"),
    }


async def _still_valid(session: AsyncSession, link: ExportLink) -> Membership | None:
    """The org's membership, if the partnership is still the one the link was minted for."""
    scope = system_scope(link.org_id)
    membership = await scope.campaign_membership(
        session, link.campaign_id, Permission.EXPORT_CONTACTS, org_id=link.org_id
    )
    if membership is None or _generation(membership.partnership) != link.gen:
        return None
    return membership


async def link_is_live(session: AsyncSession, link: ExportLink) -> bool:
    return await _still_valid(session, link) is not None


async def stream(session: AsyncSession, keyring: Keyring, link: ExportLink) -> AsyncIterator[str]:
    """The org's own contacts in the campaign as CSV or JSON lines, batch by batch.

    Runs in the org's system scope (the link was authorised and audited when issued); before
    every batch the partnership must still be the one the link was minted for, so a removal
    stops a download under way.
    """
    membership = await _still_valid(session, link)
    if membership is None:
        return
    scope = system_scope(link.org_id)
    fmt = link.fmt
    if fmt is ExportFormat.CSV:
        yield ",".join(COLUMNS) + "\r\n"
    flt = ContactFilter(flagged=None if link.flagged else False)
    try:
        async for batch in repository.stream_contacts(session, scope, membership, flt, BATCH):
            if await campaigns.partnership_changed(session, membership.partnership):
                yield _failed(fmt)
                return
            ids = [s.id for _, s, _ in batch if s.id is not None]
            consents = await repository.consents_by_supporter(session, scope, membership, ids)
            actions = await repository.actions_by_supporter(session, scope, membership, ids)
            out = io.StringIO()
            writer = csv.DictWriter(out, COLUMNS) if fmt is ExportFormat.CSV else None
            for contact, supporter, flagged in batch:
                assert supporter.id is not None
                row = {
                    **_record(
                        keyring.decrypt_json(contact.payload),
                        contact.scope,
                        contact.ref,
                        contact.created_at,
                        flagged,
                    ),
                    **_consent_columns(contact.scope, consents[supporter.id]),
                    **_source_columns(actions[supporter.id]),
                }
                if writer is not None:
                    writer.writerow({k: _cell(v) for k, v in row.items()})
                else:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            yield out.getvalue()
    except Exception:  # a bug or a lost database: end with an error line, never mid-row
        log.exception("export.failed", org=link.org_id, campaign=link.campaign_id)
        yield _failed(fmt)


def _failed(fmt: ExportFormat) -> str:
    if fmt is ExportFormat.CSV:
        return "\r\n" + FAILED_LINE + "\r\n"
    return json.dumps({"error": FAILED_LINE}) + "\n"
