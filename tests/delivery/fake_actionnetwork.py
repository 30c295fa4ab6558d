"""An Action Network OSDI stand-in on 127.0.0.1: checks the token and helper bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeActionNetwork:
    token: str
    petition: str = "d91b4b2e-ae0e-4cd3-9ed7-d0ec501b0bc3"
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    reads: list[str] = field(default_factory=list)

    def _check(self, request: Request, body: Any) -> Response | None:
        if self.fail_with:
            return JSONResponse({"error": "told to fail"}, status_code=self.fail_with)
        if request.headers.get("osdi-api-token") != self.token:
            return JSONResponse({"error": "API Key invalid or not present"}, status_code=401)
        person = body.get("person") if isinstance(body, dict) else None
        emails = (person or {}).get("email_addresses") or []
        if not emails or not emails[0].get("address"):
            return JSONResponse({"error": "You must specify a valid person"}, status_code=400)
        if emails[0].get("status") not in ("subscribed", "unsubscribed"):
            return JSONResponse({"error": "invalid email status"}, status_code=400)
        return None

    def _upsert(self, body: dict[str, Any]) -> str:
        person = body["person"]
        email = person["email_addresses"][0]["address"].lower()
        stored = self.people.setdefault(email, {"tags": set()})
        stored.update(person)
        stored["status"] = person["email_addresses"][0]["status"]
        stored["tags"] |= set(body.get("add_tags", []))
        stored["referrer_data"] = body.get("action_network:referrer_data")
        return email

    async def people_helper(self, request: Request) -> Response:
        body = json.loads(await request.body())
        problem = self._check(request, body)
        if problem is not None:
            return problem
        email = self._upsert(body)
        return JSONResponse({"_links": {"self": {"href": f"/api/v2/people/{email}"}}})

    async def signature_helper(self, request: Request) -> Response:
        if request.path_params["petition"] != self.petition:
            return JSONResponse({"error": "petition not found"}, status_code=404)
        body = json.loads(await request.body())
        problem = self._check(request, body)
        if problem is not None:
            return problem
        email = self._upsert(body)
        self.signatures.append({"email": email, "comments": body.get("comments")})
        return JSONResponse({"_links": {"self": {"href": f"/signatures/{len(self.signatures)}"}}})

    async def read(self, request: Request) -> Response:
        self.reads.append(request.url.path)
        if request.headers.get("osdi-api-token") != self.token:
            return JSONResponse({"error": "API Key invalid or not present"}, status_code=401)
        petition = request.path_params.get("petition")
        if petition is not None and petition != self.petition:
            return JSONResponse({"error": "petition not found"}, status_code=404)
        return JSONResponse({"_links": {"self": {"href": request.url.path}}})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v2/", self.read, methods=["GET"]),
                Route("/api/v2/petitions/{petition}", self.read, methods=["GET"]),
                Route("/api/v2/people/", self.people_helper, methods=["POST"]),
                Route(
                    "/api/v2/petitions/{petition}/signatures/",
                    self.signature_helper,
                    methods=["POST"],
                ),
            ]
        )
