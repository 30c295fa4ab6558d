"""Test fixtures: a real PostgreSQL, migrations applied once, a rolled-back transaction per test.

PostgreSQL comes from the embedded wheel (one server per test process) unless
HUB_TEST_DATABASE_URL points at another server. The migrated database doubles as a template
for tests that must really commit (``fresh_database``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from hub.app import create_app
from hub.db import UnitOfWork
from hub.embedded import EmbeddedPostgres, libpq_url, sqlalchemy_url
from hub.migrate import upgrade
from hub.settings import Settings
from orgs.crypto import Keyring

TEST_SECRET = "test-secret-key-not-for-production"


def _admin_and_template(server_url: str) -> tuple[str, str, str]:
    """(libpq admin URL, migrated template URL, test database URL).

    Nothing connects to the template, so tests can clone it with CREATE DATABASE TEMPLATE.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    template_name, test_name = f"hub_template_{worker}", f"hub_test_{worker}"
    admin = libpq_url(sqlalchemy_url(server_url))
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in (test_name, template_name):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{template_name}"')
    template = sqlalchemy_url(_with_database(admin, template_name))
    upgrade(template)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{template_name}"')
    return admin, template, sqlalchemy_url(_with_database(admin, test_name))


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{tail}" if tail else "")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server's admin database (embedded unless HUB_TEST_DATABASE_URL)."""
    external = os.environ.get("HUB_TEST_DATABASE_URL")
    if external:
        yield external
        return
    data_dir = Path(tempfile.mkdtemp(prefix="hub-test-pg-"))
    server = EmbeddedPostgres(data_dir)
    url = server.start(owner=True)
    try:
        yield _with_database(url, "postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_urls(pg_server: str) -> tuple[str, str, str]:
    return _admin_and_template(pg_server)


@pytest.fixture(scope="session")
def database_url(database_urls: tuple[str, str, str]) -> str:
    """SQLAlchemy URL of the migrated test database."""
    return database_urls[2]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("hub-data"),
        secret_key=TEST_SECRET,
        public_url="http://hub.test",
        allow_private_targets=True,
        # every test request comes from the same address; tests/intake/test_abuse.py sets
        # its own limits
        intake_rate_per_ip="100000/minute",
        public_cache_seconds=0,  # tests read what they just wrote
    )


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring(TEST_SECRET)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def uow(connection: AsyncConnection) -> UnitOfWork:
    """The unit of work the app uses in tests: its commits become savepoints."""
    return UnitOfWork(connection)


@pytest.fixture
async def session(uow: UnitOfWork) -> AsyncIterator[AsyncSession]:
    """An ORM session on the test's transaction (flush freely; nothing survives the test)."""
    db_session = uow.new_session()
    try:
        yield db_session
        await db_session.flush()
    finally:
        await db_session.close()


@pytest.fixture
def app(settings: Settings, uow: UnitOfWork) -> Any:
    return create_app(settings, uow=uow)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


class GraphQLClient:
    """Posts GraphQL to the app like a widget or an org's script would."""

    def __init__(self, http: httpx.AsyncClient, session: AsyncSession) -> None:
        self.http = http
        self._session = session

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        # Make what the test wrote with its session visible to the app's session.
        await self._session.flush()
        sent = dict(headers or {})
        if token:
            sent["authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def gql(client: httpx.AsyncClient, session: AsyncSession) -> GraphQLClient:
    return GraphQLClient(client, session)


@pytest.fixture
def fresh_database(database_urls: tuple[str, str, str]) -> Iterator[str]:
    """A new database cloned from the migrated template, for tests that really commit.

    Yields its SQLAlchemy URL; dropped after the test.
    """
    admin, template, _ = database_urls
    template_name = urlsplit(template).path.lstrip("/")
    name = f"hub_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _with_database(template, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_engine(fresh_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database, poolclass=NullPool)
    yield engine
    await engine.dispose()
