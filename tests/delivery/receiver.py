"""A real HTTP receiver on 127.0.0.1 for webhook tests: records requests, answers as told."""

from __future__ import annotations

import asyncio
import json
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
    # another answer about some people (by the payload's contact email)
    status_by_email: dict[str, int] = field(default_factory=dict)

    async def hook(self, request: Request) -> Response:
        received = Received(dict(request.headers), await request.body())
        self.requests.append(received)
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if self.status_by_email:
            email = payload_of(received).get("contact", {}).get("email")
            if email in self.status_by_email:
                return Response(status_code=self.status_by_email[email])
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
    return json.loads(received.body)
