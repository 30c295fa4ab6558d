"""Webhook signatures checked by an independent implementation of the Standard Webhooks scheme.

The checker below is written from the specification (base64 secret after ``whsec_``,
HMAC-SHA256 over ``id.timestamp.body``, ``v1,`` entries separated by spaces), not from
workers/connectors/webhook.py: the connector's output must satisfy it, and tampering with
any part must not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from workers.connectors.webhook import sign


def spec_check(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    key = base64.b64decode(secret.split("_", 1)[1])
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.digest(key, content, hashlib.sha256))
    for entry in header.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class TestStandardWebhooksSignatures:
    def test_a_thousand_payloads_verify_and_tampered_ones_do_not(self) -> None:
        # given
        rotated, current = _secret(), _secret()
        failures = []
        for n in range(1000):
            body = json.dumps({"n": n, "contact": {"email": f"p{n}@example.org"}}).encode()
            msg_id, ts = f"action_created:a{n}:1", str(int(time.time()))
            # when
            header = sign([rotated, current], msg_id, int(ts), body)
            # then: both secrets of a rotation verify, tampering breaks it
            if not (spec_check(current, msg_id, ts, body, header)
                    and spec_check(rotated, msg_id, ts, body, header)):  # fmt: skip
                failures.append(f"{n}: genuine rejected")
            tampered = (
                (msg_id + "x", ts, body),
                (msg_id, str(int(ts) + 1), body),
                (msg_id, ts, body.replace(b"example.org", b"evil.example")),
            )
            if any(spec_check(current, *t, header) for t in tampered):
                failures.append(f"{n}: tampered accepted")
            if spec_check(_secret(), msg_id, ts, body, header):
                failures.append(f"{n}: another secret accepted")
        assert failures == []
