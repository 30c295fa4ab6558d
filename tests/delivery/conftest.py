"""Delivery fixtures: a committed coalition with a webhook, a receiver, the runtime."""

from __future__ import annotations

import base64
import email
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.delivery import payload as payloads
from orgs.delivery.outbound import OutboundGuard
from orgs.intake import service
from orgs.intake.service import IntakeOptions
from orgs.models import ConnectorKind
from orgs.outbox.repository import DeliveryJob
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.delivery.receiver import Receiver, run_receiver
from tests.servers import free_port
from workers.connectors.transport import GuardedClient


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver()


def stand_in_client() -> GuardedClient:
    """The connectors' HTTP client with private targets allowed, for stand-ins on 127.0.0.1."""
    return GuardedClient(OutboundGuard(allow_private=True))


def connector_test_payload() -> dict[str, Any]:
    """What the worker sends for testConnector (orgs/delivery/payload.py)."""
    job = DeliveryJob(
        id=1,
        org_id=1,
        connector_id=1,
        event="connector_test",
        action_id=None,
        supporter_id=None,
        status="queued",
        attempts=0,
        idempotency_key="connector_test:c1:0123456789abcdef",
    )
    return payloads.connector_test(job, "delta")


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass
class World:
    engine: AsyncEngine
    database_url: str
    keyring: Keyring
    page_id: int
    org_id: int
    connector_id: int
    secret: str

    async def sign(self, email: str = "ada@example.net", **submission: Any) -> str:
        submission.setdefault("action", {"actionType": "petition"})
        submission.setdefault(
            "contact",
            {"firstName": "Ada", "lastName": "L", "email": email, "address": {"country": "FR"}},
        )
        submission.setdefault("privacy", {"optIn": True})
        async with self.engine.begin() as conn:
            receipt = await service.add_action_contact(
                conn, IntakeOptions(keyring=self.keyring), self.page_id, **submission
            )
        return receipt.contact_ref

    async def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """One statement in a committed transaction (a test's setting of the scene)."""
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params or {})

    async def contact_refs(self) -> list[str]:
        """Each Contact row's own reference (what the org's tools know the person by)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(text("SELECT ref FROM contact ORDER BY id"))
            return [str(r[0]) for r in result]

    async def deliveries(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT id, event, status, attempts, last_error, connector_id, "
                    "next_attempt_at > now() AS later FROM delivery ORDER BY id"
                )
            )
            return [dict(r) for r in result.mappings()]

    def settings(self, tmp: Path, **kw: Any) -> Settings:
        return Settings(
            database_url=self.database_url,
            data_dir=tmp,
            secret_key=TEST_SECRET,
            public_url="http://hub.test",
            allow_private_targets=kw.pop("allow_private_targets", True),
            worker_threads=2,
            **kw,
        )


@pytest.fixture
async def world(
    fresh_database: str, fresh_engine: AsyncEngine, keyring: Keyring, receiver: Receiver
) -> AsyncIterator[World]:
    secret = whsec()
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        org = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        page = await f.make_page(session, org, campaign)
        connector = await f.make_connector(
            session,
            org,
            ConnectorKind.WEBHOOK,
            config={"url": receiver.url},
            secrets_encrypted=keyring.encrypt_json({"secrets": [secret]}),
        )
        await session.commit()
    assert page.id
    assert org.id
    assert connector.id
    return World(fresh_engine, fresh_database, keyring, page.id, org.id, connector.id, secret)


RABBITMQ = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"


@dataclass
class Rabbit:
    """A private RabbitMQ node for the broker lane."""

    url: str
    node: str

    def restart(self) -> None:
        """Stop and start the broker application: every client connection is cut.

        On a loaded machine the CLI can fail to reach the node (exit 69) for a moment: each
        step is retried until the node confirms it, so a slow CLI never leaves the broker down
        for the tests after this one. Both steps are idempotent on the node's side.
        """
        self._until("stop_app")
        self.start()

    def start(self) -> None:
        """Start the broker application if it is stopped, and wait until it serves."""
        self._until("start_app")
        self._until("await_startup", "--timeout", "60")

    def _until(self, *step: str) -> None:
        deadline = time.monotonic() + 120
        while (done := self._ctl(*step)).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"rabbitmqctl {step[0]} failed: {done.stderr[-500:]}")
            time.sleep(1)

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args], capture_output=True, text=True, timeout=150
        )


@pytest.fixture
def rabbitmq(rabbitmq_node: Rabbit) -> Rabbit:
    """The session's broker, its application running whatever the test before did to it."""
    rabbitmq_node.start()
    return rabbitmq_node


@pytest.fixture(scope="session")
def rabbitmq_node() -> Iterator[Rabbit]:
    """A private RabbitMQ node on 127.0.0.1 (RECIPES.md), stopped after the session."""
    if not os.path.exists(RABBITMQ):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("rabbitmq-server is not installed (CI=true: the broker lane must run)")
        pytest.skip("rabbitmq-server is not installed (apt-get install -y rabbitmq-server)")
    # the server runs as the rabbitmq user: its directory must be reachable by it, which
    # pytest's private temporary folders are not
    base = Path(tempfile.mkdtemp(prefix="hub-rabbitmq-"))
    shutil.chown(base, "rabbitmq", "rabbitmq")
    port, dist = free_port(), free_port()
    node = f"hub{secrets.token_hex(3)}@localhost"
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
    }
    server = subprocess.Popen(
        [RABBITMQ], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while True:  # the node must register with epmd before the CLI can wait on it
            ready = subprocess.run(
                ["rabbitmqctl", "-n", node, "await_startup", "--timeout", "30"],
                capture_output=True,
                timeout=60,
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"RabbitMQ did not start: {ready.stderr.decode()[-300:]}")
            time.sleep(0.5)
        yield Rabbit(f"amqp://guest:guest@127.0.0.1:{port}/", node)
    finally:
        # the CLI must not see the node's RABBITMQ_* settings (it would bind the dist port)
        subprocess.run(["rabbitmqctl", "-n", node, "stop"], capture_output=True)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout
        if "name " not in names:  # no other node uses it: do not leave epmd behind
            subprocess.run(["epmd", "-kill"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


class Sink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, str]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
