"""API token management: resolve the org by name within the caller's scope, then the service."""

from __future__ import annotations

from datetime import datetime

from orgs.identity.service import IssuedToken
from orgs.models import ApiToken
from orgs.organisations import repository as organisations
from orgs.tokens import service
from orgs.tokens.service import TokenError, TokenErrorCode
from resolvers.context import Context

_NO_ORG = TokenError(("input", "org"), TokenErrorCode.NOT_FOUND, "No such org")


async def _org_id(ctx: Context, org: str) -> int | None:
    row = await organisations.member_org_by_name(await ctx.session(), ctx.scope, org)
    return row.id if row is not None else None


async def api_tokens(ctx: Context, org: str) -> list[ApiToken]:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return []
    return await service.list_tokens(await ctx.session(), ctx.scope, org_id)


async def create_api_token(
    ctx: Context, org: str, name: str, scopes: list[str], expires_at: datetime | None
) -> IssuedToken | TokenError:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return _NO_ORG
    return await service.create(await ctx.session(), ctx.scope, org_id, name, scopes, expires_at)


async def revoke_api_token(ctx: Context, org: str, token_id: int) -> ApiToken | TokenError:
    org_id = await _org_id(ctx, org)
    if org_id is None:
        return service.NOT_FOUND
    return await service.revoke(await ctx.session(), ctx.scope, org_id, token_id)
