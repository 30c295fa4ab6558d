"""Action Network (OSDI API v2): record the signature with the person, tags and source code.

Config: ``petitionId`` (optional: with it, the record signature helper
``POST /api/v2/petitions/{id}/signatures/``; without, the person signup helper
``POST /api/v2/people/``), optional ``tags`` and ``baseUrl`` (default
``https://actionnetwork.org``). Secrets: ``apiKey`` (sent as ``OSDI-API-Token``).

Consent mapping: the helpers subscribe the person they receive, so only supporters who gave
communication consent to the org are sent (email status ``subscribed``); without consent the
signature stays in the hub (``contacts`` and exports). ``consent_withdrawn`` sends the person
with email status ``unsubscribed``. Action Network matches people by email, so a redelivery
updates the same person. ``connector_test`` only reads the API entry point or the petition.
"""

from __future__ import annotations

from collections.abc import Mapping
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

DEFAULT_BASE = "https://actionnetwork.org"


def person(contact: Mapping[str, Any], status: str) -> dict[str, Any]:
    out: dict[str, Any] = {"email_addresses": [{"address": contact["email"], "status": status}]}
    if contact.get("firstName"):
        out["given_name"] = contact["firstName"]
    if contact.get("lastName"):
        out["family_name"] = contact["lastName"]
    address = contact.get("address") or {}
    postal = {
        key: address[source]
        for key, source in (("postal_code", "postcode"), ("locality", "locality"),
                            ("region", "region"), ("country", "country"))
        if address.get(source)
    }  # fmt: skip
    if postal:
        out["postal_addresses"] = [postal]
    if contact.get("phone"):
        out["phone_numbers"] = [{"number": contact["phone"], "number_type": "Mobile"}]
    return out


class ActionNetwork:
    kind = "actionnetwork"

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        configured(target)
        base = str(target.config.get("baseUrl") or DEFAULT_BASE).rstrip("/")
        headers = {"OSDI-API-Token": str(target.secrets["apiKey"])}
        if payload.get("event") == "connector_test":
            # read-only: the API entry point (or the configured petition) with the key
            petition = target.config.get("petitionId")
            path = f"/api/v2/petitions/{petition}" if petition else "/api/v2/"
            send(http, http.build_request("GET", base + path, headers=headers),
                 what="Action Network")  # fmt: skip
            return None
        contact = payload.get("contact") or {}
        if not contact.get("email"):
            raise PermanentFailure("no email address to send to Action Network (sealed?)")
        event = payload.get("event")
        if event in ("consent_withdrawn", "erasure_requested"):
            status = "unsubscribed"  # the API offers no deletion: see docs/delivery.md
        elif communication_consent(payload):
            status = "subscribed"
        else:
            return None  # the helpers would subscribe them: stays in the hub
        body: dict[str, Any] = {"person": person(contact, status)}
        tags = [*target.config.get("tags", []), (payload.get("campaign") or {}).get("name")]
        if event not in ("consent_withdrawn", "erasure_requested") and any(tags):
            body["add_tags"] = [str(t) for t in tags if t]
        tracking = (payload.get("action") or {}).get("tracking") or {}
        if tracking.get("source"):
            body["action_network:referrer_data"] = {
                "source": tracking["source"],
                "referrer": tracking.get("medium") or "",
            }
        petition = target.config.get("petitionId")
        if petition and event == "action_created":
            url = f"{base}/api/v2/petitions/{petition}/signatures/"
            comment = ((payload.get("action") or {}).get("customFields") or {}).get("comment")
            if comment:
                body["comments"] = str(comment)[:1000]
        else:
            url = f"{base}/api/v2/people/"
        response = send(http, http.build_request("POST", url, json=body, headers=headers),
                        what="Action Network")  # fmt: skip
        try:
            links = response.json().get("_links", {})
            return str(links.get("self", {}).get("href") or "") or None
        except ValueError:
            return None


register(ActionNetwork())
