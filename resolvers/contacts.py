"""Personal data reads: thin calls into orgs/contacts (scoping decides what is visible)."""

from __future__ import annotations

import base64
from datetime import datetime

from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from orgs.contacts import erasure, export, service
from orgs.contacts.export import ExportFormat
from orgs.contacts.repository import ContactFilter
from orgs.intake.validation import IntakeValidationError, validate_email_address
from orgs.models import Contact, Supporter
from orgs.organisations import repository as organisations
from orgs.scoping import Membership
from permissions.roles import Permission
from resolvers.context import Context


def encode_cursor(contact_id: int) -> str:
    return base64.urlsafe_b64encode(f"contact:{contact_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        return int(value) if kind == "contact" else None
    except (ValueError, UnicodeDecodeError):
        return None


async def membership(
    ctx: Context,
    campaign: str,
    org: str | None,
    permission: Permission = Permission.READ_CONTACTS,
) -> Membership | None:
    session = await ctx.session()
    org_id: int | None = None
    if org is not None:
        row = await organisations.member_org_by_name(session, ctx.scope, org)
        if row is None:
            return None
        org_id = row.id
    return await service.reading_membership(session, ctx.scope, campaign, org_id, permission)


async def contacts(
    ctx: Context,
    member: Membership,
    flt: ContactFilter,
    first: int,
    after: str | None,
) -> tuple[list[tuple[Contact, Supporter, bool]], bool]:
    return await service.contacts(
        await ctx.session(), ctx.scope, member, flt, first, decode_cursor(after)
    )


async def export_link(
    ctx: Context, campaign: str, org: str | None, fmt: ExportFormat, *, include_flagged: bool
) -> tuple[str, datetime] | None:
    member = await membership(ctx, campaign, org, Permission.EXPORT_CONTACTS)
    if member is None:
        return None
    return await export.export_link(
        await ctx.session(),
        ctx.scope,
        ctx.keyring,
        member,
        fmt,
        include_flagged=include_flagged,
    )


async def request_erasure(ctx: Context, campaign: str, contact_ref: str, org: str | None) -> bool:
    session = await ctx.session()
    org_id: int | None = None
    if org is not None:
        row = await organisations.member_org_by_name(session, ctx.scope, org)
        if row is None:
            return False
        org_id = row.id
    return await erasure.request_erasure(session, ctx.scope, campaign, contact_ref, org_id)


_MY_ERASURE_LIMIT = parse_limit("10/hour")
_MY_ERASURE_LIMITER = FixedWindowRateLimiter(MemoryStorage())


async def request_my_erasure(ctx: Context, email: str, campaign: str) -> bool:
    """The person's own request; False when ``email`` is not an address. The outcome is
    otherwise the same whether or not the campaign holds the address (nothing is said)."""
    try:
        address = validate_email_address(email)
    except IntakeValidationError:
        return False
    request = ctx.request
    ip = request.client.host if request is not None and request.client else "unknown"
    # an address cannot be mail-bombed from one place; the outbox sends one link a day
    if not _MY_ERASURE_LIMITER.hit(_MY_ERASURE_LIMIT, "my-erasure", ip):
        return True
    conn = await (await ctx.session()).connection()
    await erasure.request_my_erasure(conn, ctx.keyring, address, campaign)
    return True
