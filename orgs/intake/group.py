"""Group commit: concurrent signatures of one API process written in one transaction.

DESIGN. One transaction per signature costs a commit (a WAL flush) and a round trip each;
under load, requests arrive together anyway. :class:`GroupCommit` gathers the rows that
requests hand it for ``HUB_INTAKE_GROUP_COMMIT_MS`` (or until ``MAX_ROWS`` are waiting) and
writes them with one call of ``intake_write_batch`` (migration 0012) on a connection of its
own, in autocommit mode: the call is the transaction, so a batch is one round trip and one
commit, and each request is answered only once that commit is done.

- Each row runs in its own subtransaction (a plpgsql ``BEGIN ... EXCEPTION`` block): a row
  that fails (a constraint, a deadlock) is rolled back alone and answered with its SQLSTATE
  and constraint name (never a value); the others commit.
- Rows are sent sorted by (campaign, fingerprint), stable, so concurrent batches take the
  supporters' row locks in one order, and the same person twice in a batch is written in
  arrival order (the second is a retry within the window, as if sequential). Counter
  increments are summed over the batch and applied once at its end in (page, metric) order.
- A batch that fails as a whole (connection lost, deadlock on counters, anything) fails
  every request of it with :class:`BatchFailed`: nothing of it was written, and the service
  writes each row again alone on the normal path (the same row: same refs, same flags).
- Only what needs no connection before the write comes here: the widget's signatures on a
  page whose facts are cached, without an Idempotency-Key, a message to targets, or the
  database rate limiter (orgs/intake/service.py ``sign_grouped``). Everything else takes the
  normal path, one transaction per request.

At most ``connections`` batches are in flight per process; while they are, new rows keep
gathering, so batches grow with the load instead of queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import psycopg
import structlog

MAX_ROWS = 64
_CALL = "SELECT CAST(intake_write_batch(CAST(%s AS jsonb)) AS text)"

log = structlog.get_logger(__name__)


class BatchFailed(Exception):
    """The batch's transaction failed as a whole: none of its rows was written."""


def _order(row: dict[str, Any]) -> tuple[int, str]:
    return int(row["campaign_id"]), str(row.get("fingerprint") or "")


class GroupCommit:
    """Gathers ``intake_write_row`` arguments and writes them in batches (module docstring)."""

    def __init__(
        self, url: str, window_ms: float, *, max_rows: int = MAX_ROWS, connections: int = 2
    ) -> None:
        self.url = url
        self.window = window_ms / 1000
        self.max_rows = max_rows
        self.connections = connections
        self._pending: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._wake: asyncio.Event | None = None
        self._full: asyncio.Event | None = None
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any] | None] | None = None
        self._loop: asyncio.Task[None] | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches sent so far (tests, metrics)

    async def write(self, row: dict[str, Any]) -> dict[str, Any]:
        """Write ``row`` in the next batch; its answer once the batch has committed."""
        wake, full = self._start()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        wake.set()
        if len(self._pending) >= self.max_rows:
            full.set()
        return await future

    def _start(self) -> tuple[asyncio.Event, asyncio.Event]:
        if self._wake is None or self._full is None or self._idle is None:
            self._wake, self._full = asyncio.Event(), asyncio.Event()
            self._idle = asyncio.Queue()
            for _ in range(self.connections):
                self._idle.put_nowait(None)  # connected when first used
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._gather())
            self._loop.add_done_callback(self._stopped)
        return self._wake, self._full

    def _stopped(self, task: asyncio.Task[None]) -> None:
        """The gathering loop ended (closed, or a bug): no request waits forever; those
        waiting go to the normal path (the next write starts a new loop)."""
        if not task.cancelled() and task.exception() is not None:
            log.error("intake_group_stopped", error=type(task.exception()).__name__)
        pending, self._pending = self._pending, []
        for _, future in pending:
            if not future.done():
                future.set_exception(BatchFailed())

    async def _gather(self) -> None:
        assert self._wake is not None
        assert self._full is not None
        assert self._idle is not None
        while True:
            await self._wake.wait()
            if len(self._pending) < self.max_rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.window)
            conn = await self._idle.get()  # rows keep gathering while every one is busy
            batch = self._pending[: self.max_rows]
            del self._pending[: self.max_rows]
            if len(self._pending) < self.max_rows:
                self._full.clear()
            if not self._pending:
                self._wake.clear()
            if not batch:
                self._idle.put_nowait(conn)
                continue
            task = asyncio.create_task(self._flush(conn, batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(
        self,
        conn: psycopg.AsyncConnection[Any] | None,
        batch: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]],
    ) -> None:
        assert self._idle is not None
        self.batches += 1
        order = sorted(range(len(batch)), key=lambda i: _order(batch[i][0]))
        try:
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            argument = orjson.dumps([batch[i][0] for i in order]).decode()
            cursor = await conn.execute(_CALL, (argument,), prepare=True)
            found = await cursor.fetchone()
            assert found is not None
            answers: list[dict[str, Any]] = orjson.loads(found[0])
        except Exception as exc:  # nothing of the batch was written: each is retried alone
            log.warning("intake_batch_failed", rows=len(batch), error=type(exc).__name__)
            if conn is not None and (conn.broken or conn.closed):
                await conn.close()
                conn = None
            for _, future in batch:
                if not future.done():
                    future.set_exception(BatchFailed())
            return
        finally:
            self._idle.put_nowait(conn)
        for i, answer in zip(order, answers, strict=True):
            future = batch[i][1]
            if not future.done():  # a request whose client went away: written all the same
                future.set_result(answer)

    async def close(self) -> None:
        """Stop gathering; wait for batches in flight; close the connections."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        for _, future in self._pending:
            if not future.done():
                future.set_exception(BatchFailed())
        self._pending.clear()
        if self._idle is not None:
            while not self._idle.empty():
                conn = self._idle.get_nowait()
                if conn is not None:
                    await conn.close()
