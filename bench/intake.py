"""Intake benchmark: the hub's signature path against a raw psycopg baseline, in one run.

    uv run python -m bench.intake [--seconds 10] [--connections 32]

Starts its own embedded PostgreSQL (or uses HUB_DATABASE_URL), loads one live page, then:
1. raw ceiling: the rows of one signature (supporter upsert, contact, consent, action,
   counters, outbox) written by plain psycopg, one transaction per signature, best of
   1/4/8/16 connections;
2. ``addActionContact`` through the full stack: uvicorn with 2 workers, ``wrk`` with a Lua
   script varying the email, 32 connections;
3. latency at about 200 req/s (wrk connections pacing themselves with ``delay``);
4. the public stats query (GraphQL GET) through the full stack.
Prints throughput, p50/p99 and the ratio hub/raw. Needs ``wrk`` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg

from hub.embedded import EmbeddedPostgres, libpq_url
from hub.fast_intake import widget_documents
from hub.migrate import upgrade
from orgs.crypto import Keyring

SECRET = "bench-secret-" + "x" * 32
SIGN = widget_documents()["M_SIGN"]  # exactly what the hub's widget sends
STATS = "query($id:Int){actionPage(id:$id){campaign{stats{supporterCount}}}}"

RAW_SIGNATURE = """
WITH s AS (
  INSERT INTO supporter (campaign_id, fingerprint, ref, first_action_page_id, confirmation,
                         country, testing)
  VALUES (%(campaign)s, %(fp)s, %(ref)s, %(page)s, 'none', 'FR', false)
  ON CONFLICT (campaign_id, fingerprint) DO UPDATE SET country = EXCLUDED.country
  RETURNING id),
a AS (
  INSERT INTO action (org_id, campaign_id, action_page_id, supporter_id, action_type,
                      custom_fields, source, dupe_rank, testing)
  SELECT %(org)s, %(campaign)s, %(page)s, s.id, 'petition', '{}'::jsonb, 'bench', 0, false
  FROM s RETURNING id, supporter_id),
c AS (
  INSERT INTO contact (supporter_id, org_id, scope, payload)
  SELECT s.id, %(org)s, 'full', %(payload)s FROM s
  ON CONFLICT (supporter_id, org_id) DO UPDATE SET payload = EXCLUDED.payload),
k AS (
  INSERT INTO consent (supporter_id, org_id, action_page_id, purpose, given, wording_version,
                       method)
  SELECT s.id, %(org)s, %(page)s, 'communication', true, 'v1', 'single' FROM s),
n AS (
  INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
  VALUES (%(page)s, 'raw|' || %(shard)s, %(campaign)s, 1)
  ON CONFLICT (action_page_id, metric) DO UPDATE SET value = stat_counter.value + 1)
INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status, attempts,
                      idempotency_key)
SELECT %(org)s, NULL, 'action_created', a.id, a.supporter_id, 'pending', 0,
       'raw:' || a.id FROM a
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def setup(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        org = conn.execute(
            "INSERT INTO org (name, title, settings) VALUES (%s, 'Bench', '{}') RETURNING id",
            (f"bench-{secrets.token_hex(3)}",),
        ).fetchone()
        assert org is not None
        campaign = conn.execute(
            "INSERT INTO campaign (org_id, namespace_org_id, name, title, status, goal, "
            "consent_texts) VALUES (%s, %s, %s, 'Bench', 'live', 100000, '{}') RETURNING id",
            (org[0], org[0], f"bench-{secrets.token_hex(3)}"),
        ).fetchone()
        assert campaign is not None
        conn.execute(
            "INSERT INTO partnership (campaign_id, org_id, role, status, delivery) "
            "VALUES (%s, %s, 'lead', 'active', false)",
            (campaign[0], org[0]),
        )
        page = conn.execute(
            "INSERT INTO action_page (org_id, campaign_id, name, locale, status, config, "
            "templates, thank_you_mail) VALUES (%s, %s, %s, 'en', 'live', '{}', '{}', false) "
            "RETURNING id",
            (org[0], campaign[0], f"bench/{secrets.token_hex(3)}"),
        ).fetchone()
        assert page is not None
    return {"org": org[0], "campaign": campaign[0], "page": page[0]}


async def raw_ceiling(url: str, ids: dict[str, int], seconds: float) -> tuple[int, float]:
    """Best signatures/s over 1, 4, 8 and 16 connections: (connections, rate)."""
    keyring = Keyring(SECRET)
    payload = keyring.encrypt_json({"firstName": "Ada", "email": "a@example.org"})
    best = (0, 0.0)
    for connections in (1, 4, 8, 16):
        done = 0
        deadline = time.perf_counter() + seconds

        async def client(
            worker: int, connections: int = connections, deadline: float = deadline
        ) -> None:
            nonlocal done
            async with await psycopg.AsyncConnection.connect(url) as conn:
                n = 0
                while time.perf_counter() < deadline:
                    n += 1
                    email = f"raw-{connections}-{worker}-{n}@example.org"
                    async with conn.transaction():
                        await conn.execute(
                            RAW_SIGNATURE,
                            {
                                **ids,
                                "fp": keyring.fingerprint(email),
                                "ref": secrets.token_urlsafe(16),
                                "payload": payload,
                                "shard": str(n % 8),
                            },
                        )
                    done += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(w) for w in range(connections)))
        rate = done / (time.perf_counter() - start)
        print(f"  raw psycopg, {connections:2d} connections: {rate:8.0f} signatures/s")
        if rate > best[1]:
            best = (connections, rate)
    return best


