"""API token management: list, create (scopes never beyond the creator's rights), revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.identity.service import IssuedToken, issue_token
from orgs.models import ApiToken, utcnow
from orgs.scoping import Scope
from orgs.tokens import repository
from permissions.policies import can_manage_tokens
from permissions.roles import ALL_SCOPES, permissions_for_scopes


class TokenErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_SCOPE = "UNKNOWN_SCOPE"
    SCOPE_NOT_ALLOWED = "SCOPE_NOT_ALLOWED"
    EXPIRES_IN_PAST = "EXPIRES_IN_PAST"


@dataclass(frozen=True)
class TokenError:
    field: tuple[str, ...]
    code: TokenErrorCode
    message: str


NOT_FOUND = TokenError(("input", "id"), TokenErrorCode.NOT_FOUND, "No such API token")


async def list_tokens(session: AsyncSession, scope: Scope, org_id: int) -> list[ApiToken]:
    if not can_manage_tokens(scope.subject, org_id):
        return []
    return await repository.tokens_of_org(session, scope, org_id)


async def _audit(scope: Scope, session: AsyncSession, token: ApiToken, action: str) -> None:
    await audit.record(
        session,
        scope,
        token.org_id,
        action,
        "api_token",
        token.id,
        {"name": token.name, "scopes": list(token.scopes)},
    )


async def create(
    session: AsyncSession,
    scope: Scope,
    org_id: int,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> IssuedToken | TokenError:
    if not can_manage_tokens(scope.subject, org_id):
        return TokenError(("input", "org"), TokenErrorCode.NOT_FOUND, "No such org")
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        return TokenError(
            ("input", "scopes"),
            TokenErrorCode.UNKNOWN_SCOPE,
            f"Unknown scope(s): {', '.join(unknown)}",
        )
    held = scope.subject.permissions_in(org_id)
    beyond = sorted(s for s in scopes if permissions_for_scopes([s]) not in held)
    if beyond:
        return TokenError(
            ("input", "scopes"),
            TokenErrorCode.SCOPE_NOT_ALLOWED,
            f"You cannot grant scope(s) beyond your own rights: {', '.join(beyond)}",
        )
    if expires_at is not None and expires_at <= utcnow():
        return TokenError(
            ("input", "expiresAt"), TokenErrorCode.EXPIRES_IN_PAST, "Expiry must be in the future"
        )
    issued = await issue_token(
        session, org_id, name, scopes, expires_at, created_by_user_id=scope.subject.user_id
    )
    await _audit(scope, session, issued.token, "api_token.created")
    return issued


async def revoke(
    session: AsyncSession, scope: Scope, org_id: int, token_id: int
) -> ApiToken | TokenError:
    if not can_manage_tokens(scope.subject, org_id):
        return NOT_FOUND
    token = await repository.token_for_update(session, scope, org_id, token_id)
    if token is None or token.revoked_at is not None:
        return NOT_FOUND
    token.revoked_at = utcnow()
    await session.flush()
    await _audit(scope, session, token, "api_token.revoked")
    return token
