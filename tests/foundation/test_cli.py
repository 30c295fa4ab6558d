"""The CLI as an operator meets it: real processes, real databases, one clear line on errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from hub.embedded import libpq_url

HUB = [sys.executable, "-m", "hub.cli"]


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HUB, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def hub_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_SECRET_KEY": "cli-test-secret",
            "HUB_LOG_FORMAT": "console",
            "HUB_DEMO_HISTORY": "40",  # a little history: the demo loads in a second
            **overrides,
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestAdminCommands:
    def test_create_org_user_token_and_demo(self, fresh_database: str) -> None:
        env = hub_env(HUB_DATABASE_URL=fresh_database)
        # when
        org = run(["create-org", "green-city", "--title", "Green City"], env)
        user = run(
            ["create-user", "Ada@Example.org", "--org", "green-city", "--role", "owner"], env
        )
        token = run(["create-token", "--org", "green-city", "--scopes", "stats:read"], env)
        first = run(["demo", "--json"], env)
        again = run(["demo", "--json"], env)
        # then
        assert org.returncode == 0, org.stderr
        assert user.returncode == 0, user.stderr
        assert "one-time password" in user.stdout
        assert token.returncode == 0, token.stderr
        assert token.stdout.strip().startswith("chub_at_")
        assert first.returncode == 0, first.stderr
        demo = json.loads(first.stdout)
        assert demo["campaign"]["name"] == "clean-rivers"
        assert [o["role"] for o in demo["orgs"]] == ["lead", "coordinator", "partner"]
        assert [o["delivery"] for o in demo["orgs"]] == [False, False, True]
        assert all(o["token"].startswith("chub_at_") for o in demo["orgs"])
        assert len(demo["pages"]) == 4
        assert [p["actionType"] for p in demo["pages"]] == ["signature"] * 3 + ["mail2target"]
        assert len(demo["pages"][3]["targets"]) == 3
        logins = [o["login"] for o in demo["orgs"]]
        assert all(login["email"].startswith("owner@") and login["password"] for login in logins)
        # loading twice reuses the coalition and prints the same credentials: no new tokens
        second = json.loads(again.stdout)
        assert second == demo
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            emails = {e for (e,) in conn.execute('SELECT email FROM "user"').fetchall()}
            hashes = conn.execute("SELECT secret_hash FROM api_token").fetchall()
        assert emails == {"Ada@example.org", *(login["email"] for login in logins)}
        assert len(hashes) == 1 + 3  # create-token's and one per demo org
        # a month of history (HUB_DEMO_HISTORY signatures), recorded once
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            signatures, sources, days, pages = conn.execute(
                "SELECT count(*), count(DISTINCT source), "
                "max(created_at)::date - min(created_at)::date, count(DISTINCT action_page_id) "
                "FROM action WHERE action_type = 'signature'"
            ).fetchone() or (0, 0, 0, 0)
            crm = conn.execute("SELECT config->>'url' FROM connector").fetchall()
        assert signatures == 40
        assert sources > 2
        assert days > 14
        assert pages == 3
        assert [url for (url,) in crm] == ["https://crm.anglers-united.example.invalid/hook"]
        assert token.stdout.strip() not in {h for (h,) in hashes}

    def test_duplicate_org_is_one_clear_line(self, fresh_database: str) -> None:
        env = hub_env(HUB_DATABASE_URL=fresh_database)
        run(["create-org", "twice", "--title", "Twice"], env)
        result = run(["create-org", "twice", "--title", "Twice"], env)
        assert result.returncode != 0
        assert result.stderr.strip() == "coalition-hub: error: an org named 'twice' already exists"

    def test_every_command_has_help(self) -> None:
        for command in ["serve", "migrate", "create-org", "create-user", "create-token", "demo"]:
            result = run([command, "--help"], hub_env())
            assert result.returncode == 0, command
            assert "Usage:" in result.stdout


class TestBadConfiguration:
    @pytest.mark.parametrize(
        ("args", "env", "expected"),
        [
            (
                ["migrate"],
                {"HUB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"},
                "database unreachable",
            ),
            (["migrate"], {"HUB_DATABASE_URL": "mysql://x@y/z"}, "unsupported database URL"),
            (["serve", "--port", "70000"], {}, "70000"),
            (["migrate"], {"HUB_DATA_DIR": "/proc/forbidden"}, "not writable"),
            (["migrate"], {"HUB_DB_POOL_SIZE": "zero"}, "HUB_DB_POOL_SIZE"),
        ],
    )
    def test_one_clear_line_and_nonzero_exit(
        self, args: list[str], env: dict[str, str], expected: str
    ) -> None:
        result = run(args, hub_env(**env))
        assert result.returncode != 0
        assert expected in result.stderr
        assert "Traceback" not in result.stderr + result.stdout

    def test_port_in_use(self, fresh_database: str) -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            result = run(["serve", "--port", str(port)], hub_env(HUB_DATABASE_URL=fresh_database))
        assert result.returncode != 0
        assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
        assert "Traceback" not in result.stderr


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve did not become ready within {timeout} s")


def postgres_running(data_dir: Path) -> bool:
    pidfile = data_dir / "pg" / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except (OSError, ValueError):
        return False
    return True


class TestEmbeddedServe:
    def test_start_stop_restart_keeps_data_and_survives_a_kill(self, tmp_path: Path) -> None:
        env = hub_env(HUB_DATA_DIR=str(tmp_path / "data"))
        env.pop("HUB_SECRET_KEY")  # generated and kept in the data dir on first run
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        query = {"query": '{ actionPage(name: "river-alliance/clean-rivers") { id name } }'}

        # first start: init + migrations + demo
        proc = subprocess.Popen(
            [*HUB, "serve", "--demo", "--port", str(port)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(url, proc)
            page = httpx.post(f"{url}/graphql", json=query).json()["data"]["actionPage"]
            assert page["name"] == "river-alliance/clean-rivers"
            # `demo` beside a running serve prints that serve's address and the same tokens
            printed = json.loads(run(["demo", "--json"], env).stdout)
            assert printed["graphql"] == f"{url}/graphql"
            token = printed["orgs"][0]["token"]
            me = httpx.post(
                f"{url}/graphql",
                json={"query": '{ org(name: "river-alliance") { name } }'},
                headers={"authorization": f"Bearer {token}"},
            ).json()
            assert me["data"]["org"] == {"name": "river-alliance"}
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "Traceback" not in out
        assert not postgres_running(tmp_path / "data")
        secret = (tmp_path / "data" / "secret_key").read_text()

        # a restart keeps the data; then kill -9 leaves PostgreSQL and a pid file behind
        proc = subprocess.Popen(
            [*HUB, "serve", "--port", str(port)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_ready(url, proc)
        assert httpx.post(f"{url}/graphql", json=query).json()["data"]["actionPage"] == page
        proc.kill()
        proc.wait(timeout=10)

        # the next start adopts the orphaned server instead of crashing
        proc = subprocess.Popen(
            [*HUB, "serve", "--port", str(port)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(url, proc)
            assert httpx.post(f"{url}/graphql", json=query).json()["data"]["actionPage"] == page
        finally:
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert not postgres_running(tmp_path / "data")
        assert (tmp_path / "data" / "secret_key").read_text() == secret
