"""A Mailchimp Marketing API 3.0 stand-in on 127.0.0.1: checks auth and bodies, keeps members."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATUSES = {"subscribed", "unsubscribed", "cleaned", "pending", "transactional"}


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@dataclass
class FakeMailchimp:
    api_key: str
    list_id: str = "a1b2c3d4e5"
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, set[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_with: int | None = None

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        _, _, key = base64.b64decode(header[6:]).decode().partition(":")
        return key == self.api_key

    async def member(self, request: Request) -> Response:
        self.calls.append(f"{request.method} member")
        if self.fail_with:
            return _problem(self.fail_with, "Error", "told to fail")
        if not self._authorised(request):
            return _problem(401, "API Key Invalid", "Your API key may be invalid.")
        if request.path_params["list_id"] != self.list_id:
            return _problem(404, "Resource Not Found", "The requested resource was not found.")
        body = json.loads(await request.body())
        member = request.path_params["member"]
        if request.method == "PATCH":
            if member not in self.members:
                return _problem(404, "Resource Not Found", "member")
            self.members[member]["status"] = body["status"]
            return JSONResponse(self.members[member])
        email = body.get("email_address", "")
        if hashlib.md5(email.lower().encode()).hexdigest() != member:
            return _problem(400, "Invalid Resource", "The subscriber hash does not match.")
        if body.get("status_if_new") not in STATUSES:
            return _problem(400, "Invalid Resource", "status_if_new is invalid")
        existing = self.members.get(member)
        status = body.get("status") or (existing or {}).get("status") or body["status_if_new"]
        self.members[member] = {
            "email_address": email,
            "status": status,
            "merge_fields": body.get("merge_fields", {}),
            "marketing_permissions": body.get("marketing_permissions", []),
        }
        return JSONResponse(self.members[member])

    async def member_tags(self, request: Request) -> Response:
        self.calls.append("POST tags")
        if not self._authorised(request):
            return _problem(401, "API Key Invalid", "Your API key may be invalid.")
        member = request.path_params["member"]
        if member not in self.members:
            return _problem(404, "Resource Not Found", "member")
        body = json.loads(await request.body())
        names = {t["name"] for t in body["tags"] if t.get("status") == "active"}
        self.tags.setdefault(member, set()).update(names)
        return Response(status_code=204)

    async def delete_permanent(self, request: Request) -> Response:
        self.calls.append("POST delete-permanent")
        if not self._authorised(request):
            return _problem(401, "API Key Invalid", "Your API key may be invalid.")
        if self.members.pop(request.path_params["member"], None) is None:
            return _problem(404, "Resource Not Found", "member")
        return Response(status_code=204)

    async def audience(self, request: Request) -> Response:
        self.calls.append("GET list")
        if not self._authorised(request):
            return _problem(401, "API Key Invalid", "Your API key may be invalid.")
        if request.path_params["list_id"] != self.list_id:
            return _problem(404, "Resource Not Found", "The requested resource was not found.")
        return JSONResponse({"id": self.list_id})

    def app(self) -> Starlette:
        base = "/3.0/lists/{list_id}/members/{member}"
        return Starlette(
            routes=[
                Route("/3.0/lists/{list_id}", self.audience, methods=["GET"]),
                Route(base, self.member, methods=["PUT", "PATCH"]),
                Route(base + "/actions/delete-permanent", self.delete_permanent, methods=["POST"]),
                Route(base + "/tags", self.member_tags, methods=["POST"]),
            ]
        )
