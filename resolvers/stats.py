"""Campaign stats: a thin call into orgs/stats."""

from __future__ import annotations

from orgs.stats import service
from orgs.stats.service import CampaignStats
from resolvers.context import Context


async def campaign_stats(ctx: Context, campaign: str) -> CampaignStats | None:
    return await service.campaign_stats(await ctx.session(), ctx.scope, campaign)
