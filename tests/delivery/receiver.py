"""A real HTTP receiver on 127.0.0.1 for webhook tests: records requests, answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import serve_in_thread


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0
    body: bytes | None = None  # the answer's body (default: a small JSON object)

    async def hook(self, request: Request) -> Response:
        self.requests.append(Received(dict(request.headers), await request.body()))
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if self.body is not None:
            return Response(self.body, status_code=self.status, headers=self.headers)
        return JSONResponse(
            {"ok": self.status < 300}, status_code=self.status, headers=self.headers
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


def run_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver.app(), name="webhook-receiver") as url:
        receiver.url = f"{url}/hook"
        yield receiver


def payload_of(received: Received) -> Any:
    import json

    return json.loads(received.body)
