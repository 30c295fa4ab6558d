"""User login: thin wrappers over orgs.identity.service."""

from __future__ import annotations

from orgs.identity import service
from orgs.identity.access import AccessToken
from resolvers.context import Context


async def login(ctx: Context, email: str, password: str) -> AccessToken | None:
    return await service.login(await ctx.session(), ctx.jwt_keys, email, password)
