"""The fault test: signatures of three orgs delivered while everything fails around them.

While two `coalition-hub worker` processes deliver, the broker is restarted twice, a worker is
killed (SIGKILL) three times and PostgreSQL is restarted once. At the end every delivery
reached its org's webhook (at least once; receivers dedupe on ``webhook-id``), no payload
reached an org that was not entitled to it, and the outbox drained. One signature in ten also
writes to two of ten targets (mail to target): every message reached its target's address
through the SMTP sink (at least once; targets' servers dedupe on the Message-ID), and only
the targets it was written to.

CI runs it with ``HUB_FAULT_SIGNATURES`` (default 1,000); the full size is
``HUB_FAULT_SIGNATURES=10000 uv run pytest tests/delivery/test_fault.py``. The time allowed
for draining grows with the size, and the test prints the drain rate it saw.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from hub.embedded import EmbeddedPostgres
from hub.migrate import upgrade
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions
from orgs.models import ConnectorKind
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.delivery.conftest import Rabbit, whsec
from tests.delivery.receiver import Receiver, payload_of
from tests.delivery.test_pipeline import until
from tests.servers import serve_in_thread
from tests.targets.harness import Inbox, inbox

__all__ = ["inbox"]  # the SMTP sink fixture (tests/targets/harness.py)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

SIGNATURES = int(os.environ.get("HUB_FAULT_SIGNATURES", "1000"))
# A stall detector, not a timing assertion: a fixed allowance (restarts, stale re-enqueues)
# plus the size at a conservative 20 signatures a second. The drip to targets alone takes
# SIGNATURES / 50 s (two messages per ten signatures over ten targets, one a second each).
DRAIN_SECONDS = 120 + SIGNATURES / 20


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made = [Receiver(), Receiver(), Receiver()]
    with (
        serve_in_thread(made[0].app(), name="lead-crm") as a,
        serve_in_thread(made[1].app(), name="partner-a-crm") as b,
        serve_in_thread(made[2].app(), name="partner-b-crm") as c,
    ):
        for receiver, url in zip(made, (a, b, c), strict=True):
            receiver.url = f"{url}/hook"
            receiver.hang_seconds = 0.005
        yield made


def _worker(url: str, broker: str, tmp: Path, smtp: str) -> subprocess.Popen[bytes]:
    env = {
        "HUB_SMTP_URL": smtp,
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_BROKER_URL": broker,
        "HUB_SECRET_KEY": TEST_SECRET,
        "HUB_DATA_DIR": str(tmp),
        "HUB_ALLOW_PRIVATE_TARGETS": "1",
        "HUB_WORKER_THREADS": "4",
        "HUB_DELIVERY_REQUEUE_SECONDS": "15",
        "HUB_LOG_LEVEL": "error",
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("coalition-hub")), "worker"], env=env
    )


async def test_deliveries_survive_broker_worker_and_database_faults(
    rabbitmq: Rabbit,
    receivers: list[Receiver],
    keyring: Keyring,
    tmp_path: Path,
    inbox: tuple[Inbox, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink, smtp = inbox
    # given: its own PostgreSQL (it gets restarted), a coalition of three orgs with webhooks
    server = EmbeddedPostgres(tmp_path / "pg")
    url = server.start(owner=True)
    workers: list[subprocess.Popen[bytes]] = []
    engine = create_async_engine(url)
    try:
        await asyncio.to_thread(upgrade, url)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            lead, a, b = [await f.make_org(session) for _ in range(3)]
            campaign = await f.make_campaign(session, lead)
            for org in (a, b):
                await f.make_partnership(session, campaign, org)
            pages = [await f.make_page(session, org, campaign) for org in (lead, a, b)]
            for i in range(10):
                await f.make_target(session, campaign, f"t{i}")
            # the fastest drip (one message a second per target): the test is about loss
            await f.make_mail_to_target(session, campaign, hourly_cap=3600)
            for org, receiver in zip((lead, a, b), receivers, strict=True):
                await f.make_connector(
                    session,
                    org,
                    ConnectorKind.WEBHOOK,
                    config={"url": receiver.url},
                    secrets_encrypted=keyring.encrypt_json({"secrets": [whsec()]}),
                )
            await session.commit()
        names = {lead.id: 0, a.id: 1, b.id: 2}
        entitled: dict[int, set[str]] = {0: set(), 1: set(), 2: set()}
        rng = random.Random(7)
        options = IntakeOptions(keyring=keyring)
        for n in range(SIGNATURES):
            page = rng.choice(pages)
            lead_opt_in = rng.random() < 0.5
            email = f"s{n}@example.net"
            action: dict[str, Any] = {"actionType": "petition"}
            if n % 10 == 0:
                chosen = rng.sample(range(10), 2)
                action = {
                    "actionType": "mail2target",
                    "mtt": {"subject": "S", "body": "B", "targets": [f"t{i}" for i in chosen]},
                }
            async with engine.begin() as conn:
                await service.add_action_contact(
                    conn,
                    options,
                    page.id or 0,
                    action=action,
                    contact={"firstName": "S", "email": email},
                    privacy={"optIn": True, "leadOptIn": lead_opt_in},
                )
            entitled[names[page.org_id]].add(email)
            if lead_opt_in or page.org_id == lead.id:
                entitled[0].add(email)
        async with engine.connect() as conn:
            expected = {
                row.idempotency_key: names[row.org_id]
                for row in await conn.execute(
                    text(
                        "SELECT idempotency_key, org_id FROM delivery WHERE event <> 'target_mail'"
                    )
                )
            }
            to_targets = {
                row.message_token: f"{row.external_id}@targets.example.org"
                for row in await conn.execute(
                    text(
                        "SELECT m.message_token, t.external_id FROM target_message m "
                        "JOIN target t ON t.id = m.target_id"
                    )
                )
            }
        assert len(to_targets) == 2 * len(range(0, SIGNATURES, 10))
        await engine.dispose()

        # when: deliveries run while the faults happen
        started = time.monotonic()
        workers = [_worker(url, rabbitmq.url, tmp_path, smtp) for _ in range(2)]

        async def kill_and_replace(index: int) -> None:
            workers[index].send_signal(signal.SIGKILL)
            await asyncio.to_thread(workers[index].wait, 10)
            workers[index] = _worker(url, rabbitmq.url, tmp_path, smtp)

        async def received() -> int:
            return sum(len(r.requests) for r in receivers)

        await until(lambda: _at_least(received, max(10, SIGNATURES // 20)), within=60)
        await kill_and_replace(0)
        await asyncio.to_thread(rabbitmq.restart)
        await asyncio.sleep(1)
        await kill_and_replace(1)
        await asyncio.to_thread(server.restart)
        await asyncio.to_thread(rabbitmq.restart)
        await kill_and_replace(0)

        # then: the outbox drains
        engine = create_async_engine(url)

        async def left() -> int:
            async with engine.connect() as conn:
                result = await conn.execute(
                    text("SELECT count(*) FROM delivery WHERE status <> 'delivered'")
                )
                return int(result.scalar_one())

        faults_over, left_then = time.monotonic(), await left()

        async def drained() -> bool:
            return await left() == 0

        await until(drained, within=DRAIN_SECONDS)
        done = time.monotonic()
        total = len(expected) + len(to_targets)
        with capsys.disabled():
            print(
                f"\nfault test, {SIGNATURES} signatures: {total} deliveries drained in"
                f" {done - started:.0f} s ({total / (done - started):.0f}/s overall);"
                f" the {left_then} left after the faults in {done - faults_over:.0f} s"
                f" ({left_then / max(done - faults_over, 0.001):.0f}/s); allowed"
                f" {DRAIN_SECONDS:.0f} s"
            )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        await engine.dispose()
        server.stop()

    for index, receiver in enumerate(receivers):
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert ids == {k for k, v in expected.items() if v == index}, f"org {index}"
        emails = {payload_of(r)["contact"]["email"] for r in receiver.requests}
        assert emails == entitled[index], f"org {index} got someone it was not entitled to"
    sent = {_token(r["Message-ID"]): r.recipients for r in sink.received}
    assert set(sent) == set(to_targets)
    assert all(sent[token] == [address] for token, address in to_targets.items())


def _token(message_id: str) -> str:
    return message_id.split("mtt.", 1)[1].split("@", 1)[0]


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)
