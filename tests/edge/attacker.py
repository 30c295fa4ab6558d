"""Sends the bombs of tests/edge/bombs.py to a hub, all at once, a few times; prints a summary.

``python -m tests.edge.attacker URL ROUNDS``: run as its own process, so that the attack's
client-side work does not share the interpreter lock with the server under test. Each round
posts every bomb (a new variant each time, so that no cache answers for it) and an oversized
body concurrently, one connection each.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from tests.edge.bombs import BOMBS

OVERSIZED = b'{"query": "{ __typename }"' + b" " * 200_000 + b"}"


def variant(document: str, n: int) -> str:
    return f"{document} query V{n} {{ __typename }}"


async def send(http: httpx.AsyncClient, name: str, body: bytes) -> dict[str, object]:
    started = time.perf_counter()
    headers = {"content-type": "application/json"}
    response = await http.post("/graphql", content=body, headers=headers)
    return {
        "name": name,
        "status": response.status_code,
        "seconds": time.perf_counter() - started,
        "masked": "Unexpected error" in response.text,
    }


async def main(url: str, rounds: int) -> None:
    results: list[dict[str, object]] = []
    limits = httpx.Limits(max_connections=len(BOMBS) + 1)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        # encoded up front: the attacker's own work stays out of the rounds
        bodies = [
            [(name, json.dumps({"query": variant(doc, n)}).encode()) for name, doc in BOMBS.items()]
            + [("oversized", OVERSIZED)]
            for n in range(rounds)
        ]
        for round_bodies in bodies:
            results += await asyncio.gather(*(send(http, *item) for item in round_bodies))
            await asyncio.sleep(0.1)
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
