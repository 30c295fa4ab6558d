"""Single sign-on configuration and login-code exchange: wrappers over orgs.identity.sso."""

from __future__ import annotations

from collections.abc import Sequence

from orgs.identity import sso
from orgs.identity.service import SessionTokens
from orgs.organisations import repository as organisations
from permissions.policies import can_manage_staff
from resolvers.context import Context


async def sso_provider(ctx: Context, org: str) -> sso.SsoProvider | None:
    row = await organisations.member_org_by_name(await ctx.session(), ctx.scope, org)
    if row is None or row.id is None or not can_manage_staff(ctx.subject, row.id):
        return None
    return sso.provider_of(row)


async def configure_sso(
    ctx: Context,
    org: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    allowed_domains: Sequence[str],
    return_urls: Sequence[str],
) -> sso.SsoProvider | sso.SsoError:
    session = await ctx.session()
    row = await organisations.member_org_by_name(session, ctx.scope, org)
    if row is None:
        return sso.NOT_FOUND
    return await sso.configure(
        session,
        ctx.scope,
        ctx.keyring,
        row,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        allowed_domains=allowed_domains,
        return_urls=return_urls,
    )


async def remove_sso(ctx: Context, org: str) -> bool | sso.SsoError:
    session = await ctx.session()
    row = await organisations.member_org_by_name(session, ctx.scope, org)
    if row is None:
        return sso.NOT_FOUND
    return await sso.remove(session, ctx.scope, row)


async def complete_sso_login(ctx: Context, code: str) -> SessionTokens | None:
    return await sso.exchange_login_code(await ctx.session(), ctx.jwt_keys, code)
