"""Group commit (orgs/intake/group.py): concurrent signatures written in one transaction,
each row isolated, each request answered after the commit (committed data)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from hub.app import create_app
from hub.db import UnitOfWork
from hub.embedded import libpq_url
from hub.fast_intake import widget_documents
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.group import BatchFailed, GroupCommit
from orgs.intake.pages import PageCache
from orgs.intake.repository import campaign_counts
from orgs.intake.service import IntakeOptions, Receipt, RequestMeta, hash_ref
from orgs.intake.validation import IntakeValidationError
from tests import factories as f


@pytest.fixture
async def engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database, pool_size=20, max_overflow=40)
    yield engine
    await engine.dispose()


@pytest.fixture
async def group(fresh_database: str) -> AsyncIterator[GroupCommit]:
    # a wide window: every signature gathered by one asyncio.gather lands in one batch
    group = GroupCommit(libpq_url(fresh_database), window_ms=50)
    yield group
    await group.close()


async def _campaign(engine: AsyncEngine, pages: int = 1) -> tuple[list[int], int]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        made = [
            await f.make_page(session, lead, campaign, thank_you_mail=True) for _ in range(pages)
        ]
        await session.commit()
        assert campaign.id is not None
        return [p.id for p in made if p.id is not None], campaign.id


async def _cache(engine: AsyncEngine, page_ids: list[int]) -> PageCache:
    """A cache holding the pages (its listener stood in for: nothing invalidates it)."""
    cache = PageCache(max_age=600)
    cache.listening = True
    async with engine.connect() as conn:
        for page_id in page_ids:
            await service.live_page(conn, page_id, cache)
    return cache


def _submission(email: str, **action: Any) -> dict[str, Any]:
    return {
        "action": {"actionType": "petition", **action},
        "contact": {"firstName": "Ada", "email": email, "address": {"country": "FR"}},
        "privacy": {"optIn": True},
    }


def _connect(engine: AsyncEngine) -> Any:
    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[AsyncConnection]:
        async with engine.begin() as conn:
            yield conn

    return connect


async def _grouped(
    group: GroupCommit, engine: AsyncEngine, options: IntakeOptions, page_id: int, email: str
) -> Receipt:
    receipt = await service.sign_grouped(
        group,
        _connect(engine),
        options,
        page_id,
        meta=RequestMeta(ip="192.0.2.1"),
        **_submission(email),
    )
    assert receipt is not None, "the signature took the normal path"
    return receipt


async def _scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


class TestOneBatch:
    async def test_signatures_gathered_are_written_in_one_transaction(
        self, engine: AsyncEngine, group: GroupCommit, keyring: Keyring
    ) -> None:
        # given
        (page_id,), campaign_id = await _campaign(engine)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_id]))
        # when
        receipts = await asyncio.gather(
            *(_grouped(group, engine, options, page_id, f"p{i}@example.net") for i in range(20))
        )
        # then: every row written by one transaction (one now(): its start), each answered
        assert len({r.action_id for r in receipts}) == 20
        assert group.batches == 1
        transactions = await _scalar(engine, "SELECT count(DISTINCT created_at) FROM action")
        assert transactions == 1
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 20
        assert counts.countries == {"FR": 20}
        deliveries = await _scalar(engine, "SELECT count(*) FROM delivery WHERE event LIKE '%mail'")
        assert deliveries == 20  # each one's thank-you mail, planned with it

    async def test_the_same_person_twice_in_a_batch_is_a_retry_as_in_sequence(
        self, engine: AsyncEngine, group: GroupCommit, keyring: Keyring
    ) -> None:
        # given
        (page_id,), campaign_id = await _campaign(engine)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_id]))
        # when
        receipts = await asyncio.gather(
            _grouped(group, engine, options, page_id, "twice@example.net"),
            _grouped(group, engine, options, page_id, "other@example.net"),
            _grouped(group, engine, options, page_id, "twice@example.net"),
        )
        # then: one supporter; the first submission written, the second a retry (nothing)
        assert group.batches == 1
        assert receipts[0].action_id is not None
        assert receipts[2].action_id is None
        assert len({r.contact_ref for r in receipts}) == 3
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 2
        assert await _scalar(engine, "SELECT count(*) FROM action") == 2

    async def test_validation_errors_write_nothing(
        self, engine: AsyncEngine, group: GroupCommit, keyring: Keyring
    ) -> None:
        # given
        (page_id,), _ = await _campaign(engine)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_id]))
        # when
        with pytest.raises(IntakeValidationError):
            await _grouped(group, engine, options, page_id, "not an address")
        # then
        assert group.batches == 0
        assert await _scalar(engine, "SELECT count(*) FROM supporter") == 0


class TestFailureIsolation:
    async def test_a_row_refused_by_a_constraint_fails_alone(
        self, engine: AsyncEngine, group: GroupCommit, keyring: Keyring
    ) -> None:
        # given: page B's cached facts name a delivery partner that no longer exists, so its
        # row's contact copy breaks a foreign key when written
        (page_a, page_b), campaign_id = await _campaign(engine, pages=2)
        cache = await _cache(engine, [page_a, page_b])
        stale = cache.get(page_b)
        assert stale is not None
        cache.put(dataclasses.replace(stale, delivery_org_id=10**12), cache.generation)
        options = IntakeOptions(keyring=keyring, pages=cache)
        # when
        results = await asyncio.gather(
            *(_grouped(group, engine, options, page_a, f"a{i}@example.net") for i in range(5)),
            _grouped(group, engine, options, page_b, "b@example.net"),
            *(_grouped(group, engine, options, page_a, f"c{i}@example.net") for i in range(5)),
            return_exceptions=True,
        )
        # then: ten written in one batch; the bad one answered NOT_RECORDED, nothing of it kept
        assert group.batches == 1
        failed = results[5]
        assert isinstance(failed, IntakeValidationError)
        assert [e.code.value for e in failed.errors] == ["NOT_RECORDED"]
        assert "b@example.net" not in str(failed)
        assert all(isinstance(r, Receipt) and r.action_id for r in results[:5] + results[6:])
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 10
        assert await _scalar(engine, "SELECT count(*) FROM supporter") == 10
        assert await _scalar(engine, "SELECT count(*) FROM contact_ref") == 10

    async def test_a_page_closed_mid_batch_refuses_only_its_rows(
        self, engine: AsyncEngine, group: GroupCommit, keyring: Keyring
    ) -> None:
        # given: page B closed after its facts were cached (no notification reached us)
        (page_a, page_b), campaign_id = await _campaign(engine, pages=2)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_a, page_b]))
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE action_page SET status = 'closed' WHERE id = :id"), {"id": page_b}
            )
        # when
        results = await asyncio.gather(
            _grouped(group, engine, options, page_a, "a1@example.net"),
            _grouped(group, engine, options, page_b, "b@example.net"),
            _grouped(group, engine, options, page_a, "a2@example.net"),
            return_exceptions=True,
        )
        # then
        refused = results[1]
        assert isinstance(refused, IntakeValidationError)
        assert [e.code.value for e in refused.errors] == ["PAGE_CLOSED"]
        assert isinstance(results[0], Receipt)
        assert isinstance(results[2], Receipt)
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 2

    async def test_a_failed_batch_is_written_row_by_row_on_the_normal_path(
        self, engine: AsyncEngine, fresh_database: str, keyring: Keyring
    ) -> None:
        # given: a group whose own connection cannot be made (the whole batch fails)
        broken = GroupCommit(libpq_url(fresh_database) + "_gone", window_ms=50)
        (page_id,), campaign_id = await _campaign(engine)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_id]))
        try:
            # when
            receipts = await asyncio.gather(
                *(_grouped(broken, engine, options, page_id, f"p{i}@example.net") for i in range(6))
            )
        finally:
            await broken.close()
        # then: every signature written once, alone
        assert broken.batches == 1
        assert all(r.action_id is not None for r in receipts)
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 6
        assert await _scalar(engine, "SELECT count(*) FROM action") == 6
        transactions = await _scalar(engine, "SELECT count(DISTINCT created_at) FROM action")
        assert transactions == 6

    async def test_a_batch_whose_answer_was_lost_is_written_again_as_a_retry(
        self, engine: AsyncEngine, fresh_database: str, keyring: Keyring
    ) -> None:
        # given: a group whose batch commits, then its answer is lost on the way back (the
        # connection dropped after COMMIT): every request falls back to writing alone
        class LosesAnswers(GroupCommit):
            async def _flush(self, conn: Any, batch: Any) -> None:
                loop = asyncio.get_running_loop()
                await super()._flush(conn, [(row, loop.create_future()) for row, _ in batch])
                for _, future in batch:
                    future.set_exception(BatchFailed())

        lossy = LosesAnswers(libpq_url(fresh_database), window_ms=50)
        (page_id,), campaign_id = await _campaign(engine)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_id]))
        try:
            # when
            receipts = await asyncio.gather(
                *(_grouped(lossy, engine, options, page_id, f"p{i}@example.net") for i in range(6))
            )
        finally:
            await lossy.close()
        # then: each answered (a retry of what the batch wrote), nothing written twice, and
        # each answer's contactRef is the one the batch issued
        assert lossy.batches == 1
        assert await _scalar(engine, "SELECT count(*) FROM action") == 6
        assert await _scalar(engine, "SELECT count(*) FROM contact_ref") == 6
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
            issued = {
                bytes(h) for (h,) in await conn.execute(text("SELECT ref_hash FROM contact_ref"))
            }
        assert counts.supporters == 6
        assert {hash_ref(r.contact_ref) for r in receipts} == issued


class TestConcurrency:
    async def test_fifty_parallel_signatures_of_one_person_across_both_paths(
        self, engine: AsyncEngine, fresh_database: str, keyring: Keyring
    ) -> None:
        # given: small batches, so several are in flight with one-transaction signatures
        group = GroupCommit(libpq_url(fresh_database), window_ms=1, max_rows=8, connections=3)
        (page_id,), campaign_id = await _campaign(engine)
        options = IntakeOptions(
            keyring=keyring, window_seconds=0, pages=await _cache(engine, [page_id])
        )

        async def alone() -> Receipt:
            async with engine.begin() as conn:
                return await service.add_action_contact(
                    conn, options, page_id, **_submission("same@example.net")
                )

        try:
            # when
            refs = await asyncio.gather(
                *(
                    _grouped(group, engine, options, page_id, "same@example.net")
                    if i % 2
                    else alone()
                    for i in range(50)
                )
            )
        finally:
            await group.close()
        # then: one person, fifty actions ranked in the order they were written
        assert len({r.contact_ref for r in refs}) == 50
        assert await _scalar(engine, "SELECT count(*) FROM supporter") == 1
        ranks = await _scalar(engine, "SELECT array_agg(dupe_rank ORDER BY dupe_rank) FROM action")
        assert ranks == list(range(50))
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 1
        assert counts.actions == {"signature": 1}

    async def test_many_people_in_concurrent_batches_are_all_counted(
        self, engine: AsyncEngine, fresh_database: str, keyring: Keyring
    ) -> None:
        # given
        group = GroupCommit(libpq_url(fresh_database), window_ms=1, max_rows=8, connections=3)
        (page_a, page_b), campaign_id = await _campaign(engine, pages=2)
        options = IntakeOptions(keyring=keyring, pages=await _cache(engine, [page_a, page_b]))
        try:
            # when: the same 30 people on both pages, all at once
            await asyncio.gather(
                *(
                    _grouped(group, engine, options, page, f"p{i}@example.net")
                    for i in range(30)
                    for page in (page_a, page_b)
                )
            )
        finally:
            await group.close()
        # then
        assert group.batches > 1
        async with engine.connect() as conn:
            counts = await campaign_counts(conn, campaign_id)
        assert counts.supporters == 30
        assert counts.countries == {"FR": 30}
        assert await _scalar(engine, "SELECT count(*) FROM action") == 60


class TestThroughTheApp:
    async def test_the_widgets_signature_is_group_committed_and_answers_the_same(
        self, fresh_database: str, settings: Settings
    ) -> None:
        # given: the app with its lifespan (the page listener) and group commit on
        engine = create_async_engine(fresh_database)
        try:
            (page_id,), campaign_id = await _campaign(engine)
            app = create_app(
                settings.model_copy(update={"intake_group_commit_ms": 5.0}),
                uow=UnitOfWork(engine),
            )
            sign = widget_documents()["M_SIGN"]
            async with app.router.lifespan_context(app):
                for _ in range(500):  # the page listener connects (else nothing is cached)
                    if app.state.intake_pages.listening:
                        break
                    await asyncio.sleep(0.01)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:

                    async def post(i: int) -> dict[str, Any]:
                        body = {
                            "query": sign,
                            "variables": {
                                "p": page_id,
                                "a": {"actionType": "petition"},
                                "c": {"email": f"w{i}@example.net", "firstName": "Ada"},
                                "v": {"optIn": True},
                            },
                        }
                        answer = await c.post("/graphql", json=body)
                        return dict(answer.json())

                    first = await post(0)  # loads the page's facts into the cache
                    answers = await asyncio.gather(*(post(i) for i in range(1, 11)))
            # then
            for answer in [first, *answers]:
                data = answer["data"]["addActionContact"]
                assert set(data) == {"contactRef", "referralCode", "mailto"}
            async with engine.connect() as conn:
                counts = await campaign_counts(conn, campaign_id)
                transactions = (
                    await conn.execute(text("SELECT count(DISTINCT created_at) FROM action"))
                ).scalar()
            assert counts.supporters == 11
            assert transactions is not None
            assert transactions < 11
        finally:
            await engine.dispose()
