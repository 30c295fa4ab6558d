"""The ``coalition-hub`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database, UnitOfWork
from hub.errors import ConfigurationError
from hub.logging import configure_logging, configure_logging_for
from hub.settings import Settings, get_settings
from orgs.models import StaffRole, utcnow

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HUB_" + str(first["loc"][0]).upper() if first["loc"] else "HUB_*"
        raise ConfigurationError(f"{name}: {first['msg']}") from exc


def _fail(message: str) -> None:
    click.echo(f"coalition-hub: error: {message}", err=True)
    sys.exit(2)


@contextmanager
def _database(settings: Settings, *, migrate: bool, owner: bool = False) -> Iterator[Database]:
    """Open the configured database (starting the embedded one if needed), migrated if asked."""
    database = Database.from_settings(settings, owner=owner)
    try:
        database.check_reachable()
        if migrate:
            from hub.migrate import upgrade

            upgrade(database.url)
        yield database
    finally:
        database.stop()


def _run_in_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True
) -> T:
    with _database(settings, migrate=migrate) as database:

        async def run() -> T:
            try:
                async with UnitOfWork(database.engine(2)).session() as session:
                    return await work(session)
            finally:
                await database.dispose()

        return asyncio.run(run())


class HubGroup(click.Group):
    """Turns expected errors into one clear line and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from orgs.campaigns.service import CampaignError
        from orgs.identity.service import IdentityError
        from orgs.organisations.service import OrgError
        from orgs.pages.service import PageError

        try:
            return super().invoke(ctx)
        except (ConfigurationError, OrgError, IdentityError, CampaignError, PageError) as exc:
            _fail(str(exc))


@click.group(cls=HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coalition-hub")
def main() -> None:
    """Coalition Hub: action management for campaign coalitions.

    Configuration comes from HUB_* environment variables (docs/configuration.md). Without
    HUB_DATABASE_URL every command uses the embedded PostgreSQL under HUB_DATA_DIR.
    """


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(f"port {port} on {host} is already in use") from exc
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option("--demo", is_flag=True, help="Load the demo coalition (if absent) and print it.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="API processes (production; the embedded worker runs in the first).",
)
def serve(host: str, port: int, demo: bool, workers: int) -> None:
    """Run the API (and, in embedded mode, PostgreSQL and the delivery worker)."""
    import uvicorn

    from hub.app import create_app

    settings = _settings()
    if "public_url" not in settings.model_fields_set:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    configure_logging_for(settings)
    _check_port_free(host, port)
    _remember_public_url(settings)
    click.echo(
        "Starting Coalition Hub..." + (" (embedded PostgreSQL)" if settings.embedded else "")
    )
    with _database(settings, migrate=settings.embedded, owner=True) as database:
        if demo:
            coalition = asyncio.run(_load_demo(database, settings))
            _print_demo(coalition, settings, as_json=False)
        if not demo:
            click.echo(f"GraphQL: {settings.public_url.rstrip('/')}/graphql")
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_config": None,
            "proxy_headers": True,
            "forwarded_allow_ips": "127.0.0.1",
            # an idle keep-alive connection (a browser tab) must not hold Ctrl-C for long
            "timeout_graceful_shutdown": 3,
        }
        if workers > 1:
            # worker processes build their app from the environment (hub.asgi)
            os.environ["HUB_DATABASE_URL"] = database.url
            os.environ["HUB_PUBLIC_URL"] = settings.public_url
            os.environ["HUB_SECRET_KEY"] = settings.resolved_secret_key()
            config = uvicorn.Config("hub.asgi:create", factory=True, workers=workers, **options)
        else:
            config = uvicorn.Config(create_app(settings, database), **options)
        server = uvicorn.Server(config)
        # uvicorn re-raises the signal that stopped it once it has shut down; turn that into
        # an exception so the embedded PostgreSQL is stopped on the way out.
        signal.signal(signal.SIGTERM, _raise_shutdown)
        runtime = _in_process_delivery(settings, database)
        try:
            with contextlib.suppress(KeyboardInterrupt, _Shutdown):
                if workers > 1:
                    from uvicorn.supervisors.multiprocess import Multiprocess

                    sock = config.bind_socket()
                    Multiprocess(config, sockets=[sock]).run()
                else:
                    server.run()
        finally:
            if runtime is not None:
                runtime.stop()
    click.echo("Coalition Hub stopped.")


