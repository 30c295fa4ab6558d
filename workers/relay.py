"""The outbox relay: committed Delivery rows become broker messages carrying only their ids.

Runs inside ``coalition-hub worker`` (and inside ``serve`` in embedded mode). Several relays
may run at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` and committed as queued
before their messages are sent. A message lost between claim and broker (a crash, a broker
outage) is enqueued again once the row has been queued for too long; the actor's row lock
and status check make a duplicate harmless.

The relay sleeps until PostgreSQL notifies that a delivery is due (``LISTEN delivery_due``,
sent at the commit of a signature and wherever rows become due again, migration 0013), until
the earliest pending row is due (retries, drip slots), or at the latest ``poll_seconds``
(rows queued too long, a notification lost with its connection).

Connector deliveries claimed together for one connector travel as one message of up to
``group`` ids (the actor sends them over one kept-alive connection); mails and messages to
targets go one per message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from orgs.models import DeliveryEvent
from orgs.outbox import repository
from orgs.targets import repository as targets
from workers.loop import Loop
from workers.metrics import ENQUEUED
from workers.wakeup import Wakeup

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 600.0
TEST_MESSAGE_TTL = timedelta(days=1)
POLL_SECONDS = 5.0
GROUP = 50
#: the shortest sleep when rows are due but were not claimed (another relay holds them)
MIN_PAUSE_SECONDS = 0.05


class Relay(Loop):
    name = "outbox-relay"

    def __init__(
        self,
        engine: Engine,
        enqueue: Callable[[int], None],
        *,
        enqueue_group: Callable[[list[int]], None] | None = None,
        group: int = GROUP,
        batch: int = 500,
        idle_seconds: float = 0.5,
        poll_seconds: float = POLL_SECONDS,
        listen: bool = True,
        stale_seconds: int = repository.STALE_QUEUED_SECONDS,
        clock: Callable[[], datetime] | None = None,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        # idle_seconds: the pause after an error (the database or the broker down)
        super().__init__(idle_seconds=idle_seconds)
        self.engine = engine
        self.enqueue = enqueue
        # without it every row is its own message
        self.enqueue_group = enqueue_group
        self.group = group
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        # rows are due by this clock (the database's when None); tests of drip sending move it
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self._swept = 0.0
        self.listen = listen
        self._wakeup: Wakeup | None = None  # from start()
        self._pause = idle_seconds
        self._broker_down = False

    def sweep(self) -> int:
        """Housekeeping: test messages to targets are purged after a day (the number)."""
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        with self.engine.begin() as conn:
            return targets.purge_tests(conn, now - TEST_MESSAGE_TTL)

    def messages(self, claimed: Sequence[repository.Claimed]) -> list[list[int]]:
        """The claimed rows as broker messages, in id order of their first rows: a
        connector's deliveries together (at most ``group`` a message), the others alone."""
        if self.enqueue_group is None:
            return [[c.id] for c in claimed]
        out: list[list[int]] = []
        open_groups: dict[int, list[int]] = {}
        for row in claimed:
            if row.connector_id is None or row.event == DeliveryEvent.TARGET_MAIL.value:
                out.append([row.id])
                continue
            current = open_groups.get(row.connector_id)
            if current is None or len(current) >= self.group:
                current = open_groups[row.connector_id] = []
                out.append(current)
            current.append(row.id)
        return out

    def relay_once(self) -> int:
        """Claim due rows, hand them to the broker, commit; the number relayed."""
        self._pause = self.idle_seconds  # unless all goes well below
        if time.monotonic() - self._swept > self.sweep_seconds:
            self._swept = time.monotonic()
            self.sweep()
        now = self.clock() if self.clock is not None else None
        with self.engine.begin() as conn:
            claimed = repository.claim(conn, self.batch, self.stale_seconds, now)
        # Enqueue only after the claim committed: an actor that got the message earlier would
        # find the row locked by this claim and skip it. A crash right here leaves rows
        # queued without a message; they are enqueued again once stale.
        messages = self.messages(claimed)
        unsent: list[int] = []
        for index, ids in enumerate(messages):
            try:
                if len(ids) == 1:
                    self.enqueue(ids[0])
                else:
                    assert self.enqueue_group is not None
                    self.enqueue_group(ids)
            except Exception:  # the broker is down: hand the rest back at once
                unsent = [i for later in messages[index:] for i in later]
                log.warning("relay.broker_unavailable", unsent=len(unsent))
                break
        if unsent:
            with self.engine.begin() as conn:
                repository.release(conn, unsent)
        self._broker_down = bool(unsent)
        relayed = len(claimed) - len(unsent)
        ENQUEUED.inc(relayed)
        if not unsent and len(claimed) < self.batch:
            with self.engine.connect() as conn:
                due = repository.seconds_to_next_due(conn, now)
            pause = self.poll_seconds if due is None else min(self.poll_seconds, due)
            self._pause = max(MIN_PAUSE_SECONDS, pause)
        return relayed

    def once(self) -> bool:
        if self._wakeup is not None:
            self._wakeup.listening()  # before claiming: nothing committed after is missed
        return self.relay_once() >= self.batch

    def pause(self) -> None:
        if self._wakeup is None or self._broker_down:
            # the released rows notify at once: wait for the broker without listening
            self._stop.wait(self._pause)
        else:
            self._wakeup.wait(self._pause)

    def start(self) -> None:
        if self.listen:
            self._wakeup = Wakeup(self.engine, repository.DUE_CHANNEL)
        super().start()

    def interrupt(self) -> None:
        if self._wakeup is not None:
            self._wakeup.interrupt()

    def stop(self) -> None:
        super().stop()
        if self._wakeup is not None:
            self._wakeup.close()
