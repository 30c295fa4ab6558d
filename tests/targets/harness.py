"""Sending messages to targets for real: committed data, an SMTP sink, a clock the test moves.

The relay and the pipeline run in the test's thread, one step at a time: ``Drip.run`` moves
the clock and lets the relay claim what is due by it, so a day of drip sending takes a
moment and no test sleeps.
"""

from __future__ import annotations

import asyncio
import email
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions, Receipt
from orgs.models import MailToTarget, PartnerRole
from tests import factories as f
from tests.servers import free_port
from workers.mail import Mailer
from workers.pipeline import Pipeline
from workers.relay import Relay

MAIL_FROM = "Coalition Hub <noreply@hub.test>"


class Clock:
    """Now, as the intake, the relay and the workers see it; the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Received:
    message: Message
    recipients: list[str]

    def __getitem__(self, name: str) -> Any:
        return self.message[name]

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode().replace("\r\n", "\n")


class Inbox:
    """An aiosmtpd handler: stores what it accepts, refuses the addresses it is told to."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content)
        self.received.append(Received(parsed, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@dataclass
class Drip:
    engine: AsyncEngine
    sync: Engine
    keyring: Keyring
    clock: Clock
    inbox: Inbox
    campaign_id: int
    page_id: int
    lead_id: int
    pipeline: Pipeline
    relay: Relay
    emails: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def sign(
        self, targets: list[str], email_address: str | None = None, **action: Any
    ) -> Receipt:
        address = email_address or f"signer{next(self.emails)}@example.net"
        custom = action.pop("customFields", {})
        mtt = {
            "subject": "Save the river",
            "body": "Dear {target},\n\nSave it.",
            "targets": targets,
        }
        mtt.update(action.pop("mtt", {}))
        async with self.engine.begin() as conn:
            return await service.add_action_contact(
                conn,
                IntakeOptions(keyring=self.keyring, clock=self.clock),
                self.page_id,
                action={"actionType": "mail2target", "customFields": custom, "mtt": mtt, **action},
                contact={"firstName": "Ada", "lastName": "Lovelace", "email": address},
                privacy={"optIn": True},
            )

    async def configure(self, **changes: Any) -> None:
        async with AsyncSession(self.engine) as session:
            row = await session.get(MailToTarget, self.campaign_id)
            assert row is not None
            for name, value in changes.items():
                setattr(row, name, value)
            await session.commit()

    def drain(self) -> int:
        """Relay what is due by the clock until nothing is left; the number relayed."""
        total = 0
        while relayed := self.relay.relay_once():
            total += relayed
        return total

    def run(self, until: datetime, step: timedelta = timedelta(minutes=1)) -> None:
        """Move the clock to ``until``, relaying what falls due on the way: at most ``step``
        at a time, and straight to the next row due when that comes sooner (the relay
        sleeps until then)."""
        while self.clock.at < until:
            self.drain()
            [row] = self.sql(
                "SELECT min(next_attempt_at) AS due FROM delivery WHERE status = 'pending'"
            )
            due = row["due"]
            later = self.clock.at + step
            if due is not None and self.clock.at < due < later:
                later = due
            self.clock.at = min(until, max(later, self.clock.at + timedelta(milliseconds=500)))
        self.drain()

    def sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self.sync.connect() as conn:
            return [dict(r) for r in conn.execute(text(query), params).mappings()]

    def sql_exec(self, statement: str, **params: Any) -> None:
        with self.sync.begin() as conn:
            conn.execute(text(statement), params)

    def sent_times(self, target: str) -> list[datetime]:
        rows = self.sql(
            "SELECT m.sent_at FROM target_message m JOIN target t ON t.id = m.target_id "
            "WHERE t.external_id = :t AND m.kind = 'send' AND m.sent_at IS NOT NULL "
            "ORDER BY m.sent_at",
            t=target,
        )
        return [r["sent_at"] for r in rows]

    def statuses(self) -> dict[str, int]:
        rows = self.sql(
            "SELECT d.status, count(*) AS n FROM target_message m "
            "JOIN delivery d ON d.id = m.delivery_id GROUP BY d.status"
        )
        return {r["status"]: int(r["n"]) for r in rows}


@pytest.fixture
async def drip(
    fresh_database: str,
    fresh_engine: AsyncEngine,
    keyring: Keyring,
    inbox: tuple[Inbox, str],
) -> AsyncIterator[Drip]:
    handler, smtp_url = inbox
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        lead = await f.make_org(session, title="River Alliance")
        coordinator = await f.make_org(session)
        campaign = await f.make_campaign(session, lead, title="Clean rivers")
        await f.make_partnership(session, campaign, coordinator, role=PartnerRole.COORDINATOR)
        page = await f.make_page(session, lead, campaign, config={"actionType": "mail2target"})
        await f.make_target(session, campaign, "mayor", name="Mayor Ann", locale="en")
        await f.make_target(
            session,
            campaign,
            "board",
            name="Water Board",
            emails=["board@targets.example.org", "chair@targets.example.org"],
        )
        await f.make_target(session, campaign, "minister", name="Minister Bob")
        await f.make_mail_to_target(session, campaign)
        await session.commit()
    assert campaign.id
    assert page.id
    assert lead.id
    sync = create_engine(fresh_database, hide_parameters=True)
    clock = Clock(datetime.fromisoformat("2030-03-04T08:00:00+01:00"))
    mailer = Mailer(
        keyring=keyring, public_url="http://hub.test", mail_from=MAIL_FROM, smtp_url=smtp_url
    )
    pipeline = Pipeline(engine=sync, keyring=keyring, mailer=mailer, clock=clock)
    http = httpx.Client()
    relay = Relay(sync, lambda delivery_id: _process(pipeline, delivery_id, http), clock=clock)
    try:
        yield Drip(
            fresh_engine,
            sync,
            keyring,
            clock,
            handler,
            campaign.id,
            page.id,
            lead.id,
            pipeline,
            relay,
        )
    finally:
        await asyncio.to_thread(http.close)
        sync.dispose()


def _process(pipeline: Pipeline, delivery_id: int, http: httpx.Client) -> None:
    pipeline.process(delivery_id, http)
