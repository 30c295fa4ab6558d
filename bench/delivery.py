"""Delivery benchmark: webhook deliveries per second per worker process, and end-to-end latency.

    uv run python -m bench.delivery [--deliveries 3000] [--threads 2] [--rate 100] [--seconds 10]

Starts its own embedded PostgreSQL and a fast webhook receiver in a process of its own
(bench/receiver.py: its CPU is not in the worker's GIL), then:
1. **throughput**: writes N signatures (each with one webhook delivery) through the intake
   service, starts one delivery runtime (relay + Dramatiq worker threads, in-process broker,
   as in one `coalition-hub worker` process) and times the outbox draining;
2. **end-to-end latency**: runs `coalition-hub serve` (API + in-process delivery) and signs
   at a fixed rate through `addActionContact` over HTTP; for each signature, the time from
   sending the mutation to the webhook receiving it (p50/p99).
Then one line saying which of the issue's targets were met (≥ 1,000 deliveries/s per worker
process; p50 ≤ 100 ms and p99 ≤ 500 ms at 100 signatures/s).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.ext.asyncio import create_async_engine

from bench.intake import SECRET, SIGN, percentile, sender, setup
from hub.embedded import EmbeddedPostgres, libpq_url
from hub.logging import configure_logging
from hub.migrate import upgrade
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions
from tests.servers import free_port
from workers.runtime import DeliveryRuntime


class Receiver:
    """The receiver process (bench/receiver.py) and what it recorded."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # one client: a new one per question costs milliseconds of the worker's CPU
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", "--port", str(self.port)]
        )
        for _ in range(200):
            try:
                self.count()
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    def count(self) -> int:
        return int(self.http.get("/count").text)

    def arrivals(self) -> dict[str, float]:
        result: dict[str, float] = self.http.get("/arrivals").json()
        return result

    def stop(self) -> None:
        self.http.close()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)


def add_webhook(url: str, org: int, target: str) -> None:
    keyring = Keyring(SECRET)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO connector (org_id, kind, name, config, secrets_encrypted, enabled) "
            "VALUES (%s, 'webhook', 'bench', %s, %s, true)",
            (
                org,
                json.dumps({"url": target}),
                keyring.encrypt_json(
                    {"secrets": ["whsec_" + base64.b64encode(b"bench" * 8).decode()]}
                ),
            ),
        )


async def sign_many(url: str, page: int, n: int) -> None:
    engine = create_async_engine(url, pool_size=8, hide_parameters=True)
    options = IntakeOptions(keyring=Keyring(SECRET))

    async def one(i: int) -> None:
        async with engine.begin() as conn:
            await service.add_action_contact(
                conn,
                options,
                page,
                action={"actionType": "petition"},
                contact={"firstName": "B", "email": f"t{i}-{secrets.token_hex(3)}@example.org"},
                privacy={"optIn": True},
            )

    for start in range(0, n, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + 50))))
    await engine.dispose()


def throughput(
    url: str, data_dir: Path, page: int, n: int, threads: int, receiver: Receiver
) -> float:
    asyncio.run(sign_many(url, page, n))
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key=SECRET,
        allow_private_targets=True,
        worker_threads=threads,
        log_level="warning",
    )
    runtime = DeliveryRuntime(settings, url)
    assert runtime.rollup is not None
    while runtime.rollup.roll_up_once():  # the signatures' dashboard roll-up, not timed
        pass
    start, cpu = time.time(), time.process_time()
    runtime.start()
    try:
        # polled rarely (the poll's CPU counts in this process); the end is the receiver's
        # own record of the last arrival
        while receiver.count() < n:
            time.sleep(0.25)
        used = time.process_time() - cpu
    finally:
        runtime.stop()
    elapsed = max(receiver.arrivals().values()) - start
    # the worker's own CPU: what one process would reach with a core to itself
    print(f"  {used / n * 1e6:8.0f} µs of the worker process's CPU per delivery")
    return n / elapsed


