"""The database engine: one async SQLAlchemy engine (psycopg 3) per process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncResult,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.asyncio.base import asyncstartablecontext
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from hub.embedded import EmbeddedPostgres, libpq_url, sqlalchemy_url
from hub.errors import ConfigurationError
from hub.settings import Settings


@dataclass
class Database:
    """Where the hub's data lives: a URL, and the embedded server when the hub runs one."""

    url: str
    embedded: EmbeddedPostgres | None = None
    _engine: AsyncEngine | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, owner: bool = False) -> Database:
        if settings.database_url:
            return cls(url=sqlalchemy_url(settings.database_url))
        server = EmbeddedPostgres(settings.data_dir)
        return cls(url=server.start(owner=owner), embedded=server)

    @property
    def libpq_url(self) -> str:
        return libpq_url(self.url)

    def check_reachable(self) -> None:
        """Fail with one clear line when the database cannot be reached."""
        try:
            with psycopg.connect(self.libpq_url, connect_timeout=5):
                pass
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no answer"
            raise ConfigurationError(f"database unreachable: {reason}") from exc

    def engine(self, pool_size: int = 10) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=1800,
                # SQL errors and logs must not carry the values bound (personal data)
                hide_parameters=True,
            )
        return self._engine

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


T = TypeVar("T")


class _Serial:
    """One database call at a time for everything that shares one session.

    A call runs in its own task, shielded from the caller's cancellation, and the lock is
    released only when that task has settled: graphql-core cancels sibling resolvers when a
    non-null field fails, and SQLAlchemy invalidates a connection whose statement is
    cancelled half-way, losing the request's transaction for every other resolver. The caller
    still sees its cancellation at once; the next caller, and the end of the request, wait
    for the statement.

    Nothing holding the lock ever waits for anything but the database, so no two callers
    can wait for each other: a resolver awaiting a dataloader holds no lock while it waits.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.ended = False
        self.on_release: Callable[[], None] | None = None

    @property
    def busy(self) -> bool:
        return self.lock.locked()

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        await self.lock.acquire()
        try:
            if self.ended:
                raise InvalidRequestError("the request's session has ended (commit or rollback)")
            task = asyncio.ensure_future(call())
        except BaseException:
            self._release()
            raise
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        if not task.cancelled():
            task.exception()  # the caller may be gone (cancelled); it was seen here
        self._release()

    def _release(self) -> None:
        try:
            if self.on_release is not None:
                self.on_release()
        finally:
            self.lock.release()


class SerialSession(AsyncSession):
    """The request's session, shared by every resolver of one GraphQL operation.

    graphql-core resolves root fields, and sibling fields of one object, concurrently, and
    an AsyncSession refuses concurrent use. Every async method here (and on the connection
    that :meth:`connection` returns for Core statements) takes the request's lock, so the
    resolvers take turns on one connection in one transaction: the unit of work stays
    atomic, and a mutation's later fields read what its earlier ones wrote. Dataloaders
    still batch: they queue keys without touching the session and run one statement.

    ``add`` is synchronous and cannot wait: while another call is running, the instance is
    added as soon as that call settles (before any other call can start), never in the
    middle of a flush. ``scalars``, ``stream_scalars`` and ``aclose`` go through ``execute``,
    ``stream`` and ``close``. Rows of a streamed result are fetched outside the lock (the
    driver serialises them on its connection); a transaction or savepoint begun on the
    session or its connection is not serialised: the request owns the transaction.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.serial = _Serial()
        self.serial.on_release = self._add_waiting
        self._waiting: list[object] = []

    def add(self, instance: object, *args: Any, **kw: Any) -> None:
        if self.serial.busy:
            self._waiting.append(instance)
        else:
            super().add(instance, *args, **kw)

    def add_all(self, instances: Iterable[object]) -> None:
        for instance in instances:
            self.add(instance)

    def _add_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        if waiting and not self.serial.ended:
            self.sync_session.add_all(waiting)

    async def end(self, *, commit: bool) -> None:
        """Commit or roll back, then close: one turn, so no statement can slip in between.

        On rollback the rows this session read are detached first, keeping the values they
        were read with: a row may outlive its request (resolvers/public.py reuses public
        pages across requests), and a rollback would otherwise expire it, so the next
        reader would fail with "Instance ... is not bound to a Session".
        """

        def finish(session: Session) -> None:
            try:
                if commit:
                    session.commit()
                else:
                    session.expunge_all()
                    session.rollback()
            finally:
                session.close()

        async def run() -> None:
            try:
                await greenlet_spawn(finish, self.sync_session)
            finally:
                self.serial.ended = True

        await self.serial.run(run)

    async def execute(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).execute(*args, **kw))

    async def scalar(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).scalar(*args, **kw))

    async def get(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).get(*args, **kw))

    async def get_one(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).get_one(*args, **kw))

    async def stream(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).stream(*args, **kw))

    async def refresh(self, *args: Any, **kw: Any) -> None:
        await self.serial.run(lambda: super(SerialSession, self).refresh(*args, **kw))

    async def merge(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).merge(*args, **kw))

    async def merge_all(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).merge_all(*args, **kw))

    async def delete(self, instance: object) -> None:
        await self.serial.run(lambda: super(SerialSession, self).delete(instance))

    async def delete_all(self, instances: Iterable[object]) -> None:
        await self.serial.run(lambda: super(SerialSession, self).delete_all(instances))

    async def flush(self, objects: Any = None) -> None:
        await self.serial.run(lambda: super(SerialSession, self).flush(objects))

    async def run_sync(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialSession, self).run_sync(*args, **kw))

    async def connection(self, *args: Any, **kw: Any) -> AsyncConnection:
        proxied = await self.serial.run(lambda: super(SerialSession, self).connection(*args, **kw))
        return SerialConnection(proxied, self.serial)

    async def commit(self) -> None:
        await self.serial.run(super().commit)

    async def rollback(self) -> None:
        await self.serial.run(super().rollback)

    async def close(self) -> None:
        if not self.serial.ended:  # end() closed it already
            await self.serial.run(super().close)

    async def reset(self) -> None:
        await self.serial.run(super().reset)

    async def invalidate(self) -> None:
        await self.serial.run(super().invalidate)


