"""Users, staff and API tokens: creating them and turning credentials into a Subject."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.identity import repository
from orgs.identity.access import AccessToken, JwtKeys, issue_access_token, verify_access_token
from orgs.models import ApiToken, RefreshToken, Staffer, StaffRole, User, utcnow
from permissions.roles import ALL_SCOPES, permissions_for_role, permissions_for_scopes
from permissions.subject import Subject, SubjectKind
from permissions.tokens import generate_token, parse_token, secret_matches

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# last_used_at is written at most this often per token, to keep reads write-free.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


class AuthErrorCode(StrEnum):
    """Codes of logins, sessions and one-time links (exposed as ``AuthErrorCode``)."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    INVALID_LINK = "INVALID_LINK"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"


class IdentityError(ValueError):
    """A user-fixable problem with an identity request (message says what)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


@dataclass(frozen=True)
class CreatedUser:
    user: User
    password: str | None  # the one-time password, when one was generated


async def create_user(
    session: AsyncSession, email: str, org_id: int, role: StaffRole, password: str | None = None
) -> CreatedUser:
    """Create the user if new and make them staff of ``org_id`` with ``role``."""
    generated = None
    user = await repository.user_by_email(session, email)
    if user is None:
        if password is None:
            generated = password = secrets.token_urlsafe(12)
        user = User(email=email, password_hash=hash_password(password))
        session.add(user)
        await session.flush()
    assert user.id is not None
    existing = await repository.staffer(session, org_id, user.id)
    if existing is None:
        session.add(Staffer(org_id=org_id, user_id=user.id, role=role.value))
    else:
        existing.role = role.value
    await session.flush()
    return CreatedUser(user, generated)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


async def issue_token(
    session: AsyncSession,
    org_id: int,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    created_by_user_id: int | None = None,
    seed: str | None = None,
) -> IssuedToken:
    """A new API token (plaintext returned once). With ``seed`` the token is derived from it and
    issued only once: a second call returns the same plaintext without a new row."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise IdentityError(f"unknown scope(s): {', '.join(unknown)}")
    new = generate_token(seed)
    if seed is not None:
        existing = await repository.token_by_prefix(session, new.prefix)
        if existing is not None and existing.revoked_at is not None:
            raise IdentityError(f"the token {name!r} was revoked; it is not issued again")
        if existing is not None:
            return IssuedToken(existing, new.plaintext)
    token = ApiToken(
        org_id=org_id,
        name=name,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_by_user_id=created_by_user_id,
    )
    session.add(token)
    await session.flush()
    return IssuedToken(token, new.plaintext)


async def authenticate_api_token(session: AsyncSession, plaintext: str) -> Subject | None:
    """The subject an API token stands for, or None if unknown, revoked, expired or tampered."""
    parsed = parse_token(plaintext)
    if parsed is None:
        return None
    prefix, secret = parsed
    token = await repository.active_token_by_prefix(session, prefix)
    if token is None or not secret_matches(secret, token.secret_hash):
        return None
    now = utcnow()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    assert token.id is not None
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        await repository.touch_token(session, token.id, now)
    scopes = tuple(token.scopes)
    return Subject(
        kind=SubjectKind.TOKEN,
        token_id=token.id,
        grants={token.org_id: permissions_for_scopes(scopes)},
        scopes=scopes,
    )


async def user_subject(session: AsyncSession, user: User) -> Subject:
    assert user.id is not None
    roles = await repository.staff_roles(session, user.id)
    return Subject(
        kind=SubjectKind.USER,
        user_id=user.id,
        email=user.email,
        grants={org_id: permissions_for_role(role) for org_id, role in roles.items()},
    )


async def authenticate(
    session: AsyncSession, authorization: str | None, jwt_keys: JwtKeys | None = None
) -> Subject | None:
    """The subject behind an ``Authorization: Bearer ...`` header; None when it is invalid.

    API tokens (``chub_at_...``) are looked up by prefix and checked against their hash;
    anything else must be a user access JWT signed with one of ``jwt_keys``. A user's grants
    are re-read from the Staffer table on every call, so removed staff lose access at once.
    """
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    credential = credential.strip()
    if parse_token(credential) is not None:
        return await authenticate_api_token(session, credential)
    if jwt_keys is None:
        return None
    user_id = verify_access_token(jwt_keys, credential)
    if user_id is None:
        return None
    user = await repository.user_by_id(session, user_id)
    if user is None:
        return None
    return await user_subject(session, user)


REFRESH_TOKEN_TTL = timedelta(days=30)


@dataclass(frozen=True)
class SessionTokens:
    access: AccessToken
    refresh_token: str  # opaque; only its SHA-256 is stored


def _refresh_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def issue_session(
    session: AsyncSession, jwt_keys: JwtKeys, user_id: int, family: str | None = None
) -> SessionTokens:
    plaintext = "chub_rt_" + secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            user_id=user_id,
            family=family or secrets.token_hex(16),
            token_hash=_refresh_hash(plaintext),
            expires_at=utcnow() + REFRESH_TOKEN_TTL,
        )
    )
    await session.flush()
    return SessionTokens(issue_access_token(jwt_keys, user_id), plaintext)


async def refresh_session(
    session: AsyncSession, jwt_keys: JwtKeys, refresh_token: str
) -> SessionTokens | None:
    """Rotate a refresh token: a new pair, or None if unknown, expired or revoked.

    Presenting a token that was already used revokes its whole family (it was stolen or
    replayed), so neither the thief nor the user can go on with it.
    """
    row = await repository.refresh_token_by_hash(session, _refresh_hash(refresh_token))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.used_at is not None:
        await repository.revoke_refresh_family(session, row.family, now)
        return None
    if row.expires_at <= now:
        return None
    row.used_at = now
    return await issue_session(session, jwt_keys, row.user_id, row.family)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """Revoke the refresh token's family (unknown tokens are ignored: same answer)."""
    row = await repository.refresh_token_by_hash(session, _refresh_hash(refresh_token))
    if row is not None:
        await repository.revoke_refresh_family(session, row.family, utcnow())


async def login(
    session: AsyncSession, jwt_keys: JwtKeys, email: str, password: str
) -> SessionTokens | None:
    """Tokens for a correct email and password; None otherwise (same answer for both)."""
    user = await repository.user_by_email(session, email.strip())
    if user is None:
        verify_password(password, _DUMMY_HASH)  # spend the same time as for a known email
        return None
    if not verify_password(password, user.password_hash):
        return None
    assert user.id is not None
    return await issue_session(session, jwt_keys, user.id)
