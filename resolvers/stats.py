"""Campaign stats: thin calls into orgs/stats (which decides what each org may see)."""

from __future__ import annotations

from datetime import date

from orgs.stats import service
from orgs.stats.service import StatsView
from resolvers import org as orgs
from resolvers.context import Context


async def stats_view(ctx: Context, campaign: str, org: str | None) -> StatsView | None:
    org_id: int | None = None
    if org is not None:
        row = await orgs.org(ctx, org)
        if row is None:
            return None
        org_id = row.id
    return await service.stats_view(await ctx.session(), ctx.scope, campaign, org_id)


async def totals(ctx: Context, view: StatsView) -> service.Totals:
    return await service.totals(await ctx.session(), view)


async def by_partner_page(ctx: Context, view: StatsView) -> list[tuple[str, str, int]] | None:
    return await service.by_partner_page(await ctx.session(), view)


async def own_breakdown(ctx: Context, view: StatsView) -> dict[str, list[tuple[str | None, int]]]:
    return await service.own_breakdown(await ctx.session(), view)


async def days(
    ctx: Context, view: StatsView, first: date | None, last: date | None
) -> list[service.Day]:
    return await service.days(await ctx.session(), view, first, last)


async def breakdown(
    ctx: Context,
    view: StatsView,
    dimension: service.Breakdown,
    first: date | None,
    last: date | None,
) -> list[tuple[str, int]]:
    return await service.breakdown(await ctx.session(), view, dimension, first, last)


async def pages(
    ctx: Context, view: StatsView, first: date | None, last: date | None
) -> list[service.PageStats]:
    return await service.pages(await ctx.session(), view, first, last)


async def partners(
    ctx: Context, view: StatsView, first: date | None, last: date | None
) -> list[service.PartnerStats] | None:
    return await service.partners(await ctx.session(), view, first, last)


async def referrals(
    ctx: Context, view: StatsView, first: date | None, last: date | None
) -> list[service.Referral]:
    return await service.referrals(await ctx.session(), view, first, last)


async def share_funnel(
    ctx: Context, view: StatsView, first: date | None, last: date | None
) -> list[service.ShareMedium]:
    return await service.share_funnel(await ctx.session(), view, first, last)


async def double_opt_in(ctx: Context, view: StatsView) -> service.DoubleOptIn:
    return await service.double_opt_in(await ctx.session(), view)
