"""The versioned delivery payload (version 1, documented in docs/delivery.md).

Built for the org a delivery goes to, in that org's system scope, through the visibility rule
(orgs/scoping.py): only that org's own Contact copy (masked by its scope) and its own consents,
and the action only as far as the org may see it (its own page or the action granted it its
copy; the delivery purpose sees delivery fields only). When the org registered a public key,
the contact travels as a sealed box (X25519, PyNaCl) that only the org can open.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nacl.public import PublicKey, SealedBox
from sqlalchemy import Connection

from orgs.crypto import Keyring
from orgs.delivery import repository
from orgs.outbox.repository import DeliveryJob
from orgs.scoping import ActionView, Scope, mask_action, mask_contact

VERSION = 1


class NothingToDeliver(Exception):
    """The delivery's subject is gone, or the org may no longer see it: never retried."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def seal(public_key_b64: str, contact: dict[str, Any]) -> dict[str, str]:
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    sealed = box.encrypt(json.dumps(contact, separators=(",", ":")).encode())
    return {"sealed": base64.b64encode(sealed).decode(), "algorithm": "x25519-sealedbox"}


@dataclass(frozen=True)
class Facts:
    """What one delivery may say, as the receiving org may see it."""

    context: dict[str, Any]  # org, campaign, supporter confirmation
    contact_ref: str
    contact: dict[str, Any]  # decrypted and masked by the org's Contact scope
    action: dict[str, Any] | None  # masked by the org's view of it
    page: dict[str, Any] | None  # only with the full view of the action


def facts_many(
    conn: Connection, scope: Scope, keyring: Keyring, jobs: Sequence[DeliveryJob]
) -> dict[int, Facts | NothingToDeliver]:
    """The facts of each of ``jobs`` (deliveries to one org) for that org, by delivery, or
    why there is nothing it may get; a few statements whatever their number."""
    if not jobs:
        return {}
    org_id = jobs[0].org_id
    if any(job.org_id != org_id for job in jobs):
        raise ValueError("facts of deliveries to one organisation at a time")
    supporters = sorted({j.supporter_id for j in jobs if j.supporter_id is not None})
    contexts = repository.delivery_contexts(conn, scope, org_id, supporters)
    copies = repository.contact_copies(conn, scope, org_id, supporters)
    actions = repository.actions_seen_by(
        conn, scope, org_id, sorted({j.action_id for j in jobs if j.action_id is not None})
    )
    found: dict[int, Facts | NothingToDeliver] = {}
    for job in jobs:
        try:
            found[job.id] = _facts(keyring, job, contexts, copies, actions)
        except NothingToDeliver as reason:
            found[job.id] = reason
    return found


def _facts(
    keyring: Keyring,
    job: DeliveryJob,
    contexts: Mapping[int, dict[str, Any]],
    copies: Mapping[int, repository.ContactCopy],
    actions: Mapping[int, dict[str, Any]],
) -> Facts:
    context = contexts.get(job.supporter_id) if job.supporter_id is not None else None
    if context is None:
        raise NothingToDeliver("the supporter of this delivery no longer exists")
    assert job.supporter_id is not None
    copy = copies.get(job.supporter_id)
    if copy is None:
        raise NothingToDeliver("this organisation holds no contact for the supporter")
    action = page = None
    if job.action_id is not None:
        row = actions.get(job.action_id)
        if row is None:
            raise NothingToDeliver("this organisation may not see this action")
        action = mask_action(
            {
                "id": row["id"],
                "actionType": row["action_type"],
                "customFields": row["custom_fields"],
                "createdAt": _iso(row["created_at"]),
                "testing": row["testing"],
                "tracking": {
                    "source": row["source"],
                    "medium": row["medium"],
                    "campaign": row["tracking_campaign"],
                    "content": row["content"],
                    "location": row["location"],
                },
            },
            row["view"],
        )
        if row["view"] == ActionView.FULL.value:
            page = {
                "id": row["page_id"],
                "name": row["page_name"],
                "locale": row["locale"],
                "templates": row["templates"],
                "config": row["page_config"],
            }
    contact = mask_contact(keyring.decrypt_json(copy.payload), copy.scope)
    return Facts(context, copy.ref, contact, action, page)


def facts(conn: Connection, scope: Scope, keyring: Keyring, job: DeliveryJob) -> Facts:
    """The facts of ``job`` for its org; NothingToDeliver when there is nothing it may get."""
    found = facts_many(conn, scope, keyring, [job])[job.id]
    if isinstance(found, NothingToDeliver):
        raise found
    return found


def build_many(
    conn: Connection, scope: Scope, keyring: Keyring, jobs: Sequence[DeliveryJob]
) -> dict[int, dict[str, Any] | NothingToDeliver]:
    """The payload of each of ``jobs`` (deliveries to one org), by delivery, or why there is
    nothing to deliver (see the module docstring for what a payload may contain)."""
    found = facts_many(conn, scope, keyring, jobs)
    supporters = sorted({j.supporter_id for j in jobs if j.supporter_id is not None})
    consents = repository.consents_to(conn, scope, jobs[0].org_id, supporters) if jobs else {}
    built: dict[int, dict[str, Any] | NothingToDeliver] = {}
    for job in jobs:
        facts_of = found[job.id]
        if isinstance(facts_of, NothingToDeliver):
            built[job.id] = facts_of
            continue
        assert job.supporter_id is not None
        built[job.id] = _payload(job, facts_of, consents.get(job.supporter_id, []))
    return built


def build(conn: Connection, scope: Scope, keyring: Keyring, job: DeliveryJob) -> dict[str, Any]:
    """The payload of ``job`` (see the module docstring for what it may contain)."""
    built = build_many(conn, scope, keyring, [job])[job.id]
    if isinstance(built, NothingToDeliver):
        raise built
    return built


def _payload(
    job: DeliveryJob, found: Facts, consents: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    context = found.context
    payload: dict[str, Any] = {
        "version": VERSION,
        "event": job.event,
        "deliveryId": job.idempotency_key,
        "org": {"name": context["org_name"]},
        "campaign": {"name": context["campaign_name"], "title": context["campaign_title"]},
        "supporter": {"confirmation": context["confirmation"]},
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
            for c in consents
        ],
    }
    if found.page is not None:
        page = found.page
        payload["actionPage"] = {"id": page["id"], "name": page["name"], "locale": page["locale"]}
    if found.action is not None:
        payload["action"] = found.action
    contact = {"contactRef": found.contact_ref, **found.contact}
    key = context["public_key"]
    payload["contact"] = seal(key, contact) if key else contact
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