def _in_process_delivery(settings: Settings, database: Database) -> Any:
    """Without a broker URL, the API process also relays and delivers (embedded mode)."""
    if settings.broker_url:
        return None  # `coalition-hub worker` processes deliver through RabbitMQ
    from workers.runtime import DeliveryRuntime

    runtime = DeliveryRuntime(settings, database.url)
    runtime.start()
    click.echo("Delivery worker: in-process.")
    return runtime


@main.command()
def worker() -> None:
    """Relay the outbox and deliver to each org's tools (HUB_BROKER_URL=amqp://... to scale)."""
    from workers.runtime import LIVENESS_FILE, DeliveryRuntime

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.embedded:
        raise ConfigurationError(
            "the worker needs HUB_DATABASE_URL (the embedded database belongs to `serve`)"
        )
    with _database(settings, migrate=False) as database:
        runtime = DeliveryRuntime(settings, database.url, liveness_file=LIVENESS_FILE)
        signal.signal(signal.SIGTERM, _raise_shutdown)
        runtime.start()
        click.echo(f"Worker started ({settings.worker_threads} threads).")
        try:
            with contextlib.suppress(KeyboardInterrupt, _Shutdown):
                signal.pause()
        finally:
            runtime.stop()
    click.echo("Worker stopped.")


class _Shutdown(Exception):
    """SIGTERM arrived (raised from the signal handler)."""


def _raise_shutdown(signum: int, frame: Any) -> None:
    raise _Shutdown


async def _load_demo(database: Database, settings: Settings) -> Any:
    from orgs.crypto import Keyring
    from orgs.demo import load_demo

    try:
        async with UnitOfWork(database.engine(2)).session() as session:
            return await load_demo(
                session, Keyring(settings.resolved_secret_key()), history=settings.demo_history
            )
    finally:
        await database.dispose()


def _mtt_pages(coalition: Any, base: str) -> list[dict[str, Any]]:
    page = coalition.mtt_page
    if page is None:
        return []
    return [
        {
            "id": page.id,
            "name": page.name,
            "org": coalition.orgs[0].org.name,
            "actionType": "mail2target",
            "url": f"{base}/demo/{page.id}",
            "targets": list(coalition.targets),
        }
    ]


def _print_demo(coalition: Any, settings: Settings, *, as_json: bool) -> None:
    base = settings.public_url.rstrip("/")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "graphql": f"{base}/graphql",
                    "dashboard": f"{base}/dashboard",
                    "campaign": {"id": coalition.campaign.id, "name": coalition.campaign.name},
                    "orgs": [
                        {
                            "name": m.org.name,
                            "role": m.role,
                            "delivery": m.delivery,
                            "token": m.token,
                            "login": {"email": m.login.email, "password": m.login.password},
                        }
                        for m in coalition.orgs
                    ],
                    "pages": [
                        {
                            "id": m.page.id,
                            "name": m.page.name,
                            "org": m.org.name,
                            "actionType": m.action_type,
                            "url": f"{base}/demo/{m.page.id}",
                        }
                        for m in coalition.orgs
                    ]
                    + _mtt_pages(coalition, base),
                }
            )
        )
        return
    state = "created" if coalition.created else "already present"
    click.echo(f"Demo coalition '{coalition.campaign.name}' {state}.")
    click.echo(f"  GraphQL:   {base}/graphql")
    click.echo(f"  Dashboard: {base}/dashboard (log in with a login below)")
    for member in coalition.orgs:
        delivery = " (delivery org)" if member.delivery else ""
        click.echo(f"  {member.role:11} {member.org.name}{delivery}: token {member.token}")
        click.echo(f"           login {member.login.email} / {member.login.password}")
        click.echo(
            f"           page {member.page.id} ({member.page.name}): {base}/demo/{member.page.id}"
        )
    if coalition.mtt_page is not None:
        page = coalition.mtt_page
        click.echo(f"  mail to target: page {page.id} ({page.name}): {base}/demo/{page.id}")
        click.echo(
            f"           targets: {', '.join(coalition.targets)} (mail goes to HUB_SMTP_URL)"
        )


