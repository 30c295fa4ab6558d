"""A CiviCRM API4 REST stand-in on 127.0.0.1: checks X-Civi-Auth and the params JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeCiviCrm:
    key: str
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[tuple[int, int], str] = field(default_factory=dict)

    async def api4(self, request: Request) -> Response:
        if request.headers.get("x-civi-auth") != f"Bearer {self.key}":
            return JSONResponse({"error_message": "Authorization failed"}, status_code=401)
        form = parse_qs((await request.body()).decode())
        try:
            params = json.loads(form["params"][0])
        except (KeyError, ValueError):
            return JSONResponse({"error_message": "params must be JSON"}, status_code=400)
        entity, action = request.path_params["entity"], request.path_params["action"]
        handler = getattr(self, f"{entity.lower()}_{action.lower()}", None)
        if handler is None:
            return JSONResponse({"error_message": f"API ({entity}, {action}) does not exist"},
                                status_code=404)  # fmt: skip
        try:
            values = handler(params)
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error_message": f"bad params: {exc}"}, status_code=400)
        return JSONResponse({"values": values, "count": len(values)})

    def contact_get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        [[field_name, op, email]] = params["where"]
        if (field_name, op) == ("id", "="):
            return [{"id": email}] if email in self.contacts else []
        if (field_name, op) != ("email_primary.email", "="):
            raise ValueError("contacts are matched on email_primary.email")
        return [
            {"id": cid} for cid, c in self.contacts.items() if c["email_primary.email"] == email
        ]

    def contact_create(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        values = params["values"]
        if values.get("contact_type") != "Individual" or not values.get("email_primary.email"):
            raise ValueError("contact_type and email_primary.email are required")
        cid = len(self.contacts) + 1
        self.contacts[cid] = values
        return [{"id": cid}]

    def contact_delete(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        [[field_name, _, cid]] = params["where"]
        if field_name != "id":
            raise ValueError("delete by id")
        self.contacts.pop(cid)
        return [{"id": cid}]

    def activity_get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = {name: value for name, _, value in params["where"]}
        return [
            {"id": n + 1}
            for n, a in enumerate(self.activities)
            if all(a.get(k) == v for k, v in wanted.items())
        ]

    def activity_create(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        values = params["values"]
        if values["source_contact_id"] not in self.contacts:
            raise ValueError("unknown contact")
        self.activities.append(values)
        return [{"id": len(self.activities)}]

    def groupcontact_save(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        for record in params["records"]:
            if record["status"] not in ("Added", "Removed", "Pending"):
                raise ValueError("bad status")
            self.groups[(record["contact_id"], record["group_id"])] = record["status"]
        return params["records"]

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/civicrm/ajax/api4/{entity}/{action}", self.api4, methods=["POST"])]
        )
