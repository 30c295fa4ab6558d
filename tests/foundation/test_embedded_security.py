"""The embedded PostgreSQL is private to the hub: its socket admits only the server's user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg

from hub.embedded import libpq_url, socket_dir, sqlalchemy_url


def test_the_socket_is_not_open_to_other_local_users(pg_server: str) -> None:
    if os.environ.get("HUB_TEST_DATABASE_URL"):
        return  # an external server: not ours to configure
    # given the embedded server the tests run on
    url = libpq_url(sqlalchemy_url(pg_server))
    directory = socket_dir(url)
    assert directory is not None
    # when
    with psycopg.connect(url) as conn:
        setting = conn.execute("SHOW unix_socket_permissions").fetchone()
    sockets = list(Path(directory).glob(".s.PGSQL.*"))
    # then: trust authentication is safe only behind a socket nobody else may open
    assert setting == ("0700",)
    modes = {stat.S_IMODE(s.stat().st_mode) for s in sockets if stat.S_ISSOCK(s.stat().st_mode)}
    assert modes == {0o700}
