"""Reads for an authenticated org member."""

from __future__ import annotations

from orgs.campaigns import repository as campaigns
from orgs.identity import repository as identity
from orgs.models import ActionPage, Campaign, Org, User
from orgs.organisations import repository as organisations
from orgs.pages import repository as pages
from resolvers.context import Context


async def current_user(ctx: Context) -> User | None:
    if ctx.subject.user_id is None:
        return None
    session = await ctx.session()
    return await identity.user_by_id(session, ctx.subject.user_id)


async def org(ctx: Context, name: str) -> Org | None:
    return await organisations.member_org_by_name(await ctx.session(), ctx.scope, name)


async def member_orgs(ctx: Context) -> list[Org]:
    return await organisations.member_orgs(await ctx.session(), ctx.scope)


async def campaigns_of(ctx: Context, org_id: int) -> list[Campaign]:
    return await campaigns.campaigns_of_org(await ctx.session(), ctx.scope, org_id)


async def pages_of(ctx: Context, org_id: int) -> list[ActionPage]:
    return await pages.pages_of_org(await ctx.session(), ctx.scope, org_id)


async def campaign(ctx: Context, campaign_id: int) -> Campaign | None:
    return await campaigns.member_campaign(await ctx.session(), ctx.scope, campaign_id)


async def page(ctx: Context, page_id: int) -> ActionPage | None:
    return await pages.member_page_by_id(await ctx.session(), ctx.scope, page_id)


async def org_name(ctx: Context, org_id: int) -> str:
    """An org's name (public: it prefixes its pages and campaigns), cached for the request."""
    key = f"org-name:{org_id}"
    if key not in ctx.loaders:
        ctx.loaders[key] = await organisations.org_name(await ctx.session(), org_id)
    name: str = ctx.loaders[key]
    return name
