"""The outbox relay: committed Delivery rows become broker messages carrying only their id.

Runs inside ``coalition-hub worker`` (and inside ``serve`` in embedded mode). Several relays
may run at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and committed as queued
before their messages are sent. A message lost between claim and broker (a crash, a broker
outage) is enqueued again once the row has been queued for too long; the actor's row lock
and status check make a duplicate harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from orgs.outbox import repository
from orgs.targets import repository as targets
from workers.loop import Loop
from workers.metrics import ENQUEUED

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 600.0
TEST_MESSAGE_TTL = timedelta(days=1)


class Relay(Loop):
    name = "outbox-relay"

    def __init__(
        self,
        engine: Engine,
        enqueue: Callable[[int], None],
        *,
        batch: int = 500,
        idle_seconds: float = 0.5,
        stale_seconds: int = repository.STALE_QUEUED_SECONDS,
        clock: Callable[[], datetime] | None = None,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.engine = engine
        self.enqueue = enqueue
        self.batch = batch
        self.stale_seconds = stale_seconds
        # rows are due by this clock (the database's when None); tests of drip sending move it
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self._swept = 0.0

    def sweep(self) -> int:
        """Housekeeping: test messages to targets are purged after a day (the number)."""
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        with self.engine.begin() as conn:
            return targets.purge_tests(conn, now - TEST_MESSAGE_TTL)

    def relay_once(self) -> int:
        """Claim due rows, hand them to the broker, commit; the number relayed."""
        if time.monotonic() - self._swept > self.sweep_seconds:
            self._swept = time.monotonic()
            self.sweep()
        now = self.clock() if self.clock is not None else None
        with self.engine.begin() as conn:
            ids = repository.claim_due(conn, self.batch, self.stale_seconds, now)
        # Enqueue only after the claim committed: an actor that got the message earlier would
        # find the row locked by this claim and skip it. A crash right here leaves rows
        # queued without a message; they are enqueued again once stale.
        unsent: list[int] = []
        for delivery_id in ids:
            try:
                self.enqueue(delivery_id)
            except Exception:  # the broker is down: hand the rest back at once
                unsent = ids[ids.index(delivery_id) :]
                log.warning("relay.broker_unavailable", unsent=len(unsent))
                break
        if unsent:
            with self.engine.begin() as conn:
                repository.release(conn, unsent)
        ENQUEUED.inc(len(ids) - len(unsent))
        return len(ids) - len(unsent)

    def once(self) -> bool:
        return self.relay_once() >= self.batch
