"""The delivery pipeline end to end: outbox row -> relay -> broker -> actor -> real receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import Database
from hub.settings import Settings
from orgs.models import Org
from tests import factories as f
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


async def _run_until(world: World, settings: Settings, check: Callable[[], Awaitable[Any]]) -> Any:
    """A delivery runtime (relay and workers) running until ``check`` holds; its value."""
    runtime = DeliveryRuntime(settings, world.database_url)
    runtime.start()
    try:
        return await until(check)
    finally:
        runtime.stop()


class TestWebhookDelivery:
    async def test_a_signature_reaches_the_webhook_signed_with_consent(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        ref = await world.sign()
        # when
        await _run_until(world, world.settings(tmp_path), lambda: _status(world, "delivered"))
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
        assert body["action"]["actionType"] == "signature"  # "petition" is an alias
        assert [c["given"] for c in body["consents"]] == [True]

    async def test_a_server_error_is_retried_later(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        receiver.status = 503
        await world.sign()
        # when
        rows = await _run_until(world, world.settings(tmp_path), lambda: _attempted(world))
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
        # when
        [row] = await _run_until(world, world.settings(tmp_path), lambda: _status(world, "failed"))
        # then
        assert row["attempts"] == 1
        assert row["last_error"] == "the webhook answered HTTP 410"

    async def test_private_targets_are_refused_unless_the_operator_allows_them(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        await world.sign()
        settings = world.settings(tmp_path, allow_private_targets=False)
        # when
        [row] = await _run_until(world, settings, lambda: _status(world, "failed"))
        # then
        assert row["last_error"] == "the target is not allowed"
        assert receiver.requests == []

    async def test_a_stored_config_that_fails_its_check_is_never_sent(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: a webhook whose stored config no longer passes the check made when saving
        # (edited in the database, or saved before a rule tightened)
        await world.sign()
        await world.execute(
            "UPDATE connector SET config = CAST(:config AS jsonb) WHERE id = :id",
            {"config": '{"url": "ftp://x"}', "id": world.connector_id},
        )
        # when
        [row] = await _run_until(world, world.settings(tmp_path), lambda: _status(world, "failed"))
        # then: failed once, saying what is wrong without the config's content
        assert row["attempts"] == 1
        assert row["last_error"] == "the webhook connector is not configured correctly"
        assert receiver.requests == []


TEST_CONNECTOR = """
mutation($id: Int!) {
  testConnector(input: {id: $id}) {
    ... on TestConnectorSuccess { delivery { id status } }
  }
}
"""


async def request_connector_test(
    world: World, settings: Settings, connector_id: int | None = None
) -> int:
    """testConnector through the API, committed like a real request; the delivery's id."""
    async with AsyncSession(world.engine, expire_on_commit=False) as session:
        org = await session.get(Org, world.org_id)
        assert org is not None
        _, token = await f.make_token(session, org, ["connectors:write"])
        await session.commit()
    app = create_app(settings, Database(url=world.database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
        response = await web.post(
            "/graphql",
            json={"query": TEST_CONNECTOR, "variables": {"id": connector_id or world.connector_id}},
            headers={"authorization": f"Bearer {token}"},
        )
    delivery = response.json()["data"]["testConnector"]["delivery"]
    assert delivery["status"] == "PENDING"
    return int(delivery["id"])


class TestConnectorTest:
    async def test_the_worker_sends_a_signed_test_event_without_personal_data(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        settings = world.settings(tmp_path)
        delivery_id = await request_connector_test(world, settings)
        assert receiver.requests == []  # nothing was sent by the request
        runtime = DeliveryRuntime(settings, world.database_url, relay=False, consume=False)
        try:
            # when
            outcome = await asyncio.to_thread(runtime.pipeline.process, delivery_id, runtime.http)
        finally:
            runtime.stop()
        # then
        assert outcome is Outcome.DELIVERED
        [request] = receiver.requests
        assert verify(
            world.secret,
            request.headers["webhook-id"],
            request.headers["webhook-timestamp"],
            request.body,
            request.headers["webhook-signature"],
        )
        body = payload_of(request)
        assert body["event"] == "connector_test"
        assert body["deliveryId"].startswith("connector_test:c")
        assert body["contact"]["email"] == "connector-test@example.org"
        assert body["consents"] == []
        assert "action" not in body
        [row] = await world.deliveries()
        assert (row["status"], row["last_error"]) == ("delivered", None)

    async def test_a_refusing_receiver_is_recorded_on_the_test_delivery(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given
        receiver.status = 401
        settings = world.settings(tmp_path)
        delivery_id = await request_connector_test(world, settings)
        runtime = DeliveryRuntime(settings, world.database_url, relay=False, consume=False)
        try:
            # when
            outcome = await asyncio.to_thread(runtime.pipeline.process, delivery_id, runtime.http)
        finally:
            runtime.stop()
        # then
        assert outcome is Outcome.FAILED
        [row] = await world.deliveries()
        assert (row["status"], row["last_error"]) == ("failed", "the webhook answered HTTP 401")

    async def test_a_private_target_fails_saying_only_that_it_is_not_allowed(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: the connector was saved while private targets were allowed
        settings = world.settings(tmp_path, allow_private_targets=False)
        delivery_id = await request_connector_test(world, settings)
        # when: relayed and sent like any delivery
        [row] = await _run_until(world, settings, lambda: _status(world, "failed"))
        # then
        assert row["id"] == delivery_id
        assert row["last_error"] == "the target is not allowed"
        assert receiver.requests == []


class TestPipelineRules:
    async def test_a_later_event_waits_for_an_earlier_one(
        self, world: World, receiver: Receiver, tmp_path: Path
    ) -> None:
        # given: the first delivery is held back (retrying), the second is due
        await world.sign(action={"actionType": "petition"})
        await world.sign(action={"actionType": "share"})
        await world.execute(
            "UPDATE delivery SET next_attempt_at = now() + interval '1 hour' "
            "WHERE id = (SELECT min(id) FROM delivery)"
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
        await world.execute(
            "UPDATE delivery SET status = 'queued', enqueued_at = now() - interval '1 hour'"
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