async def latency(
    base: str, page: int, rate: float, seconds: float, receiver: Receiver
) -> tuple[int, int, float, float, float, float]:
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    # bench/intake.py's sender (aiohttp, kept-alive connections): httpx's client cost enough
    # CPU here to delay the sending itself
    async with sender(f"{base}/graphql", 64, 60) as (_, send):

        async def one(n: int) -> None:
            email = f"e2e-{n}-{secrets.token_hex(3)}@example.org"
            variables = {
                "p": page,
                "a": {"actionType": "petition"},
                "c": {"firstName": "E", "email": email},
                "v": {"optIn": True},
            }
            body = json.dumps({"query": SIGN, "variables": variables})
            sent[email] = time.time()
            status, _answer = await send(body)
            if status == 200:
                answered[email] = time.time()

        tasks = []
        start = time.perf_counter()
        n = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            while n < int(elapsed * rate):
                tasks.append(asyncio.create_task(one(n)))
                n += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 60
    arrived = await asyncio.to_thread(receiver.arrivals)
    while time.perf_counter() < deadline and not all(e in arrived for e in sent):
        await asyncio.sleep(0.2)
        arrived = await asyncio.to_thread(receiver.arrivals)
    waits = [(arrived[e] - t) * 1000 for e, t in sent.items() if e in arrived]
    lags = [(arrived[e] - t) * 1000 for e, t in answered.items() if e in arrived]
    answers = sorted((answered[e] - t) * 1000 for e, t in sent.items() if e in answered)
    print(f"  the mutation answered in p50 {statistics.median(answers):.0f} ms")
    return (
        n,
        len(waits),
        statistics.median(waits),
        percentile(waits, 0.99),
        statistics.median(lags),
        percentile(lags, 0.99),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=2, help="worker threads")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--phases", default="throughput,latency", help="which to run, comma separated"
    )
    parser.add_argument(
        "--topology",
        choices=("split", "serve"),
        default="split",
        help="end-to-end: an API process and a worker process (as deployed), or `serve`",
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-delivery-"))
    server = EmbeddedPostgres(data_dir / "pg")
    url = server.start(owner=True)
    receiver = None
    hubs: list[subprocess.Popen[bytes]] = []
    try:
        receiver = Receiver()
        upgrade(url)
        ids = setup(libpq_url(url))
        add_webhook(libpq_url(url), ids["org"], f"{receiver.url}/hook")
        phases = set(args.phases.split(","))
        if "throughput" in phases:
            print(
                f"1. throughput: {args.deliveries} webhook deliveries, one runtime,"
                f" {args.threads} threads"
            )
            rate = throughput(url, data_dir, ids["page"], args.deliveries, args.threads, receiver)
            print(f"  {rate:8.0f} deliveries/s per worker process")
        if "latency" in phases:
            port = free_port()
            env = {
                **os.environ,
                "HUB_DATABASE_URL": url,
                "HUB_SECRET_KEY": SECRET,
                "HUB_DATA_DIR": str(data_dir),
                "HUB_ALLOW_PRIVATE_TARGETS": "1",
                "HUB_LOG_LEVEL": "warning",
                "HUB_INTAKE_RATE_PER_IP": "10000000/second",
                "HUB_WORKER_THREADS": "8",
            }
            hub_bin = str(Path(sys.executable).with_name("coalition-hub"))
            if args.topology == "serve":  # one process: API, relay and worker threads
                hubs.append(subprocess.Popen(
                    [hub_bin, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
                ))  # fmt: skip
            else:  # as deployed: API processes and a worker process of their own
                hubs.append(subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "--factory", "hub.asgi:create",
                     "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                     "--log-level", "warning", "--no-access-log"],
                    env={**env, "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}"},
                ))  # fmt: skip
                hubs.append(subprocess.Popen([hub_bin, "worker"], env=env))
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(
                f"2. end-to-end ({args.topology}): {args.rate:.0f} signatures/s"
                f" for {args.seconds:.0f} s"
            )
            sent, arrived, p50, p99, after50, after99 = asyncio.run(
                latency(base, ids["page"], args.rate, args.seconds, receiver)
            )
            print(
                f"  {arrived}/{sent} arrived; signature to webhook p50 {p50:.0f} ms,"
                f" p99 {p99:.0f} ms (from the mutation's answer: p50 {after50:.0f} ms,"
                f" p99 {after99:.0f} ms)"
            )
        met = {}
        if "throughput" in phases:
            met["≥ 1000 deliveries/s per worker process"] = rate >= 1000
        if "latency" in phases:
            met["p50 ≤ 100 ms"] = p50 <= 100
            met["p99 ≤ 500 ms"] = p99 <= 500
            met["every webhook arrived"] = arrived == sent
        print(
            "targets: "
            + "; ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in met.items())
        )
    finally:
        if receiver is not None:
            receiver.stop()
        for hub in hubs:
            hub.send_signal(signal.SIGTERM)
            hub.wait(30)
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
