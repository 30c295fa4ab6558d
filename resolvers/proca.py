"""Reads and writes of Proca's dialect (schema/proca.py): the same services as /graphql."""

from __future__ import annotations

from typing import Any

from orgs.campaigns import coalition
from orgs.campaigns.service import campaign_phase
from orgs.intake.repository import Counts
from orgs.models import ActionPage, Campaign, Org
from orgs.pages import repository as pages
from orgs.pages.repository import PublicPage
from orgs.public import service as public_reads
from orgs.public.service import OrgSupporters, PublicAction
from resolvers import public
from resolvers.context import Context

cache_publicly = public.cache_publicly


def is_member(ctx: Context, org_id: int) -> bool:
    return org_id in ctx.scope.member_org_ids()


async def page(
    ctx: Context, page_id: int | None, name: str | None
) -> tuple[PublicPage, bool] | None:
    """(the page and its org, campaign and lead; whether the caller sees the private view):
    its own org's members see their page in any status, anyone else a public page only."""
    if ctx.subject.is_authenticated:
        own = await pages.member_page_view(
            await ctx.session(), ctx.scope, page_id=page_id, name=name
        )
        if own is not None:
            return own, True
    found = await public.action_page(ctx, page_id, name)
    if found is None or campaign_phase(found[2]) in ("draft", "scheduled"):
        return None
    return found, False


async def campaign_counts(ctx: Context, campaign: Campaign) -> Counts:
    if campaign.frozen_counts is not None:
        return Counts(**campaign.frozen_counts["campaign"])
    assert campaign.id is not None
    return await public.campaign_counts(ctx, campaign.id)


async def supporters_by_org(ctx: Context, campaign: Campaign, lead: Org) -> list[OrgSupporters]:
    key = f"proca-by-org:{campaign.id}"
    if key not in ctx.loaders:  # asked by supporterCountByOrg and supporterCountByOthers
        conn = await (await ctx.session()).connection()
        ctx.loaders[key] = await public_reads.supporters_by_org(conn, campaign, lead)
    found: list[OrgSupporters] = ctx.loaders[key]
    return found


async def recent_actions(
    ctx: Context, campaign: Campaign, action_type: str, limit: int
) -> tuple[list[str], list[PublicAction]]:
    conn = await (await ctx.session()).connection()
    return await public_reads.recent_actions(conn, campaign, action_type, limit)


async def own_pages_in(ctx: Context, campaign: Campaign) -> list[tuple[ActionPage, Org]]:
    assert campaign.id is not None
    return await pages.member_pages_in_campaign(await ctx.session(), ctx.scope, campaign.id)


async def update_page(
    ctx: Context, row: ActionPage, *, locale: str | None, proca_config: Any
) -> ActionPage:
    """Save a page's locale and its Proca config (``config.proca``), through the same service
    (and checks) as ``updateActionPage`` on /graphql; the hub widget's keys stay as they are.
    Raises the service's DomainError."""
    config = None if proca_config is None else {**(row.config or {}), "proca": proca_config}
    return await coalition.update_action_page(
        await ctx.session(), ctx.scope, row.name, config=config, locale=locale
    )
