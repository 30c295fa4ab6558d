"""The dashboard's roll-up: new actions summed into ``stat_rollup`` (orgs/stats/repository.py).

Runs beside the outbox relay in ``coalition-hub worker`` (and in ``serve`` in embedded
mode). One roll-up at a time across processes (an advisory lock); a batch each second
while idle, back to back while actions wait. Breakdowns stay exact while it lags: they add
the actions it has not reached yet.
"""

from __future__ import annotations

from sqlalchemy import Engine

from orgs.stats import repository
from workers.loop import Loop
from workers.metrics import ROLLED_UP


class Rollup(Loop):
    name = "stats-rollup"

    def __init__(
        self, engine: Engine, *, batch: int = repository.ROLL_UP_BATCH, idle_seconds: float = 1.0
    ) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.engine = engine
        self.batch = batch

    def roll_up_once(self) -> int:
        with self.engine.begin() as conn:
            done = repository.roll_up(conn, self.batch)
        ROLLED_UP.inc(done)
        return done

    def once(self) -> bool:
        return self.roll_up_once() >= self.batch
