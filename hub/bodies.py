"""Request bodies at the edge: one size limit on every route, strict JSON, JSON error answers.

``BodyLimit`` is the only place that bounds a request body: handlers (the GraphQL fast path,
the no-JS form) read whole bodies and rely on it. Errors answer the same JSON shape as a
GraphQL error, ``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``, with messages
that name the problem and never repeat what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.settings import Settings

# Deeper than any real GraphQL request (the widget's variables nest 3 levels); json.loads
# itself gives up around 1,000 levels with a RecursionError.
MAX_JSON_DEPTH = 32

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def json_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """An error answer in the GraphQL error shape (``code`` defaults by status)."""
    error = {"message": message, "extensions": {"code": code or CODES.get(status, "BAD_REQUEST")}}
    headers = {"cache-control": "no-store"}
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


class BadJson(ValueError):
    """A request body that is not acceptable JSON; the message is safe to show."""


def loads(data: bytes | str) -> Any:
    """Parse a request's JSON: UTF-8 only, nested at most ``MAX_JSON_DEPTH`` levels.

    Raises BadJson (never RecursionError or UnicodeDecodeError) for anything else.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("The request body is not valid UTF-8.") from None
    else:
        text = data
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadJson(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError:  # JSONDecodeError, and ints longer than Python converts
        raise BadJson("The request body is not valid JSON.") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise BadJson(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class _TooLarge(Exception):
    """Raised into the app from ``receive`` once its body passes the limit."""


def body_limits(settings: Settings) -> tuple[tuple[str, int], ...]:
    """(path prefix, limit in bytes) per route, most specific first; "" is every other route."""
    return (
        ("/graphql", settings.graphql_max_body_bytes),
        ("/act/", settings.form_max_body_bytes),
        ("", settings.max_body_bytes),
    )


class BodyLimit:
    """Answer 413 to a request whose body is over its route's limit, on every route.

    A declared Content-Length over the limit is refused before anything is read; otherwise
    the bytes are counted as the app reads them (chunked bodies, short-lying headers), and
    the app gets an exception instead of the byte that passes the limit. Whatever the app
    then tries to answer is dropped for the 413.
    """

    def __init__(self, app: ASGIApp, *, limits: Sequence[tuple[str, int]]) -> None:
        self.app = app
        self.limits = tuple(limits)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return min(limit for _, limit in self.limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's own answer to the exception: the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> JSONResponse:
    return json_error(413, f"The request body is larger than {limit} bytes.")
