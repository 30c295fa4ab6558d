"""The relay woken by PostgreSQL (LISTEN/NOTIFY) and a connector's deliveries sent in batches."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ConnectorKind, Org
from tests import factories as f
from tests.delivery.conftest import World, whsec
from tests.delivery.receiver import Receiver, payload_of
from tests.delivery.test_pipeline import until
from workers.connectors.transport import GuardedClient
from workers.pipeline import Outcome
from workers.runtime import DeliveryRuntime

NEVER = 3600.0  # a fallback poll no test waits for


async def _delivered(world: World, n: int) -> list[dict[str, Any]]:
    rows = [r for r in await world.deliveries() if r["status"] == "delivered"]
    return rows if len(rows) >= n else []


async def _listeners(world: World) -> list[int]:
    async with world.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN \"delivery_due\"'")
        )
        return [int(r[0]) for r in result]


def _relay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "outbox-relay"]


class TestWakeUp:
    async def test_a_signature_wakes_the_relay_long_before_its_poll(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a relay that would poll once an hour, idle after a first delivery
        settings = world.settings(tmp_path, relay_poll_seconds=NEVER)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            await world.sign(email="first@example.net")
            await until(lambda: _delivered(world, 1), within=60)
            # when
            await world.sign(email="second@example.net")
            # then: the commit's notification woke it
            await until(lambda: _delivered(world, 2), within=60)
        finally:
            await asyncio.to_thread(runtime.stop)
        assert {payload_of(r)["contact"]["email"] for r in receiver.requests} == {
            "first@example.net",
            "second@example.net",
        }
        assert _relay_threads() == []  # stopped, not left waiting for the hour

    async def test_a_retry_falls_due_without_a_notification(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a delivery due in two seconds (as a retry is), nothing to notify about it
        await world.sign()
        await world.execute("UPDATE delivery SET next_attempt_at = now() + interval '2 seconds'")
        settings = world.settings(tmp_path, relay_poll_seconds=NEVER)
        runtime = DeliveryRuntime(settings, world.database_url)
        # when
        runtime.start()
        try:
            # then: the relay slept until it was due
            await until(lambda: _delivered(world, 1), within=60)
        finally:
            await asyncio.to_thread(runtime.stop)
        assert len(receiver.requests) == 1

    async def test_the_relay_listens_again_after_losing_its_connection(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a listening relay whose connection PostgreSQL ends
        settings = world.settings(tmp_path, relay_poll_seconds=NEVER)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            [first] = await until(lambda: _listeners(world), within=60)
            await world.execute("SELECT pg_terminate_backend(:pid)", {"pid": first})

            async def again() -> list[int]:
                return [pid for pid in await _listeners(world) if pid != first]

            await until(again, within=60)
            # when
            await world.sign()
            # then
            await until(lambda: _delivered(world, 1), within=60)
        finally:
            await asyncio.to_thread(runtime.stop)
        assert len(receiver.requests) == 1

    async def test_a_message_with_one_id_is_still_delivered(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a message from before batches (one id), already on the broker
        await world.sign()
        [row] = await world.deliveries()
        runtime = DeliveryRuntime(world.settings(tmp_path), world.database_url, relay=False)
        runtime.start()
        try:
            # when
            runtime.actor.send(row["id"])
            # then
            await until(lambda: _delivered(world, 1), within=60)
        finally:
            await asyncio.to_thread(runtime.stop)
        assert len(receiver.requests) == 1


async def _send_batch(
    world: World, tmp_path: Path, ids: list[int], opened: list[int] | None = None
) -> dict[int, Outcome]:
    """The deliveries ``ids`` sent as one batch by a worker's pipeline (the connections it
    opened appended to ``opened``)."""
    runtime = DeliveryRuntime(
        world.settings(tmp_path), world.database_url, relay=False, consume=False
    )
    http = GuardedClient(runtime.http.guard)
    try:
        return await asyncio.to_thread(runtime.pipeline.process_many, ids, http)
    finally:
        if opened is not None:
            opened.append(http.connections_opened)
        http.close()
        runtime.stop()


class TestBatches:
    async def test_one_failing_delivery_among_many_is_retried_alone(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: twelve signatures, the receiver refusing one of them for now
        emails = [f"s{i}@example.net" for i in range(12)]
        for email in emails:
            await world.sign(email=email)
        receiver.status_by_email = {"s5@example.net": 503}
        ids = [r["id"] for r in await world.deliveries()]
        opened: list[int] = []
        # when: sent as one batch
        outcomes = await _send_batch(world, tmp_path, ids, opened)
        # then
        failing = ids[5]
        assert outcomes[failing] is Outcome.RETRY
        assert {i: o for i, o in outcomes.items() if i != failing} == dict.fromkeys(
            [i for i in ids if i != failing], Outcome.DELIVERED
        )
        rows = {r["id"]: r for r in await world.deliveries()}
        assert (rows[failing]["status"], rows[failing]["later"]) == ("pending", True)
        assert rows[failing]["last_error"] == "the webhook answered HTTP 503"
        assert [payload_of(r)["contact"]["email"] for r in receiver.requests] == emails
        assert opened == [1]  # one kept-alive connection for the batch

    async def test_two_events_of_one_supporter_in_one_batch_keep_their_order(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: one supporter's two actions, batched together
        await world.sign(action={"actionType": "petition"})
        await world.sign(action={"actionType": "share"})
        ids = [r["id"] for r in await world.deliveries()]
        # when
        outcomes = await _send_batch(world, tmp_path, ids)
        # then: both sent, the earlier first
        assert list(outcomes.values()) == [Outcome.DELIVERED, Outcome.DELIVERED]
        types = [payload_of(r)["action"]["actionType"] for r in receiver.requests]
        assert types == ["signature", "share"]

    async def test_a_later_event_waits_when_the_earlier_one_in_its_batch_fails(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: the same, the receiver failing the first for now
        await world.sign(email="ada@example.net", action={"actionType": "petition"})
        await world.sign(email="ada@example.net", action={"actionType": "share"})
        await world.sign(email="bob@example.net")
        receiver.status_by_email = {"ada@example.net": 503}
        ids = [r["id"] for r in await world.deliveries()]
        # when
        outcomes = await _send_batch(world, tmp_path, ids)
        # then: the share waits for the signature; somebody else's delivery goes
        assert [outcomes[i] for i in ids] == [Outcome.RETRY, Outcome.POSTPONED, Outcome.DELIVERED]
        assert [payload_of(r)["contact"]["email"] for r in receiver.requests] == [
            "ada@example.net",
            "bob@example.net",
        ]

    async def test_the_relay_batches_per_connector_and_sends_mails_alone(
        self, world: World, tmp_path: Path
    ) -> None:
        # given: a second connector and thank-you mails, five signatures
        async with AsyncSession(world.engine, expire_on_commit=False) as session:
            org = await session.get(Org, world.org_id)
            assert org is not None
            second = await f.make_connector(
                session,
                org,
                ConnectorKind.WEBHOOK,
                secrets_encrypted=world.keyring.encrypt_json({"secrets": [whsec()]}),
            )
            await session.commit()
        await world.execute("UPDATE action_page SET thank_you_mail = true")
        for i in range(5):
            await world.sign(email=f"s{i}@example.net")
        rows = await world.deliveries()
        runtime = DeliveryRuntime(world.settings(tmp_path), world.database_url, consume=False)
        assert runtime.relay is not None
        runtime.relay.group = 2
        messages: list[list[int]] = []
        runtime.relay.enqueue = lambda i: messages.append([i])
        runtime.relay.enqueue_group = messages.append
        try:
            # when
            relayed = await asyncio.to_thread(runtime.relay.relay_once)
        finally:
            runtime.stop()
        # then: every row once, in messages of one connector (at most two) or one mail
        assert relayed == len(rows) == 15
        assert sorted(i for m in messages for i in m) == [r["id"] for r in rows]
        connector_of = {r["id"]: r["connector_id"] for r in rows}
        by_connector: dict[int | None, list[int]] = {}
        for message in messages:
            [connector] = {connector_of[i] for i in message}
            if connector is None:
                assert len(message) == 1
            by_connector.setdefault(connector, []).append(len(message))
        assert by_connector == {world.connector_id: [2, 2, 1], second.id: [2, 2, 1], None: [1] * 5}
