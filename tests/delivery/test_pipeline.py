"""The delivery pipeline end to end: outbox row -> relay -> broker -> actor -> real receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.delivery.conftest import World
from tests.delivery.receiver import Receiver, payload_of
from workers.connectors.webhook import verify
from workers.pipeline import RETRY_SCHEDULE, Outcome
from workers.runtime import DeliveryRuntime


async def until(check: Callable[[], Awaitable[Any]], within: float = 15) -> Any:
    """Poll ``check`` until it returns something truthy (a wait, not a timing assertion)."""
    async with asyncio.timeout(within):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


async def _status(world: World, wanted: str) -> list[dict[str, Any]]:
    rows = await world.deliveries()
    return rows if rows and all(r["status"] == wanted for r in rows) else []


class TestWebhookDelivery:
    async def test_a_signature_reaches_the_webhook_signed_with_consent(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        ref = await world.sign()
        runtime = DeliveryRuntime(world.settings(tmp_path), _sync(world.database_url))
        # when
        runtime.start()
        try:
            await until(lambda: _status(world, "delivered"))
        finally:
            runtime.stop()
        # then
        [request] = receiver.requests
        headers = request.headers
        assert verify(
            world.secret,
            headers["webhook-id"],
            headers["webhook-timestamp"],
            request.body,
            headers["webhook-signature"],
        )
        body = payload_of(request)
        assert body["version"] == 1
        assert body["event"] == "action_created"
        assert body["deliveryId"] == headers["webhook-id"]
        # the org's own reference for the person, never the submission's capability
        assert [body["contact"]["contactRef"]] == await world.contact_refs()
        assert body["contact"]["contactRef"] != ref
        assert body["contact"]["email"] == "ada@example.net"
        assert body["action"]["actionType"] == "petition"
        assert [c["given"] for c in body["consents"]] == [True]

    async def test_a_server_error_is_retried_later(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        receiver.status = 503
        await world.sign()
        runtime = DeliveryRuntime(world.settings(tmp_path), _sync(world.database_url))
        # when
        runtime.start()
        try:
            rows = await until(lambda: _attempted(world))
        finally:
            runtime.stop()
        # then
        [row] = rows
        assert row["status"] == "pending"
        assert row["later"] is True
        assert row["last_error"] == "the webhook answered HTTP 503"

    async def test_a_client_error_fails_at_once(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        receiver.status = 410
        await world.sign()
        runtime = DeliveryRuntime(world.settings(tmp_path), _sync(world.database_url))
        # when
        runtime.start()
        try:
            [row] = await until(lambda: _status(world, "failed"))
        finally:
            runtime.stop()
        # then
        assert row["attempts"] == 1
        assert row["last_error"] == "the webhook answered HTTP 410"

    async def test_private_targets_are_refused_unless_the_operator_allows_them(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        await world.sign()
        settings = world.settings(tmp_path, allow_private_webhooks=False)
        runtime = DeliveryRuntime(settings, _sync(world.database_url))
        # when
        runtime.start()
        try:
            [row] = await until(lambda: _status(world, "failed"))
        finally:
            runtime.stop()
        # then
        assert "private or loopback" in row["last_error"]
        assert receiver.requests == []


class TestPipelineRules:
    async def test_a_later_event_waits_for_an_earlier_one(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: the first delivery is held back (retrying), the second is due
        await world.sign(action={"actionType": "petition"})
        await world.sign(action={"actionType": "share"})
        async with world.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE delivery SET next_attempt_at = now() + interval '1 hour' "
                    "WHERE id = (SELECT min(id) FROM delivery)"
                )
            )
        runtime = DeliveryRuntime(
            world.settings(tmp_path), _sync(world.database_url), relay=False, consume=False
        )
        try:
            later = (await world.deliveries())[1]["id"]
            # when
            outcome = await asyncio.to_thread(runtime.pipeline.process, later, runtime.http)
        finally:
            runtime.stop()
        # then
        assert outcome is Outcome.POSTPONED
        assert receiver.requests == []

    async def test_a_message_delivered_twice_sends_once(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        await world.sign()
        runtime = DeliveryRuntime(
            world.settings(tmp_path), _sync(world.database_url), relay=False, consume=False
        )
        try:
            [row] = await world.deliveries()
            # when
            first = await asyncio.to_thread(runtime.pipeline.process, row["id"], runtime.http)
            second = await asyncio.to_thread(runtime.pipeline.process, row["id"], runtime.http)
        finally:
            runtime.stop()
        # then
        assert (first, second) == (Outcome.DELIVERED, Outcome.SKIPPED)
        assert len(receiver.requests) == 1

    async def test_rows_queued_too_long_are_enqueued_again(
        self, world: World, tmp_path: Path
    ) -> None:
        # given: a row marked queued whose message was lost (a crash before the broker had it)
        await world.sign()
        async with world.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE delivery SET status = 'queued', enqueued_at = now() - interval '1 hour'"
                )
            )
        runtime = DeliveryRuntime(
            world.settings(tmp_path), _sync(world.database_url), consume=False
        )
        sent: list[int] = []
        assert runtime.relay is not None
        runtime.relay.enqueue = sent.append
        try:
            # when
            relayed = await asyncio.to_thread(runtime.relay.relay_once)
        finally:
            runtime.stop()
        # then
        assert relayed == 1
        assert len(sent) == 1

    def test_the_retry_schedule_spans_about_three_days(self) -> None:
        # then
        assert 2.5 * 86400 < sum(RETRY_SCHEDULE) < 3.5 * 86400


async def _attempted(world: World) -> list[dict[str, Any]]:
    rows = await world.deliveries()
    return rows if rows and all(r["attempts"] >= 1 for r in rows) else []


def _sync(url: str) -> str:
    return url


class TestRelayWithoutBroker:
    async def test_rows_go_back_to_pending_when_the_broker_refuses(
        self, world: World, tmp_path: Path
    ) -> None:
        # given
        await world.sign()
        runtime = DeliveryRuntime(
            world.settings(tmp_path), _sync(world.database_url), consume=False
        )
        assert runtime.relay is not None

        def broker_down(delivery_id: int) -> None:
            raise ConnectionError("broker down")

        runtime.relay.enqueue = broker_down
        try:
            # when
            relayed = await asyncio.to_thread(runtime.relay.relay_once)
        finally:
            runtime.stop()
        # then: due again at once, not stuck as queued
        assert relayed == 0
        assert [r["status"] for r in await world.deliveries()] == ["pending"]