@main.command()
def migrate() -> None:
    """Apply database migrations up to the latest revision."""
    settings = _settings()
    configure_logging(settings.log_level, "console")
    with _database(settings, migrate=True) as database:
        from hub.migrate import current_revision

        click.echo(f"database at revision {current_revision(database.url)}")


@main.command("create-org")
@click.argument("name")
@click.option("--title", required=True, help="Display name, e.g. 'Friends of the Delta'.")
@click.option("--privacy-policy-url", default=None, help="Shown next to the consent box.")
def create_org(name: str, title: str, privacy_policy_url: str | None) -> None:
    """Create an organisation NAME (a lowercase slug)."""
    from orgs.organisations.service import create_org as create

    settings_json = {"privacy_policy_url": privacy_policy_url} if privacy_policy_url else {}

    async def work(session: AsyncSession) -> int:
        org = await create(session, name, title, settings_json)
        assert org.id is not None
        return org.id

    org_id = _run_in_session(_settings(), work)
    click.echo(f"created org {name} (id {org_id})")


async def _org_id(session: AsyncSession, name: str) -> int:
    from orgs.organisations import repository

    org = await repository.org_by_name(session, name)
    if org is None or org.id is None:
        raise ConfigurationError(f"no org named {name!r}")
    return org.id


@main.command("create-user")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="The org the user joins.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in StaffRole]),
    default=StaffRole.OWNER.value,
    show_default=True,
)
def create_user(email: str, org_name: str, role: str) -> None:
    """Create a user (or add an existing one to an org) and print a one-time password."""
    from email_validator import EmailNotValidError, validate_email

    from orgs.identity.service import create_user as create

    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ConfigurationError(f"invalid email: {exc}") from exc

    async def work(session: AsyncSession) -> str | None:
        created = await create(session, email, await _org_id(session, org_name), StaffRole(role))
        return created.password

    password = _run_in_session(_settings(), work)
    click.echo(f"{email} is now {role} of {org_name}")
    if password:
        click.echo(f"one-time password (shown once, change it after logging in): {password}")


@main.command("create-token")
@click.option("--org", "org_name", required=True, help="The org the token acts for.")
@click.option(
    "--scopes",
    required=True,
    help="Comma-separated, e.g. contacts:read,stats:read (see docs/permissions.md).",
)
@click.option("--name", default="cli token", show_default=True, help="A label for the token.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Expiry.")
def create_token(org_name: str, scopes: str, name: str, expires_days: int | None) -> None:
    """Create an org API token and print it (once: only its hash is stored)."""
    from orgs.identity.service import issue_token

    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None

    async def work(session: AsyncSession) -> str:
        issued = await issue_token(
            session, await _org_id(session, org_name), name, scope_list, expires_at=expires
        )
        return issued.plaintext

    click.echo(_run_in_session(_settings(), work))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def demo(as_json: bool) -> None:
    """Load the demo coalition if absent and print its owner tokens and staff logins.

    They are derived from the instance secret: the same every time. The URLs printed are those
    of the running `serve` (when one runs on this data dir), else HUB_PUBLIC_URL.
    """
    from orgs.crypto import Keyring
    from orgs.demo import load_demo

    settings = _settings()
    running = _running_public_url(settings)
    if running and "public_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_url": running})
    keyring = Keyring(settings.resolved_secret_key())
    coalition = _run_in_session(
        settings, lambda session: load_demo(session, keyring, history=settings.demo_history)
    )
    _print_demo(coalition, settings, as_json=as_json)


RUNTIME_FILE = "serve.json"


def _remember_public_url(settings: Settings) -> None:
    """Tell later commands (`demo`) where this `serve` listens."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / RUNTIME_FILE).write_text(
        json.dumps({"public_url": settings.public_url, "pid": os.getpid()})
    )


def _running_public_url(settings: Settings) -> str | None:
    try:
        state = json.loads((settings.data_dir / RUNTIME_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    url = state.get("public_url")
    return url if isinstance(url, str) else None


def _register_subcommands() -> None:
    from hub.page_cli import page
    from hub.targets_cli import targets

    main.add_command(page)
    main.add_command(targets)


_register_subcommands()


if __name__ == "__main__":
    main()
