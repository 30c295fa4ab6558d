"""Public (anonymous) reads."""

from __future__ import annotations

from orgs.intake import repository as intake
from orgs.intake.repository import Counts
from orgs.pages import repository as pages
from orgs.pages.repository import PublicPage
from resolvers.context import Context

PUBLIC_MAX_AGE_SECONDS = 10


async def action_page(ctx: Context, page_id: int | None, name: str | None) -> PublicPage | None:
    if page_id is None and name is None:
        return None
    session = await ctx.session()
    return await pages.public_page(session, page_id=page_id, name=name)


async def campaign_counts(ctx: Context, campaign_id: int) -> Counts:
    conn = await (await ctx.session()).connection()
    return await intake.campaign_counts(conn, campaign_id)


async def page_counts(ctx: Context, page_id: int) -> Counts:
    conn = await (await ctx.session()).connection()
    return await intake.page_counts(conn, page_id)


def cache_publicly(ctx: Context) -> None:
    """Let browsers and CDNs keep an anonymous GET read briefly (a viral page's config/count)."""
    request = ctx.request
    if request is None or request.method != "GET" or "authorization" in request.headers:
        return
    headers = getattr(ctx.response, "headers", None)
    if headers is not None:
        headers["cache-control"] = f"public, max-age={PUBLIC_MAX_AGE_SECONDS}"
