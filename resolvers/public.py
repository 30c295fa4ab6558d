"""Public (anonymous) reads."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from orgs.intake import repository as intake
from orgs.intake.repository import Counts
from orgs.pages import repository as pages
from orgs.pages.repository import PublicPage
from resolvers.context import Context

PUBLIC_MAX_AGE_SECONDS = 10

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """A small per-process cache of public reads (no personal data is ever put in it)."""

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._items: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, ttl: float, load: Callable[[], Awaitable[V]]) -> V:
        if ttl <= 0:
            return await load()
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        if len(self._items) >= self.maxsize:
            self._items.clear()
        self._items[key] = (now + ttl, value)
        return value


_PAGES: TtlCache[tuple[int | None, str | None], PublicPage | None] = TtlCache()
_COUNTS: TtlCache[tuple[str, int], Counts] = TtlCache()


async def action_page(ctx: Context, page_id: int | None, name: str | None) -> PublicPage | None:
    if page_id is None and name is None:
        return None

    async def load() -> PublicPage | None:
        session = await ctx.session()
        return await pages.public_page(session, page_id=page_id, name=name)

    return await _PAGES.get((page_id, name), ctx.settings.public_cache_seconds, load)


async def campaign_counts(ctx: Context, campaign_id: int) -> Counts:
    async def load() -> Counts:
        conn = await (await ctx.session()).connection()
        return await intake.campaign_counts(conn, campaign_id)

    return await _COUNTS.get(("campaign", campaign_id), ctx.settings.public_cache_seconds, load)


async def page_counts(ctx: Context, page_id: int) -> Counts:
    async def load() -> Counts:
        conn = await (await ctx.session()).connection()
        return await intake.page_counts(conn, page_id)

    return await _COUNTS.get(("page", page_id), ctx.settings.public_cache_seconds, load)


def cache_publicly(ctx: Context) -> None:
    """Let browsers and CDNs keep an anonymous GET read briefly (a viral page's config/count)."""
    request = ctx.request
    if request is None or request.method != "GET" or "authorization" in request.headers:
        return
    headers = getattr(ctx.response, "headers", None)
    if headers is not None:
        headers["cache-control"] = f"public, max-age={PUBLIC_MAX_AGE_SECONDS}"
