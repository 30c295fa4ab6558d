"""User sessions: thin wrappers over orgs.identity.service."""

from __future__ import annotations

from orgs.identity import links, service
from orgs.identity.links import LinkPurpose
from orgs.identity.service import SessionTokens
from resolvers.context import Context


async def login(ctx: Context, email: str, password: str) -> SessionTokens | None:
    return await service.login(await ctx.session(), ctx.jwt_keys, email, password)


async def refresh_token(ctx: Context, token: str) -> SessionTokens | None:
    return await service.refresh_session(await ctx.session(), ctx.jwt_keys, token)


async def logout(ctx: Context, token: str) -> None:
    await service.logout(await ctx.session(), token)


async def request_password_reset(ctx: Context, email: str) -> None:
    # The link goes out by mail once the delivery outbox exists; never to the caller.
    await links.request_password_reset(await ctx.session(), email)


async def use_link(ctx: Context, token: str, purpose: LinkPurpose, password: str) -> bool:
    session = await ctx.session()
    return await links.use_link(session, token, purpose, password) is not None
