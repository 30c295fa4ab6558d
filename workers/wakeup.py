"""Waiting for a PostgreSQL notification (``LISTEN``), a time limit or a stop, whichever first.

The listening connection is the waiter's own (autocommit, made from the engine's URL and
connect arguments, outside its pool). When it drops (PostgreSQL restarted), the next wait
connects again and returns at once: what was notified meanwhile is unknown, so the caller
looks for work as if notified. While PostgreSQL is unreachable a wait just sleeps.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading

import psycopg
import structlog
from psycopg import sql
from sqlalchemy import Engine

log = structlog.get_logger(__name__)


class Wakeup:
    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._interrupted = threading.Event()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        dialect = self.engine.dialect
        args, kwargs = dialect.create_connect_args(self.engine.url)
        kwargs.setdefault("connect_timeout", 5)
        conn: psycopg.Connection[tuple[object, ...]] = psycopg.connect(
            *args, **kwargs, autocommit=True
        )
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except BaseException:
            conn.close()
            raise
        return conn

    def listening(self) -> bool:
        """Connect and LISTEN now (when not yet); False while PostgreSQL is unreachable."""
        if self._conn is not None and not self._conn.closed:
            return True
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            log.warning("wakeup.unavailable", channel=self.channel, error=type(exc).__name__)
            return False
        return True

    def wait(self, seconds: float) -> None:
        """Return on a notification, after ``seconds``, or on :meth:`interrupt`."""
        if self._interrupted.is_set():
            return
        if self._conn is None or self._conn.closed:
            if self.listening():
                return  # (re)connected: notifications may have been missed meanwhile
            self._sleep(seconds)
            return
        conn = self._conn
        try:
            if conn.fileno() in self._ready([conn.fileno(), self._read], seconds):
                for _ in conn.notifies(timeout=0):  # drain what arrived
                    pass
        except (psycopg.Error, OSError, ValueError) as exc:
            log.warning("wakeup.lost", channel=self.channel, error=type(exc).__name__)
            self._close()
        self._drain_pipe()

    def _sleep(self, seconds: float) -> None:
        self._ready([self._read], seconds)
        self._drain_pipe()

    @staticmethod
    def _ready(fds: list[int], seconds: float) -> set[int]:
        """The descriptors readable within ``seconds`` (poll: no limit on their numbers)."""
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        return {fd for fd, _ in poller.poll(max(0, round(seconds * 1000)))}

    def _drain_pipe(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 64):
                pass

    def interrupt(self) -> None:
        """End the current wait and every later one (the loop is stopping); any thread."""
        self._interrupted.set()
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"x")

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._close()
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
