"""The pages' intake facts cached per process, invalidated by LISTEN/NOTIFY (committed data)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from hub.embedded import libpq_url
from orgs.crypto import Keyring
from orgs.intake import pages, service
from orgs.intake.pages import PageCache
from orgs.intake.repository import campaign_counts
from orgs.intake.service import IntakeOptions, live_page
from orgs.intake.validation import IntakeValidationError
from orgs.models import Campaign
from tests import factories as f


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for an asynchronous effect (a notification); fail after a generous bound."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the expected change never arrived")


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database)
    yield engine
    await engine.dispose()


@pytest.fixture
async def cache(fresh_database: str) -> AsyncIterator[PageCache]:
    cache = PageCache(max_age=600)
    task = asyncio.create_task(pages.listen(cache, libpq_url(fresh_database)))
    await _until(lambda: cache.listening)
    yield cache
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _page(engine: AsyncEngine) -> tuple[int, int, int]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign)
        await session.commit()
        assert page.id is not None
        assert campaign.id is not None
        assert lead.id is not None
        return page.id, campaign.id, lead.id


async def _load(engine: AsyncEngine, cache: PageCache, page_id: int) -> None:
    async with engine.connect() as conn:
        await live_page(conn, page_id, cache)


async def _cached(engine: AsyncEngine, cache: PageCache, page_id: int) -> None:
    """Load until kept: a load racing the notifications of the page's creation is not."""
    for _ in range(100):
        await _load(engine, cache, page_id)
        if cache.get(page_id) is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never kept")