class SerialConnection(AsyncConnection):
    """The request session's connection for Core statements, taking the session's turns.

    Its transaction is the session's: services never commit, so commit, rollback and close
    are refused here (the unit of work ends the transaction through the session).
    """

    def __init__(self, proxied: AsyncConnection, serial: _Serial) -> None:
        # Not AsyncConnection.__init__: that would register this object as *the* proxy of
        # the driver connection, which other sessions (and tests) look up.
        self.engine = proxied.engine
        self.sync_engine = proxied.sync_engine
        self.sync_connection = proxied.sync_connection
        self.serial = serial

    async def execute(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialConnection, self).execute(*args, **kw))

    async def exec_driver_sql(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(
            lambda: super(SerialConnection, self).exec_driver_sql(*args, **kw)
        )

    @asyncstartablecontext
    async def stream(self, *args: Any, **kw: Any) -> AsyncIterator[AsyncResult[Any]]:
        opened = super().stream(*args, **kw)
        result = await self.serial.run(lambda: opened.start(is_ctxmanager=True))
        try:
            yield result
        except GeneratorExit:
            pass  # awaited rather than entered: the caller closes the result (as SQLAlchemy)
        else:
            await self.serial.run(lambda: opened.__aexit__(None, None, None))

    async def run_sync(self, *args: Any, **kw: Any) -> Any:
        return await self.serial.run(lambda: super(SerialConnection, self).run_sync(*args, **kw))

    async def get_raw_connection(self) -> Any:
        return await self.serial.run(super().get_raw_connection)

    async def execution_options(self, **opt: Any) -> AsyncConnection:
        await self.serial.run(lambda: super(SerialConnection, self).execution_options(**opt))
        return self

    async def commit(self) -> None:
        raise InvalidRequestError("the request's unit of work commits, never a service")

    async def rollback(self) -> None:
        raise InvalidRequestError("the request's unit of work rolls back, never a service")

    async def close(self) -> None:
        raise InvalidRequestError("the request's session closes its connection")


class UnitOfWork:
    """Hands out the session (ORM) and connection (Core) that one request or task works in.

    Services never commit; whoever opened the unit of work commits or rolls back. Tests bind
    the unit of work to a connection inside an outer transaction that is rolled back.
    """

    def __init__(self, bind: AsyncEngine | AsyncConnection) -> None:
        self.bind = bind
        self._sessions = async_sessionmaker(
            bind=bind,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        self._request_sessions = async_sessionmaker(
            bind=bind,
            class_=SerialSession,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )

    def new_session(self) -> AsyncSession:
        return self._sessions()

    def request_session(self) -> SerialSession:
        """A session that the concurrent resolvers of one request share (one call at a time).

        Its owner ends it with :meth:`SerialSession.end`; until then it is one transaction.
        """
        return self._request_sessions()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in its own transaction: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in its own transaction (the public write path: no ORM session).

        Committed on success, rolled back on error; inside a test's outer transaction it is a
        savepoint.
        """
        if isinstance(self.bind, AsyncConnection):
            async with self.bind.begin_nested():
                yield self.bind
        else:
            async with self.bind.begin() as conn:
                yield conn
