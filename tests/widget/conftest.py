"""Browser test fixtures: a real hub (uvicorn + PostgreSQL), a host site, headless Chromium.

The hub runs in a thread on 127.0.0.1 with its own database cloned from the migrated template,
so what the browser writes is really committed. Host pages are served by a second tiny server
addressed as ``localhost``: another origin than the hub, as on a partner's site.
Chromium is Debian's package driven by Playwright (never a downloaded browser); without it the
browser tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from hub.app import create_app
from hub.db import Database
from hub.settings import Settings
from tests.conftest import TEST_SECRET, _with_database
from tests.servers import free_port, serve_in_thread

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "artifacts"
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where a missing browser must not pass silently."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from npm, pinned by tests/widget/package-lock.json, installed when missing."""
    path = HERE / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm not found: cannot install axe-core (apt-get install -y npm)")
        else:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True
            )
    return path.read_text("utf-8")


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


# --- the hub -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_database(database_urls: tuple[str, str, str]) -> Iterator[str]:
    """A database of the hub's own for the module: cloned from the migrated template."""
    admin, template, _ = database_urls
    name = f"hub_browser_{uuid.uuid4().hex[:10]}"
    template_name = urlsplit(template).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _with_database(template, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class LiveHub:
    url: str
    engine: AsyncEngine

    def session(self) -> AsyncSession:
        """A session on the hub's database; commit what the browser must see."""
        return AsyncSession(self.engine, expire_on_commit=False)


@pytest.fixture(scope="module")
async def live_hub(
    hub_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveHub]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=hub_database,
        data_dir=tmp_path_factory.mktemp("live-hub"),
        secret_key=TEST_SECRET,
        public_url=url,
        allow_private_targets=True,
        public_cache_seconds=0,
        # every browser comes from 127.0.0.1: a fast run must not meet the per-address limit
        # (its signatures would be recorded flagged, never counted or sent)
        intake_rate_per_ip="100000/minute",
    )
    app = create_app(settings, Database(url=hub_database))
    engine = create_async_engine(hub_database, poolclass=NullPool)
    try:
        with serve_in_thread(app, port=port, name="live-hub", lifespan="on"):
            yield LiveHub(url, engine)
    finally:
        await engine.dispose()


# --- the host site -------------------------------------------------------------------------


@dataclass
class HostSite:
    """Serves registered HTML pages on another origin than the hub."""

    url: str
    pages: dict[str, str] = field(default_factory=dict)

    def publish(self, html: str) -> str:
        path = f"/p/{secrets.token_hex(6)}"
        self.pages[path] = html
        return self.url + path


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    site = HostSite(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.pages.get(self.path.split("?", 1)[0])
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