async def _run(engine: AsyncEngine, sql: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


class TestInvalidation:
    async def test_a_live_page_is_kept_and_dropped_when_it_changes(
        self, engine: AsyncEngine, cache: PageCache
    ) -> None:
        # given
        page_id, _, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        cached = cache.get(page_id)
        assert cached is not None
        assert not cached.double_opt_in
        # when
        await _run(engine, "UPDATE action_page SET double_opt_in = true WHERE id = :id", id=page_id)
        # then: dropped, and the next load sees the change
        await _until(lambda: cache.get(page_id) is None)
        await _cached(engine, cache, page_id)
        again = cache.get(page_id)
        assert again is not None
        assert again.double_opt_in

    @pytest.mark.parametrize(
        "change",
        [
            "UPDATE campaign SET title = 'x' WHERE id = :campaign",
            "UPDATE org SET settings = '{\"doubleOptIn\": true}' WHERE id = :org",
        ],
    )
    async def test_its_campaign_or_org_changing_drops_it(
        self, engine: AsyncEngine, cache: PageCache, change: str
    ) -> None:
        # given
        page_id, campaign_id, org_id = await _page(engine)
        await _cached(engine, cache, page_id)
        # when
        await _run(engine, change, campaign=campaign_id, org=org_id)
        # then
        await _until(lambda: cache.get(page_id) is None)

    async def test_a_new_partnership_drops_the_campaigns_pages(
        self, engine: AsyncEngine, cache: PageCache
    ) -> None:
        # given
        page_id, campaign_id, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        # when: a delivery partner joins (who receives copies changes)
        async with AsyncSession(engine) as session:
            campaign = await session.get(Campaign, campaign_id)
            assert campaign is not None
            partner = await f.make_org(session)
            await f.make_partnership(session, campaign, partner, delivery=True)
            await session.commit()
        # then
        await _until(lambda: cache.get(page_id) is None)

    async def test_a_closed_page_is_not_kept(self, engine: AsyncEngine, cache: PageCache) -> None:
        # given
        page_id, _, _ = await _page(engine)
        await _run(engine, "UPDATE action_page SET status = 'closed' WHERE id = :id", id=page_id)
        await _until(lambda: cache.generation > 0)
        # when
        with pytest.raises(Exception, match="closed"):
            await _load(engine, cache, page_id)
        # then
        assert cache.get(page_id) is None


class TestListener:
    async def test_nothing_is_served_without_a_listener(self, engine: AsyncEngine) -> None:
        # given: a cache whose listener never ran (it would miss every change)
        cache = PageCache(max_age=600)
        page_id, _, _ = await _page(engine)
        # when
        await _load(engine, cache, page_id)
        # then
        assert cache.get(page_id) is None

    async def test_a_dropped_listener_reconnects_and_starts_afresh(
        self, engine: AsyncEngine, cache: PageCache
    ) -> None:
        # given
        page_id, _, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        generation = cache.generation
        # when: the server drops the listening connection
        await _run(
            engine,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query = 'LISTEN intake_page'",
        )
        # then: cleared, listening again, and caching again
        await _until(lambda: cache.generation > generation and cache.listening)
        assert cache.get(page_id) is None
        await _cached(engine, cache, page_id)


def _signature(email: str) -> dict[str, object]:
    return {
        "action": {"actionType": "petition"},
        "contact": {"firstName": "Ada", "email": email, "address": {"country": "FR"}},
        "privacy": {"optIn": True},
    }


class TestWritesWithACachedPage:
    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ("UPDATE action_page SET status = 'closed' WHERE id = :page", "PAGE_CLOSED"),
            ("UPDATE action_page SET status = 'paused' WHERE id = :page", "PAGE_NOT_FOUND"),
            ("UPDATE campaign SET status = 'closed' WHERE id = :campaign", "PAGE_CLOSED"),
            ("UPDATE campaign SET ends_at = now() WHERE id = :campaign", "PAGE_CLOSED"),
        ],
    )
    async def test_a_page_closed_a_moment_ago_is_refused_at_once(
        self, engine: AsyncEngine, cache: PageCache, keyring: Keyring, change: str, code: str
    ) -> None:
        # given: the page's facts cached, and its listener held up (no notification yet)
        page_id, campaign_id, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        options = IntakeOptions(keyring=keyring, pages=cache)
        cache.invalidate = lambda payload: None  # type: ignore[method-assign]
        await _run(engine, change, page=page_id, campaign=campaign_id)
        assert cache.get(page_id) is not None
        # when
        with pytest.raises(IntakeValidationError) as refused:
            async with engine.begin() as conn:
                await service.add_action_contact(
                    conn, options, page_id, **_signature("late@example.net")
                )
        # then: refused with the error of a fresh load, nothing written, the copy dropped
        assert [e.code.value for e in refused.value.errors] == [code]
        async with engine.connect() as conn:
            written = (await conn.execute(text("SELECT count(*) FROM supporter"))).scalar()
        assert written == 0
        assert cache.get(page_id) is None

    async def test_signatures_on_a_cached_page_are_written(
        self, engine: AsyncEngine, cache: PageCache, keyring: Keyring
    ) -> None:
        # given
        page_id, campaign_id, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        options = IntakeOptions(keyring=keyring, pages=cache)
        # when
        for i in range(3):
            async with engine.begin() as conn:
                await service.add_action_contact(
                    conn, options, page_id, **_signature(f"s{i}@example.net")
                )
        # then
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 3

    async def test_stale_facts_of_a_live_page_are_read_again_and_the_signature_written(
        self, engine: AsyncEngine, cache: PageCache, keyring: Keyring
    ) -> None:
        # given: the cached copy names an org the page no longer belongs to (a missed change)
        page_id, _, _ = await _page(engine)
        await _cached(engine, cache, page_id)
        cached = cache.get(page_id)
        assert cached is not None
        cache.invalidate = lambda payload: None  # type: ignore[method-assign]
        cache.put(dataclasses.replace(cached, org_id=cached.org_id + 10**9), cache.generation)
        options = IntakeOptions(keyring=keyring, pages=cache)
        # when
        async with engine.begin() as conn:
            receipt = await service.add_action_contact(
                conn, options, page_id, **_signature("moved@example.net")
            )
        # then: written once, for the page's real org
        assert receipt.action_id is not None
        async with engine.connect() as conn:
            orgs = (await conn.execute(text("SELECT array_agg(org_id) FROM action"))).scalar()
        assert orgs == [cached.org_id]