def start_hub(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HUB_LOG_LEVEL": "warning",
        "HUB_INTAKE_RATE_PER_IP": "10000000/second",
        "HUB_INTAKE_RATE_PER_PAGE": "10000000/second",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "hub.asgi:create", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "2", "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the hub did not start")


LUA = """
counter = 0
request = function()
  counter = counter + 1
  local email = "w" .. counter .. "-" .. math.random(1, 1000000000) .. "@example.org"
  local body = string.gsub(TEMPLATE, "EMAIL", email)
  return wrk.format("POST", "/graphql", {["content-type"] = "application/json"}, body)
end
"""


def wrk(url: str, script: str | None, seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
    if script:
        command += ["-s", lua.name]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": float(rate.group(1)) if rate else 0.0,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def template(page: int) -> str:
    return json.dumps(
        {
            "query": SIGN,
            "variables": {
                "p": page,
                "a": {"actionType": "petition", "customFields": '{"comment":"bench"}'},
                "c": {"firstName": "Ada", "email": "EMAIL", "address": {"country": "FR"}},
                "v": {"optIn": True},
                "t": {"source": "bench", "medium": "wrk"},
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    server = None
    url = os.environ.get("HUB_DATABASE_URL")
    if not url:
        server = EmbeddedPostgres(data_dir / "pg")
        url = server.start(owner=True)
    hub = None
    try:
        upgrade(url)
        ids = setup(libpq_url(url))
        print(f"database ready; page {ids['page']}")
        print("1. raw ceiling (plain psycopg, one transaction per signature)")
        raw_conns, raw_rate = asyncio.run(raw_ceiling(libpq_url(url), ids, args.seconds / 2))
        port = 8790
        hub = start_hub(url, port, data_dir)
        base = f"http://127.0.0.1:{port}"
        print(f"2. addActionContact, uvicorn x2, wrk {args.connections} connections")
        lua = f"TEMPLATE = {json.dumps(template(ids['page']))}\n" + LUA
        intake = wrk(f"{base}/graphql", lua, args.seconds, args.connections)
        print(
            f"  {intake['rate']:8.0f} req/s  p50 {intake['p50']:.1f} ms  p99 {intake['p99']:.1f} ms"
            f"  non-2xx {intake['non2xx']:.0f}"
        )
        print("3. about 200 req/s offered (wrk, 20 connections, 75 ms pause after each answer)")
        paced = lua + "delay = function() return 75 end\n"
        fixed = wrk(f"{base}/graphql", paced, args.seconds, 20)
        print(
            f"  achieved {fixed['rate']:.0f} req/s  p50 {fixed['p50']:.1f} ms"
            f"  p99 {fixed['p99']:.1f} ms  non-2xx {fixed['non2xx']:.0f}"
        )
        print("4. public stats query (GraphQL GET), wrk")
        variables = quote(json.dumps({"id": ids["page"]}))
        stats = wrk(
            f"{base}/graphql?query={quote(STATS)}&variables={variables}",
            None,
            args.seconds,
            args.connections,
        )
        print(f"  {stats['rate']:8.0f} req/s  p50 {stats['p50']:.1f} ms  p99 {stats['p99']:.1f} ms")
        print()
        print("| measure | value | target |")
        print("|---|---|---|")
        print(f"| raw ceiling ({raw_conns} connections) | {raw_rate:.0f} signatures/s | |")
        print(f"| hub addActionContact | {intake['rate']:.0f} req/s | |")
        print(f"| **hub/raw** | **{intake['rate'] / raw_rate:.2f}** | ≥ 0.5 (stretch 1.0) |")
        print(
            f"| p99 at ~200 req/s offered ({fixed['rate']:.0f} achieved) | {fixed['p99']:.1f} ms"
            " | ≤ 100 ms |"
        )
        print(
            f"| stats reads / intake | {stats['rate'] / intake['rate']:.1f}x "
            f"({stats['rate']:.0f} req/s) | ≥ 5x |"
        )
    finally:
        if hub is not None:
            hub.send_signal(signal.SIGTERM)
            hub.wait(20)
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
