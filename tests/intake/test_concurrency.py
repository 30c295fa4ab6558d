"""Concurrent submissions really committing on separate connections."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.abuse import DatabaseLimiter, IntakeLimiter, Limiter
from orgs.intake.repository import campaign_counts
from orgs.intake.service import IntakeOptions, RequestMeta
from tests import factories as f


async def _coalition(engine: AsyncEngine) -> tuple[int, int]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        page = await f.make_page(session, lead, campaign)
        await session.commit()
        assert page.id is not None
        assert campaign.id is not None
        return page.id, campaign.id


def _submission(email: str) -> dict[str, object]:
    return {
        "action": {"actionType": "petition"},
        "contact": {"firstName": "Ada", "email": email, "address": {"country": "FR"}},
        "privacy": {"optIn": True},
    }


async def _sign(engine: AsyncEngine, options: IntakeOptions, page_id: int, email: str) -> str:
    async with engine.begin() as conn:
        receipt = await service.add_action_contact(
            conn, options, page_id, meta=RequestMeta(ip="192.0.2.1"), **_submission(email)
        )
        return receipt.contact_ref


class TestConcurrentSignatures:
    async def test_fifty_parallel_signatures_of_one_person_make_one_supporter(
        self, fresh_database: str, keyring: Keyring
    ) -> None:
        # given: a pool wide enough for real parallelism
        engine = create_async_engine(fresh_database, pool_size=20, max_overflow=40)
        try:
            page_id, campaign_id = await _coalition(engine)
            options = IntakeOptions(keyring=keyring, window_seconds=0)
            # when
            refs = await asyncio.gather(
                *(_sign(engine, options, page_id, "same@example.net") for _ in range(50))
            )
            # then: one person, fifty capabilities (a ref is a submission's, not a person's)
            assert len(set(refs)) == 50
            async with engine.connect() as conn:
                supporters = (await conn.execute(text("SELECT count(*) FROM supporter"))).scalar()
                ranks = (
                    await conn.execute(
                        text("SELECT array_agg(dupe_rank ORDER BY dupe_rank) FROM action")
                    )
                ).scalar()
                counts = await campaign_counts(conn, campaign_id)
            assert supporters == 1
            assert ranks == list(range(50))
            assert counts.supporters == 1
            assert counts.actions == {"signature": 1}  # "petition" is an alias
        finally:
            await engine.dispose()

    async def test_parallel_signatures_of_different_people_are_all_counted(
        self, fresh_database: str, keyring: Keyring
    ) -> None:
        # given
        engine = create_async_engine(fresh_database, pool_size=20, max_overflow=20)
        try:
            page_id, campaign_id = await _coalition(engine)
            options = IntakeOptions(keyring=keyring)
            # when
            await asyncio.gather(
                *(_sign(engine, options, page_id, f"p{i}@example.net") for i in range(40))
            )
            # then
            async with engine.connect() as conn:
                counts = await campaign_counts(conn, campaign_id)
            assert counts.supporters == 40
            assert counts.countries == {"FR": 40}
        finally:
            await engine.dispose()

    async def test_a_burst_of_retries_within_the_window_writes_one_action(
        self, fresh_database: str, keyring: Keyring
    ) -> None:
        # given
        engine = create_async_engine(fresh_database, pool_size=20, max_overflow=20)
        try:
            page_id, _ = await _coalition(engine)
            options = IntakeOptions(keyring=keyring)
            # when
            refs = await asyncio.gather(
                *(_sign(engine, options, page_id, "click@example.net") for _ in range(20))
            )
            # then: every retry answered with a ref of its own, one action written
            assert len(set(refs)) == 20
            async with engine.connect() as conn:
                actions = (await conn.execute(text("SELECT count(*) FROM action"))).scalar()
            assert actions == 1
        finally:
            await engine.dispose()


class TestRateLimits:
    @pytest.mark.parametrize("storage", ["memory", "database"])
    async def test_over_the_limit_is_answered_normally_but_flagged(
        self, storage: str, fresh_database: str, keyring: Keyring
    ) -> None:
        # given: two signatures a minute per address
        engine = create_async_engine(fresh_database)
        try:
            page_id, campaign_id = await _coalition(engine)
            limiter: Limiter = (
                IntakeLimiter("2/minute", "1000/second")
                if storage == "memory"
                else DatabaseLimiter("2/minute", "1000/second")
            )
            options = IntakeOptions(keyring=keyring, limiter=limiter)
            # when
            refs = [await _sign(engine, options, page_id, f"bot{i}@example.net") for i in range(4)]
            # then: same answers, but only two count
            assert len(set(refs)) == 4
            async with engine.connect() as conn:
                flagged = (
                    await conn.execute(text("SELECT array_agg(flagged ORDER BY id) FROM action"))
                ).scalar()
                deliveries = (await conn.execute(text("SELECT count(*) FROM delivery"))).scalar()
                counts = await campaign_counts(conn, campaign_id)
            assert flagged == [None, None, "rate_limit_ip", "rate_limit_ip"]
            assert counts.supporters == 2
            assert deliveries == 0
        finally:
            await engine.dispose()
