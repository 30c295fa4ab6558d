"""Webhook connector: POST the JSON payload, signed per the Standard Webhooks scheme.

Headers ``webhook-id`` (the delivery id: receivers dedupe on it), ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one entry per
active secret, space separated, so a secret can be rotated without downtime). Secrets are
``whsec_<base64>`` strings kept encrypted in the connector's secrets (``secrets`` list).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence

import httpx
import orjson

from workers.connectors.base import ConnectorTarget, Payload, configured, post, register


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for ``body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets:
        digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)


def verify(
    secret: str, msg_id: str, timestamp: str, body: bytes, header: str, tolerance: int = 300
) -> bool:
    """What a receiver does (documented in docs/delivery.md); used by the tests."""
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sign([secret], msg_id, int(timestamp), body).split(",", 1)[1]
    return any(
        hmac.compare_digest(candidate.split(",", 1)[-1], expected) for candidate in header.split()
    )


class Webhook:
    kind = "webhook"

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        configured(target)
        url = str(target.config["url"])
        body = _json(payload)
        msg_id = str(payload["deliveryId"])
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "coalition-hub-webhook/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(target.secrets["secrets"], msg_id, timestamp, body),
        }
        post(http, url, body, headers, what="the webhook")
        return None


def _json(payload: Payload) -> bytes:
    """The body: compact UTF-8 JSON (orjson, a sixth of the standard encoder's CPU); values
    orjson cannot hold (an integer beyond 64 bits from a widget's custom field) by the
    standard encoder, which holds them exactly. Dates and other objects as ``str`` gives."""
    try:
        return orjson.dumps(payload, default=str, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(payload, separators=(",", ":"), default=str).encode()


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


register(Webhook())
