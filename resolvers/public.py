"""Public (anonymous) reads."""

from __future__ import annotations

from orgs.pages import repository as pages
from orgs.pages.repository import PublicPage
from resolvers.context import Context


async def action_page(ctx: Context, page_id: int | None, name: str | None) -> PublicPage | None:
    if page_id is None and name is None:
        return None
    session = await ctx.session()
    return await pages.public_page(session, page_id=page_id, name=name)
