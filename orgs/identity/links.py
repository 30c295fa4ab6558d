"""One-time tokens (password reset, staff invitation, SSO login code): hashed, expiring, single use.

Reset and invitation links are mailed through the outbox: the request plans a staff mail, and
the mailer makes the link when it sends (:func:`issue_link`), so no usable secret ever sits
in the outbox. The invitation's link is also handed to the inviting owner, for an instance
without mail.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.identity import repository
from orgs.identity.service import hash_password
from orgs.models import DeliveryEvent, OneTimeToken, utcnow
from orgs.outbox.repository import plan_staff_mail


class LinkPurpose(StrEnum):
    RESET_PASSWORD = "reset_password"
    INVITATION = "invitation"  # a new account: accepting it sets its first password
    # an invitation of an account that already existed: accepting it never sets the password
    # (the link goes to the inviting owner, who may be anyone: it must not hand them the
    # account of another org's staff member)
    JOIN = "join"
    SSO_LOGIN = "sso_login"  # handed to the SSO return URL, exchanged by completeSsoLogin


TTL = {
    LinkPurpose.RESET_PASSWORD: timedelta(hours=1),
    LinkPurpose.INVITATION: timedelta(days=7),
    LinkPurpose.JOIN: timedelta(days=7),
    LinkPurpose.SSO_LOGIN: timedelta(minutes=2),
}
PATHS = {
    LinkPurpose.RESET_PASSWORD: "reset-password",
    LinkPurpose.INVITATION: "accept-invitation",
    LinkPurpose.JOIN: "accept-invitation",  # the same link and answer: nothing tells them apart
}
MIN_PASSWORD_LENGTH = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, user_id: int, purpose: LinkPurpose) -> str:
    """A new one-time token for ``user_id``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        OneTimeToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=_hash(token),
            expires_at=utcnow() + TTL[purpose],
        )
    )
    await session.flush()
    return token


async def spend_token(session: AsyncSession, token: str, purpose: LinkPurpose) -> int | None:
    """Mark a valid, unexpired, unused token of ``purpose`` used; its user id, or None."""
    row = await repository.one_time_token_by_hash(session, _hash(token))
    now = utcnow()
    if row is None or row.purpose != purpose.value or row.used_at is not None:
        return None
    if row.expires_at <= now:
        return None
    row.used_at = now
    await session.flush()
    return row.user_id


async def create_link(
    session: AsyncSession, public_url: str, user_id: int, purpose: LinkPurpose
) -> str:
    """A new one-time link for ``user_id`` (reset, invitation)."""
    token = await create_token(session, user_id, purpose)
    return f"{public_url.rstrip('/')}/{PATHS[purpose]}?token={token}"


def issue_link(conn: Connection, public_url: str, user_id: int, purpose: LinkPurpose) -> str:
    """A new one-time link, made by the mailer as it sends (sync: the delivery worker)."""
    token = secrets.token_urlsafe(32)
    repository.add_one_time_token(
        conn, user_id, purpose.value, _hash(token), utcnow() + TTL[purpose]
    )
    return f"{public_url.rstrip('/')}/{PATHS[purpose]}?token={token}"


async def request_password_reset(session: AsyncSession, email: str) -> bool:
    """Mail a reset link to a known, active staff member (at most one an hour); the caller
    answers the same either way. True when a mail was planned."""
    user = await repository.user_by_email(session, email.strip())
    if user is None or user.id is None or not user.is_active:
        return False
    orgs = await repository.staff_roles(session, user.id)
    if not orgs:
        return False
    hour = int(utcnow().timestamp() // 3600)
    planned = await plan_staff_mail(
        await session.connection(),
        event=DeliveryEvent.PASSWORD_RESET_MAIL,
        org_id=min(orgs),
        user_id=user.id,
        subject=f"u{user.id}:{hour}",
    )
    return planned > 0


async def use_link(
    session: AsyncSession, token: str, purpose: LinkPurpose, password: str
) -> int | None:
    """Set the password through a valid link and spend it; the user id, or None.

    An invitation of an existing account (``JOIN``) is accepted like any invitation but
    leaves the password as its owner set it: only the address's owner may change it
    (password reset), never whoever invited the address.
    """
    if purpose is LinkPurpose.INVITATION:
        joined = await spend_token(session, token, LinkPurpose.JOIN)
        if joined is not None:
            return joined
    user_id = await spend_token(session, token, purpose)
    if user_id is None:
        return None
    user = await repository.user_by_id(session, user_id)
    if user is None:
        return None
    user.password_hash = hash_password(password)
    await session.flush()
    return user.id
