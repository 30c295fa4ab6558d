"""CiviCRM (API v4 over REST): match or create the contact, log the signature, manage the group.

Config: ``baseUrl`` (the site, e.g. ``https://crm.example.org``), optional ``groupId`` (the
mailing group joined on communication consent) and ``activityType`` (default ``Petition
Signature``). Secrets: ``apiKey`` (sent as ``X-Civi-Auth: Bearer …``). Each call is
``POST {baseUrl}/civicrm/ajax/api4/{Entity}/{action}`` with a form field ``params`` (JSON).

Consent mapping: everyone signing becomes (or is matched to) a contact with a "Petition
Signature" activity, the org's own record of what the person did; only communication consent
adds them to ``groupId`` (``GroupContact`` status ``Added``); ``consent_withdrawn`` sets it
``Removed``; ``erasure_requested`` deletes the contact (to the trash). Contacts are matched
on their primary email, so a redelivery finds the same one. ``connector_test`` only runs a
``Contact.get`` that matches nobody.
"""

from __future__ import annotations

import json
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


class CiviCrm:
    kind = "civicrm"

    def _call(
        self,
        http: httpx.Client,
        target: ConnectorTarget,
        entity: str,
        action: str,
        params: dict[str, Any],
    ) -> list[dict[str, Any]]:
        base = str(target.config["baseUrl"]).rstrip("/")
        request = http.build_request(
            "POST",
            f"{base}/civicrm/ajax/api4/{entity}/{action}",
            data={"params": json.dumps(params)},
            headers={
                "X-Civi-Auth": f"Bearer {target.secrets['apiKey']}",
                "X-Requested-With": "XMLHttpRequest",
            },
        )
        response = send(http, request, what="CiviCRM")
        try:
            values = response.json().get("values", [])
        except ValueError:
            raise PermanentFailure("CiviCRM answered something that is not API4 JSON") from None
        return list(values)

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        configured(target)
        if payload.get("event") == "connector_test":
            # read-only, and matches nobody: the key and the API4 endpoint work
            self._call(http, target, "Contact", "get",
                       {"select": ["id"], "where": [["id", "=", 0]], "limit": 1})  # fmt: skip
            return None
        contact = payload.get("contact") or {}
        email = contact.get("email")
        if not email:
            raise PermanentFailure("no email address to match in CiviCRM (sealed?)")
        found = self._call(
            http,
            target,
            "Contact",
            "get",
            {"select": ["id"], "where": [["email_primary.email", "=", email]], "limit": 1},
        )
        if payload.get("event") == "erasure_requested":
            if not found:
                return None
            contact_id = int(found[0]["id"])
            # to CiviCRM's trash, where the site's own retention rules apply
            self._call(http, target, "Contact", "delete", {"where": [["id", "=", contact_id]]})
            return str(contact_id)
        names = {
            "first_name": contact.get("firstName") or "",
            "last_name": contact.get("lastName") or "",
        }
        if found:
            contact_id = int(found[0]["id"])
        else:
            created = self._call(
                http,
                target,
                "Contact",
                "create",
                {
                    "values": {
                        "contact_type": "Individual",
                        "email_primary.email": email,
                        "source": "Coalition Hub",
                        **names,
                    }
                },
            )
            contact_id = int(created[0]["id"])
        group = target.config.get("groupId")
        event = payload.get("event")

        if event == "consent_withdrawn":
            if group:
                self._group(http, target, contact_id, int(group), "Removed")
            return str(contact_id)
        delivery = str(payload.get("deliveryId", ""))
        if event == "action_created" and not self._logged(http, target, contact_id, delivery):
            campaign = (payload.get("campaign") or {}).get("title") or "a petition"
            self._call(
                http,
                target,
                "Activity",
                "create",
                {
                    "values": {
                        "activity_type_id:name": target.config.get(
                            "activityType", "Petition Signature"
                        ),
                        "subject": str(campaign)[:255],
                        "source_contact_id": contact_id,
                        "target_contact_id": [contact_id],
                        "status_id:name": "Completed",
                        "details": f"coalition-hub:{delivery}",
                    }
                },
            )
        if group and communication_consent(payload):
            self._group(http, target, contact_id, int(group), "Added")
        return str(contact_id)

    def _logged(
        self, http: httpx.Client, target: ConnectorTarget, contact_id: int, delivery: str
    ) -> bool:
        """Whether this delivery's activity exists already (a retry after a lost answer)."""
        found = self._call(
            http,
            target,
            "Activity",
            "get",
            {
                "select": ["id"],
                "where": [
                    ["source_contact_id", "=", contact_id],
                    ["details", "=", f"coalition-hub:{delivery}"],
                ],
                "limit": 1,
            },
        )
        return bool(found)

    def _group(
        self, http: httpx.Client, target: ConnectorTarget, contact_id: int, group: int, status: str
    ) -> None:
        self._call(
            http,
            target,
            "GroupContact",
            "save",
            {
                "records": [{"contact_id": contact_id, "group_id": group, "status": status}],
                "match": ["contact_id", "group_id"],
            },
        )


register(CiviCrm())
