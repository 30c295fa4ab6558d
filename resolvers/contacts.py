"""Personal data reads: thin calls into orgs/contacts (scoping decides what is visible)."""

from __future__ import annotations

import base64
from datetime import datetime

from orgs.contacts import erasure, export, service
from orgs.contacts.export import ExportFormat
from orgs.contacts.repository import ContactFilter
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
) -> tuple[list[tuple[Contact, Supporter]], bool]:
    return await service.contacts(
        await ctx.session(), ctx.scope, member, flt, first, decode_cursor(after)
    )


async def export_link(
    ctx: Context, campaign: str, org: str | None, fmt: ExportFormat
) -> tuple[str, datetime] | None:
    member = await membership(ctx, campaign, org, Permission.EXPORT_CONTACTS)
    if member is None:
        return None
    return await export.export_link(await ctx.session(), ctx.scope, ctx.keyring, member, fmt)


async def request_erasure(ctx: Context, campaign: str, contact_ref: str, org: str | None) -> bool:
    session = await ctx.session()
    org_id: int | None = None
    if org is not None:
        row = await organisations.member_org_by_name(session, ctx.scope, org)
        if row is None:
            return False
        org_id = row.id
    return await erasure.request_erasure(session, ctx.scope, campaign, contact_ref, org_id)
