"""Double opt-in and thank-you mails through a real SMTP sink (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import Database
from orgs.models import ConnectorKind, Org
from tests import factories as f
from tests.delivery.conftest import Sink, World
from tests.delivery.receiver import Receiver, payload_of
from tests.delivery.test_pipeline import Outcome, request_connector_test, until
from workers.runtime import DeliveryRuntime


def _parts(message: Message) -> dict[str, str]:
    out = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_subtype()] = payload.decode()
    return out


async def _double_opt_in(world: World) -> None:
    async with world.engine.begin() as conn:
        await conn.execute(text("UPDATE action_page SET double_opt_in = true"))


class TestDoubleOptIn:
    async def test_confirming_releases_the_held_deliveries(
        self,
        world: World,
        receiver: Receiver,
        smtp: tuple[Sink, str],
        tmp_path: Path,
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _double_opt_in(world)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            # when the confirmation mail arrives
            await until(lambda: _has(sink.messages))
            [mail] = sink.messages
            assert receiver.requests == []  # the CRM waits for the answer
            parts = _parts(mail)
            assert mail["To"] == "Ada <ada@example.net>"
            assert set(parts) == {"plain", "html"}
            accept = re.search(r"http://hub\.test(/confirm/\S+accept\S+)", parts["plain"])
            assert accept is not None
            # and the supporter follows the accept link
            app = create_app(settings, Database(url=world.database_url))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
                page = await web.get(accept.group(1))
            assert "Your signature is confirmed." in page.text
            # then the held delivery and the confirmation reach the webhook
            await until(lambda: _has(receiver.requests, 2))
        finally:
            runtime.stop()
        events = sorted(payload_of(r)["event"] for r in receiver.requests)
        assert events == ["action_created", "supporter_confirmed"]

    async def test_it_wasnt_me_erases_the_contact(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _double_opt_in(world)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            await until(lambda: _has(sink.messages))
        finally:
            runtime.stop()
        reject = re.search(
            r"http://hub\.test(/confirm/\S+reject\S+)", _parts(sink.messages[0])["plain"]
        )
        assert reject is not None
        app = create_app(settings, Database(url=world.database_url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
            # when: a mail scanner's GET only asks; the person's POST decides
            asked = await web.get(reject.group(1))
            done = await web.post(reject.group(1))
        # then
        assert "<form" in asked.text
        assert "deleted your details" in done.text
        async with world.engine.connect() as conn:
            contact = (
                await conn.execute(
                    text("SELECT length(payload), disabled_at IS NOT NULL FROM contact")
                )
            ).one()
            statuses = (
                await conn.execute(text("SELECT status FROM delivery ORDER BY id"))
            ).scalars()
            assert tuple(contact) == (0, True)
            assert list(statuses) == ["cancelled", "delivered"]


class TestOrgSmtpConnector:
    async def test_testing_it_logs_in_and_mails_nobody(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given: the org's own mail server
        sink, smtp_url = smtp
        async with AsyncSession(world.engine, expire_on_commit=False) as session:
            org = await session.get(Org, world.org_id)
            assert org is not None
            connector = await f.make_connector(
                session,
                org,
                ConnectorKind.SMTP,
                config={},
                secrets_encrypted=world.keyring.encrypt_json({"url": smtp_url}),
            )
            await session.commit()
        assert connector.id is not None
        settings = world.settings(tmp_path)
        delivery_id = await request_connector_test(world, settings, connector.id)
        runtime = DeliveryRuntime(settings, world.database_url, relay=False, consume=False)
        try:
            # when
            outcome = await asyncio.to_thread(runtime.pipeline.process, delivery_id, runtime.http)
        finally:
            runtime.stop()
        # then
        assert outcome is Outcome.DELIVERED
        assert sink.messages == []


async def _has(items: list[Any], n: int = 1) -> bool:
    return len(items) >= n
