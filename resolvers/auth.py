"""User sessions: thin wrappers over orgs.identity.service."""

from __future__ import annotations

from orgs.identity import service
from orgs.identity.service import SessionTokens
from resolvers.context import Context


async def login(ctx: Context, email: str, password: str) -> SessionTokens | None:
    return await service.login(await ctx.session(), ctx.jwt_keys, email, password)


async def refresh_token(ctx: Context, token: str) -> SessionTokens | None:
    return await service.refresh_session(await ctx.session(), ctx.jwt_keys, token)


async def logout(ctx: Context, token: str) -> None:
    await service.logout(await ctx.session(), token)
