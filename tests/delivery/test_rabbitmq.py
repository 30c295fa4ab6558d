"""The broker lane: real RabbitMQ, real `coalition-hub worker` processes, one killed mid-flight."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.delivery.conftest import World
from tests.delivery.receiver import Receiver
from tests.delivery.test_pipeline import until
from tests.servers import free_port

pytestmark = pytest.mark.rabbitmq

RABBITMQ = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"


@pytest.fixture(scope="module")
def rabbitmq() -> Iterator[str]:
    """A private RabbitMQ node on 127.0.0.1 (RECIPES.md), stopped after the module."""
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
        yield f"amqp://guest:guest@127.0.0.1:{port}/"
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


def _worker(world: World, broker_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": world.database_url,
        "HUB_BROKER_URL": broker_url,
        "HUB_SECRET_KEY": TEST_SECRET,
        "HUB_DATA_DIR": str(tmp),
        "HUB_ALLOW_PRIVATE_WEBHOOKS": "1",
        "HUB_WORKER_THREADS": "2",
        "HUB_LOG_LEVEL": "warning",
    }
    script = Path(sys.executable).with_name("coalition-hub")
    return subprocess.Popen([str(script), "worker"], env=env)


class TestBrokerLane:
    async def test_a_worker_killed_mid_flight_loses_nothing(
        self, world: World, receiver: Receiver, rabbitmq: str, tmp_path: Path
    ) -> None:
        # given: twenty signatures and a slow CRM
        receiver.hang_seconds = 0.2
        for i in range(20):
            await world.sign(email=f"s{i}@example.net")
        first = _worker(world, rabbitmq, tmp_path)
        try:
            # when the first worker dies (kill -9) while sending
            await until(lambda: _at_least(receiver, 3), within=60)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = _worker(world, rabbitmq, tmp_path)
            try:
                # then RabbitMQ hands its unacknowledged messages to the second worker
                rows = await until(lambda: _all_delivered(world), within=120)
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0  # a clean stop
        finally:
            if first.poll() is None:
                first.kill()
        assert len(rows) == 20
        received = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(received) == 20  # every delivery arrived
        # at-least-once: an attempt cut by the kill may repeat; receivers dedupe on webhook-id
        assert len(receiver.requests) - 20 <= 2


async def _at_least(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def _all_delivered(world: World) -> list[dict[str, object]]:
    rows = await world.deliveries()
    return rows if rows and all(r["status"] == "delivered" for r in rows) else []
