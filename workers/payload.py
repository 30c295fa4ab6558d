"""The versioned delivery payload (version 1, documented in docs/delivery.md).

Built from the Delivery row for the org it goes to: only that org's own Contact copy and its
own consents (DESIGN §5). When the org registered a public key, the contact travels as a
sealed box (X25519, PyNaCl) that only the org can open.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from nacl.public import PublicKey, SealedBox
from sqlalchemy import Connection

from orgs.crypto import Keyring
from workers import repository
from workers.connectors.base import PermanentFailure
from workers.repository import DeliveryJob

VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def seal(public_key_b64: str, contact: dict[str, Any]) -> dict[str, str]:
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    sealed = box.encrypt(json.dumps(contact, separators=(",", ":")).encode())
    return {"sealed": base64.b64encode(sealed).decode(), "algorithm": "x25519-sealedbox"}


def build(conn: Connection, keyring: Keyring, job: DeliveryJob) -> dict[str, Any]:
    """The payload of ``job``; PermanentFailure when its subject no longer exists."""
    if job.supporter_id is None:
        raise PermanentFailure("the supporter of this delivery no longer exists")
    found = repository.facts(
        conn, org_id=job.org_id, supporter_id=job.supporter_id, action_id=job.action_id
    )
    if found is None:
        raise PermanentFailure("the supporter of this delivery no longer exists")
    payload: dict[str, Any] = {
        "version": VERSION,
        "event": job.event,
        "deliveryId": job.idempotency_key,
        "org": {"name": found["org_name"]},
        "campaign": {"name": found["campaign_name"], "title": found["campaign_title"]},
        "actionPage": {
            "id": found["page_id"],
            "name": found["page_name"],
            "locale": found["locale"],
        },
        "supporter": {"confirmation": found["confirmation"]},
        "consents": [
            {
                "org": c["org"],
                "purpose": c["purpose"],
                "given": c["given"] and c["withdrawn_at"] is None,
                "wordingVersion": c["wording_version"],
                "method": c["method"],
                "at": _iso(c["created_at"]),
                "confirmedAt": _iso(c["confirmed_at"]),
            }
            for c in repository.consents(conn, org_id=job.org_id, supporter_id=job.supporter_id)
        ],
    }
    if found["action_id"] is not None:
        payload["action"] = {
            "id": found["action_id"],
            "actionType": found["action_type"],
            "customFields": found["custom_fields"],
            "createdAt": _iso(found["created_at"]),
            "testing": found["testing"],
            "tracking": {
                "source": found["source"],
                "medium": found["medium"],
                "campaign": found["tracking_campaign"],
                "content": found["content"],
                "location": found["location"],
            },
        }
    blob = repository.contact_payload(conn, org_id=job.org_id, supporter_id=job.supporter_id)
    if blob is None:
        raise PermanentFailure("this organisation holds no contact for the supporter")
    contact = {"contactRef": found["ref"], **keyring.decrypt_json(blob)}
    payload["contact"] = seal(found["public_key"], contact) if found["public_key"] else contact
    return payload


def connector_test(job: DeliveryJob, org_name: str) -> dict[str, Any]:
    """The fixed ``connector_test`` payload: the payload's shape, nobody's data in it."""
    return {
        "version": VERSION,
        "event": job.event,
        "deliveryId": job.idempotency_key,
        "testing": True,
        "org": {"name": org_name},
        "campaign": {"name": "connector-test", "title": "Connector test"},
        "contact": {
            "contactRef": "connector-test",
            "firstName": "Test",
            "lastName": "Connector",
            "email": "connector-test@example.org",
        },
        "consents": [],
        "supporter": {"confirmation": "none"},
    }
