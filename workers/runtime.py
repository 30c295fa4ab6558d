"""The delivery runtime: outbox relay + Dramatiq worker + the stats roll-up, in ``worker``
or inside ``serve``.

Brokers: RabbitMQ when ``HUB_BROKER_URL`` is ``amqp://...`` (publisher confirms on, so a
message the relay committed as queued is on the broker's disk), else Dramatiq's in-process
broker (embedded mode: one process runs the API, the relay and the worker threads).
Messages carry only delivery ids (one, or a list: a batch of one connector's deliveries);
everything else is read from the database.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dramatiq
import httpx
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import Engine, create_engine

from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.delivery.outbound import OutboundGuard
from workers.connectors.transport import GuardedClient
from workers.mail import Mailer
from workers.pipeline import Pipeline
from workers.relay import Relay
from workers.rollup import Rollup

# connector modules register themselves on import
from workers.connectors import webhook  # noqa: F401  isort: skip

log = structlog.get_logger(__name__)

QUEUE = "deliveries"
ACTOR_TIME_LIMIT_MS = 120_000
LIVENESS_FILE = Path("/tmp/coalition-hub-worker.alive")  # noqa: S108 - docker healthcheck


def make_broker(broker_url: str | None) -> dramatiq.Broker:
    if broker_url and broker_url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=broker_url, confirm_delivery=True)
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


class DeliveryRuntime:
    """Relay and worker threads sharing one broker, one engine and one HTTP client."""

    def __init__(
        self,
        settings: Settings,
        database_url: str,
        *,
        relay: bool = True,
        consume: bool = True,
        liveness_file: Path | None = None,
    ) -> None:
        self.settings = settings
        self.engine: Engine = create_engine(
            database_url,
            pool_size=settings.worker_threads + 2,
            pool_pre_ping=True,
            hide_parameters=True,
        )
        keyring = Keyring(settings.resolved_secret_key())
        # one outbound guard for every connector and every org's mail server
        guard = OutboundGuard(allow_private=settings.allow_private_targets)
        self.pipeline = Pipeline(
            engine=self.engine,
            keyring=keyring,
            mailer=Mailer(
                keyring=keyring,
                public_url=settings.public_url,
                mail_from=settings.mail_from,
                smtp_url=settings.smtp_url,
                guard=guard,
            ),
        )
        self.http: httpx.Client = GuardedClient(guard)
        self.broker = make_broker(settings.broker_url)
        self.actor: dramatiq.Actor[[int | list[int]], None] = dramatiq.Actor(
            self._deliver,
            broker=self.broker,
            actor_name="deliver",
            queue_name=QUEUE,
            priority=0,
            # the pipeline records delivery failures itself; an exception here is the
            # database or broker going away mid-attempt: try the message again shortly
            options={
                "max_retries": 20,
                "min_backoff": 1_000,
                "max_backoff": 15_000,
                "time_limit": ACTOR_TIME_LIMIT_MS,
            },
        )
        self.relay = (
            Relay(
                self.engine,
                self._enqueue,
                enqueue_group=self._enqueue,
                stale_seconds=settings.delivery_requeue_seconds,
                poll_seconds=settings.relay_poll_seconds,
            )
            if relay
            else None
        )
        # the dashboard's aggregates, summed where the outbox is relayed
        self.rollup = Rollup(self.engine) if relay else None
        self.worker = (
            dramatiq.Worker(self.broker, worker_threads=settings.worker_threads)
            if consume
            else None
        )
        self.liveness_file = liveness_file
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _deliver(self, ids: int | list[int]) -> None:
        # a message carries one id (mails, messages to targets, and every message enqueued
        # before batches existed) or a connector's batch
        outcomes = self.pipeline.process_many([ids] if isinstance(ids, int) else ids, self.http)
        log.debug("delivery.attempts", outcomes={i: o.value for i, o in outcomes.items()})

    def _enqueue(self, ids: int | list[int]) -> None:
        self.actor.send(ids)

    def _beat(self) -> None:
        assert self.liveness_file is not None
        while not self._stop.is_set():
            self.liveness_file.touch()
            self._stop.wait(10)

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()
        if self.relay is not None:
            self.relay.start()
        if self.rollup is not None:
            self.rollup.start()
        if self.liveness_file is not None:
            self._heartbeat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
            self._heartbeat.start()
        log.info("delivery.started", broker=type(self.broker).__name__)

    def stop(self) -> None:
        """Stop taking new work, let running attempts finish, close connections."""
        self._stop.set()
        if self.relay is not None:
            self.relay.stop()
        if self.rollup is not None:
            self.rollup.stop()
        if self.worker is not None:
            self.worker.stop(timeout=30_000)
        self.broker.close()
        self.http.close()
        self.engine.dispose()
        if self.liveness_file is not None:
            self.liveness_file.unlink(missing_ok=True)
        log.info("delivery.stopped")
