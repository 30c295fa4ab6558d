"""The database engine: one async SQLAlchemy engine (psycopg 3) per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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

    def new_session(self) -> AsyncSession:
        return self._sessions()

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
