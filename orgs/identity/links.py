"""One-time links (password reset, staff invitation): hashed, expiring, single use.

``create_link`` is what the mailer calls; until mail goes through the outbox the invitation
link is returned to the inviting owner.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.identity import repository
from orgs.identity.service import hash_password
from orgs.models import OneTimeToken, utcnow


class LinkPurpose(StrEnum):
    RESET_PASSWORD = "reset_password"
    INVITATION = "invitation"


TTL = {LinkPurpose.RESET_PASSWORD: timedelta(hours=1), LinkPurpose.INVITATION: timedelta(days=7)}
PATHS = {LinkPurpose.RESET_PASSWORD: "reset-password", LinkPurpose.INVITATION: "accept-invitation"}
MIN_PASSWORD_LENGTH = 10


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    session: AsyncSession, public_url: str, user_id: int, purpose: LinkPurpose
) -> str:
    """A new one-time link for ``user_id``; only the token's hash is stored."""
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
    return f"{public_url.rstrip('/')}/{PATHS[purpose]}?token={token}"


async def request_password_reset(session: AsyncSession, public_url: str, email: str) -> str | None:
    """The reset link for a known email (for the mailer); None for an unknown one."""
    user = await repository.user_by_email(session, email.strip())
    if user is None or user.id is None:
        return None
    return await create_link(session, public_url, user.id, LinkPurpose.RESET_PASSWORD)


async def use_link(
    session: AsyncSession, token: str, purpose: LinkPurpose, password: str
) -> int | None:
    """Set the password through a valid link and spend it; the user id, or None."""
    row = await repository.one_time_token_by_hash(session, _hash(token))
    now = utcnow()
    if row is None or row.purpose != purpose.value or row.used_at is not None:
        return None
    if row.expires_at <= now:
        return None
    user = await repository.user_by_id(session, row.user_id)
    if user is None:
        return None
    row.used_at = now
    user.password_hash = hash_password(password)
    await session.flush()
    return user.id
