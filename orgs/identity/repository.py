"""SQL for users, staff and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from orgs.models import ApiToken, OneTimeToken, RefreshToken, Staffer, User, utcnow


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(col(User.email)) == email.lower()))
    return result.scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def staff_roles(session: AsyncSession, user_id: int) -> dict[int, str]:
    result = await session.execute(
        select(col(Staffer.org_id), col(Staffer.role)).where(col(Staffer.user_id) == user_id)
    )
    return dict(result.all())


async def staffer(session: AsyncSession, org_id: int, user_id: int) -> Staffer | None:
    result = await session.execute(
        select(Staffer).where(col(Staffer.org_id) == org_id, col(Staffer.user_id) == user_id)
    )
    return result.scalar_one_or_none()


async def token_by_prefix(session: AsyncSession, prefix: str) -> ApiToken | None:
    result = await session.execute(select(ApiToken).where(col(ApiToken.prefix) == prefix))
    return result.scalar_one_or_none()


async def active_token_by_prefix(session: AsyncSession, prefix: str) -> ApiToken | None:
    result = await session.execute(
        select(ApiToken).where(col(ApiToken.prefix) == prefix, col(ApiToken.revoked_at).is_(None))
    )
    return result.scalar_one_or_none()


async def touch_token(session: AsyncSession, token_id: int, when: datetime | None = None) -> None:
    await session.execute(
        update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=when or utcnow())
    )


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    result = await session.execute(
        select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash).with_for_update()
    )
    return result.scalar_one_or_none()


async def revoke_refresh_family(session: AsyncSession, family: str, when: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family) == family, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=when)
    )


async def one_time_token_by_hash(session: AsyncSession, token_hash: str) -> OneTimeToken | None:
    result = await session.execute(
        select(OneTimeToken).where(col(OneTimeToken.token_hash) == token_hash).with_for_update()
    )
    return result.scalar_one_or_none()


# --- what the mailer reads and writes (sync, in the delivery worker) ---------------------------


def user_email(conn: Connection, user_id: int) -> str | None:
    """The address of an active user (the mailer writes to it; nothing else reads it)."""
    row = conn.execute(
        select(col(User.email)).where(col(User.id) == user_id, col(User.is_active).is_(True))
    ).first()
    return str(row.email) if row is not None else None


def add_one_time_token(
    conn: Connection, user_id: int, purpose: str, token_hash: str, expires_at: datetime
) -> None:
    conn.execute(
        insert(OneTimeToken).values(
            user_id=user_id, purpose=purpose, token_hash=token_hash, expires_at=expires_at
        )
    )
