"""Mailchimp (Marketing API 3.0): upsert the audience member with consent, then tag it.

Config: ``listId`` (the audience), optional ``tags`` (list), ``marketingPermissionId`` (the
audience's GDPR "Email" permission) and ``baseUrl`` (default from the key's data centre:
``…-us6`` → ``https://us6.api.mailchimp.com``). Secrets: ``apiKey``.

Consent mapping: communication consent given to the org → ``subscribed`` (and the marketing
permission enabled); otherwise the person is added as ``transactional`` (kept, never
mailed) and an existing member's status is left as it is. ``consent_withdrawn`` sets the
member ``unsubscribed``; ``erasure_requested`` deletes the member permanently. The member
id is the MD5 of the lowercased email, so a redelivery
updates the same member (idempotent).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from workers.connectors.base import (
    ConnectorTarget,
    Payload,
    PermanentFailure,
    communication_consent,
    configured,
    register,
    send,
)


class Mailchimp:
    kind = "mailchimp"

    def _base(self, target: ConnectorTarget) -> str:
        if target.config.get("baseUrl"):
            return str(target.config["baseUrl"]).rstrip("/")
        center = str(target.secrets["apiKey"]).rsplit("-", 1)[1]
        return f"https://{center}.api.mailchimp.com"

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        configured(target)
        token = base64.b64encode(f"coalition-hub:{target.secrets['apiKey']}".encode()).decode()
        auth = {"authorization": f"Basic {token}"}
        audience = f"{self._base(target)}/3.0/lists/{target.config['listId']}"
        if payload.get("event") == "connector_test":
            # read-only: the key works and the audience exists; no member is written
            send(http, http.build_request("GET", audience, params={"fields": "id"},
                                          headers=auth), what="Mailchimp")  # fmt: skip
            return None
        contact = payload.get("contact") or {}
        email = contact.get("email")
        if not email:
            raise PermanentFailure("no email address to send to Mailchimp (sealed or missing)")
        member = hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's id
        url = f"{audience}/members/{member}"
        if payload.get("event") == "erasure_requested":
            request = http.build_request("POST", f"{url}/actions/delete-permanent", headers=auth)
            send(http, request, what="Mailchimp")
            return member
        if payload.get("event") == "consent_withdrawn":
            send(
                http,
                http.build_request("PATCH", url, json={"status": "unsubscribed"}, headers=auth),
                what="Mailchimp",
            )
            return member
        consented = communication_consent(payload)
        body: dict[str, Any] = {
            "email_address": email,
            "status_if_new": "subscribed" if consented else "transactional",
            "merge_fields": {
                "FNAME": contact.get("firstName") or "",
                "LNAME": contact.get("lastName") or "",
            },
        }
        if consented:
            body["status"] = "subscribed"
        permission = target.config.get("marketingPermissionId")
        if permission:
            body["marketing_permissions"] = [
                {"marketing_permission_id": permission, "enabled": consented}
            ]
        send(http, http.build_request("PUT", url, json=body, headers=auth), what="Mailchimp")
        tags = [*target.config.get("tags", []), payload.get("campaign", {}).get("name")]
        source = ((payload.get("action") or {}).get("tracking") or {}).get("source")
        if source:
            tags.append(f"source:{source}")
        wanted = [{"name": str(t)[:100], "status": "active"} for t in tags if t]
        if wanted:
            send(
                http,
                http.build_request("POST", f"{url}/tags", json={"tags": wanted}, headers=auth),
                what="Mailchimp",
            )
        return member


register(Mailchimp())
