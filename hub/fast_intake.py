"""A fast path for the hub widget's own signature and follow-up operations.

The widget (widget/widget.js) always sends the same two GraphQL documents. For exactly those
strings, with variables of exactly the declared types and no credentials, this path skips
strawberry's per-request work and calls the same intake service the resolvers call, answering
the same JSON strawberry would (a test compares both paths). Anything else (another document,
a variable of an unexpected type, an Authorization header, a GET) goes to strawberry
untouched, so its validation and error messages stay the single source of truth.

A signature goes to the process's group commit (orgs/intake/group.py) when it can (its
page's facts cached, no Idempotency-Key, no message to targets, HUB_INTAKE_GROUP_COMMIT_MS
above 0), else to one transaction of its own; both answer the same.

The body's size is bounded by ``hub.bodies.BodyLimit`` (HUB_GRAPHQL_MAX_BODY_BYTES) in front
of every route, so this reads it whole.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hub import bodies
from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.group import GroupCommit
from orgs.intake.pages import PageCache
from orgs.intake.validation import IntakeValidationError
from resolvers.intake import intake_options, meta_of

WIDGET = Path(__file__).resolve().parents[1] / "widget" / "widget.js"

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def widget_documents() -> dict[str, str]:
    """The widget's operation documents by name (M_SIGN, M_ACT), read from widget.js."""
    source = WIDGET.read_text("utf-8")
    found = dict(re.findall(r"const (M_SIGN|M_ACT) = '([^']+)';", source))
    return found


_STR_KEYS = {
    "contact": ("firstName", "lastName", "name", "email", "phone", "birthDate"),
    "address": ("country", "postcode", "locality", "region", "street", "streetNumber"),
    "tracking": ("source", "medium", "campaign", "content", "location", "referralCode"),
}


def _optional(value: Any, kind: type) -> bool:
    return value is None or (type(value) is kind)


def _strings(value: Any, keys: tuple[str, ...]) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= set(keys)
        and all(_optional(v, str) for v in value.values())
    )


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(type(item) is str for item in value)


def _mtt(value: Any) -> bool:
    """A message to targets (``ActionInput.mtt``) of exactly the declared types."""
    return value is None or (
        isinstance(value, dict)
        and set(value) <= {"subject", "body", "targets", "files"}
        and _optional(value.get("subject"), str)
        and _optional(value.get("body"), str)
        and _texts(value.get("targets"))
        and (value.get("files") is None or _texts(value.get("files")))
    )


def _action(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= {"actionType", "customFields", "testing", "mtt"}
        and type(value.get("actionType")) is str
        and _optional(value.get("testing"), bool)
        and _mtt(value.get("mtt"))
    )


def _contact(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= {*_STR_KEYS["contact"], "address"}:
        return False
    address = value.get("address")
    rest = {k: v for k, v in value.items() if k != "address"}
    return _strings(rest, _STR_KEYS["contact"]) and (
        address is None or _strings(address, _STR_KEYS["address"])
    )


def _privacy(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= {"optIn", "leadOptIn", "consentVersion"}
        and _optional(value.get("optIn"), bool)
        and _optional(value.get("leadOptIn"), bool)
        and _optional(value.get("consentVersion"), str)
    )


def _tracking(value: Any) -> bool:
    return value is None or _strings(value, _STR_KEYS["tracking"])


def _page_id(value: Any) -> bool:
    return type(value) is int and -(2**31) <= value < 2**31


class FastIntake:
    """ASGI wrapper around the GraphQL app: the widget's two mutations, straight to the service."""

    def __init__(
        self,
        graphql: ASGIApp,
        *,
        uow: UnitOfWork,
        settings: Settings,
        keyring: Keyring,
        pages: PageCache | None = None,
        group: GroupCommit | None = None,
    ) -> None:
        self.graphql = graphql
        self.pages = pages
        self.group = group
        self.uow = uow
        self.settings = settings
        self.keyring = keyring
        documents = widget_documents()
        self.sign = documents.get("M_SIGN")
        self.follow_up = documents.get("M_ACT")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.graphql(scope, receive, send)
            return
        body = await _read(receive)
        response = None
        if not _has_header(scope, b"authorization"):
            response = await self.try_handle(scope, body)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.graphql(scope, _replay(body, receive), send)

    async def try_handle(self, scope: Scope, body: bytes) -> Response | None:
        try:
            request = bodies.loads(body)
        except bodies.BadJson:
            return None  # strawberry answers the error
        if not isinstance(request, dict) or set(request) - {"query", "variables"}:
            return None
        query, variables = request.get("query"), request.get("variables")
        if not isinstance(variables, dict):
            return None
        if query == self.sign and query is not None:
            return await self._sign(scope, variables)
        if query == self.follow_up and query is not None:
            return await self._follow_up(scope, variables)
        return None

    async def _sign(self, scope: Scope, v: dict[str, Any]) -> Response | None:
        if set(v) - {"p", "a", "c", "v", "t"} or not (
            _page_id(v.get("p"))
            and _action(v.get("a"))
            and _contact(v.get("c"))
            and _privacy(v.get("v"))
            and _tracking(v.get("t"))
        ):
            return None
        field = "addActionContact"
        options = intake_options(self.settings, self.keyring, self.pages)
        meta = meta_of(Request(scope))
        submission = {
            "action": v["a"],
            "contact": v["c"],
            "privacy": v["v"],
            "tracking": v.get("t"),
        }
        try:
            receipt = None
            if self.group is not None:
                receipt = await service.sign_grouped(
                    self.group, self.uow.connection, options, v["p"], meta=meta, **submission
                )
            if receipt is None:
                async with self.uow.connection() as conn:
                    receipt = await service.add_action_contact(
                        conn, options, v["p"], meta=meta, **submission
                    )
        except IntakeValidationError as error:
            return _errors(field, error)
        data = {
            "contactRef": receipt.contact_ref,
            "referralCode": receipt.referral_code,
            "mailto": receipt.mailto,
        }
        return _json({"data": {field: data}})

    async def _follow_up(self, scope: Scope, v: dict[str, Any]) -> Response | None:
        if set(v) - {"p", "a", "r", "t"} or not (
            _page_id(v.get("p"))
            and _action(v.get("a"))
            and type(v.get("r")) in (str, int)
            and _tracking(v.get("t"))
        ):
            return None
        field = "addAction"
        try:
            async with self.uow.connection() as conn:
                receipt = await service.add_action(
                    conn,
                    intake_options(self.settings, self.keyring, self.pages),
                    v["p"],
                    action=v["a"],
                    contact_ref=str(v["r"]),
                    tracking=v.get("t"),
                    meta=meta_of(Request(scope)),
                )
        except IntakeValidationError as error:
            return _errors(field, error)
        return _json({"data": {field: {"contactRef": receipt.contact_ref}}})


def _errors(field: str, error: IntakeValidationError) -> Response:
    return _json(
        {
            "data": None,
            "errors": [
                {
                    "message": e.message,
                    "path": [field, *e.path],
                    "extensions": {"code": e.code.value},
                }
                for e in error.errors
            ],
        }
    )


def _json(content: dict[str, Any]) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers", ()))


async def _read(receive: Receive) -> bytes:
    """The whole request body (BodyLimit stops it at the configured size)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body out again, then waits as before."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
