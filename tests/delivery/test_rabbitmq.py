"""The broker lane: real RabbitMQ, real `coalition-hub worker` processes, one killed mid-flight."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.delivery.conftest import Rabbit, World
from tests.delivery.receiver import Receiver
from tests.delivery.test_pipeline import until

pytestmark = pytest.mark.rabbitmq

RABBITMQ = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"


def _worker(world: World, broker_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": world.database_url,
        "HUB_BROKER_URL": broker_url,
        "HUB_SECRET_KEY": TEST_SECRET,
        "HUB_DATA_DIR": str(tmp),
        "HUB_ALLOW_PRIVATE_TARGETS": "1",
        "HUB_WORKER_THREADS": "2",
        "HUB_LOG_LEVEL": "warning",
    }
    script = Path(sys.executable).with_name("coalition-hub")
    return subprocess.Popen([str(script), "worker"], env=env)


class TestBrokerLane:
    async def test_a_worker_killed_mid_flight_loses_nothing(
        self, world: World, receiver: Receiver, rabbitmq: Rabbit, tmp_path: Path
    ) -> None:
        # given: twenty signatures and a slow CRM
        receiver.hang_seconds = 0.2
        for i in range(20):
            await world.sign(email=f"s{i}@example.net")
        first = _worker(world, rabbitmq.url, tmp_path)
        try:
            # when the first worker dies (kill -9) while sending
            await until(lambda: _at_least(receiver, 3), within=60)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = _worker(world, rabbitmq.url, tmp_path)
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
