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
import ipaddress
import json
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from workers.connectors.base import (
    ConfigProblem,
    ConnectorTarget,
    Payload,
    PermanentFailure,
    register,
    send,
)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def _valid_secret(secret: object) -> bool:
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 16
    except ValueError:
        return False


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


def private_address(url: str) -> bool:
    """Whether ``url``'s host resolves to a private, loopback or link-local address."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the request will fail and be retried
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            return True
    return False


class Webhook:
    kind = "webhook"

    def check_config(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any]
    ) -> list[ConfigProblem]:
        problems = []
        parts = urlsplit(str(config.get("url", "")))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(ConfigProblem("url", "INVALID_URL", "An http(s) URL is required"))
        keys = secrets.get("secrets") or []
        if not keys or not all(_valid_secret(k) for k in keys):
            problems.append(
                ConfigProblem("secrets", "INVALID_SECRET", "Secrets look like whsec_<base64>")
            )
        return problems

    def deliver(self, target: ConnectorTarget, payload: Payload, http: httpx.Client) -> str | None:
        url = str(target.config.get("url", ""))
        if self.check_config(target.config, target.secrets):
            raise PermanentFailure("the webhook is not configured correctly")
        if not target.allow_private_networks and private_address(url):
            raise PermanentFailure("the webhook URL points to a private or loopback network")
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        msg_id = str(payload["deliveryId"])
        timestamp = int(time.time())
        request = http.build_request(
            "POST",
            url,
            content=body,
            headers={
                "content-type": "application/json",
                "user-agent": "coalition-hub-webhook/1",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(target.secrets["secrets"], msg_id, timestamp, body),
            },
        )
        send(http, request, what="the webhook")
        return None


register(Webhook())
