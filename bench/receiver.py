"""A fast webhook receiver for the delivery benchmark, in its own process (its CPU is not in
the worker's GIL): a bare ASGI app under uvicorn (uvloop, httptools) answering 204 to every
POST and recording when each contact's first webhook arrived (wall clock, ``time.time()``).

    python -m bench.receiver --port 8123

``GET /count`` answers the number of contacts received, ``GET /arrivals`` a JSON object of
email → arrival time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

arrived: dict[str, float] = {}


async def _answer(send: Send, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        at = time.time()
        email = json.loads(b"".join(chunks))["contact"]["email"]
        arrived.setdefault(email, at)
        await _answer(send, 204)
    elif scope["path"] == "/count":
        await _answer(send, 200, str(len(arrived)).encode())
    elif scope["path"] == "/arrivals":
        await _answer(send, 200, json.dumps(arrived).encode())
    else:
        await _answer(send, 404)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
