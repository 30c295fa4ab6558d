"""ALTCHA proof-of-work for pages that enable it (page config ``"altcha": true``).

The widget fetches a challenge (``GET /altcha/challenge``), finds the number whose SHA-256
with the salt gives the challenge (about a second of work for a browser, expensive in bulk
for a bot) and sends the solution in the ``X-Altcha`` header, a base64 JSON object as in the
ALTCHA protocol. Challenges are signed with the instance secret (no storage), expire after
five minutes and are accepted once per process. A missing or wrong solution does not refuse
the signature: it is stored flagged ``altcha`` (not counted, not delivered).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

from orgs.crypto import Keyring

MAX_NUMBER = 50_000
TTL_SECONDS = 300
_PURPOSE = "altcha"
_SPENT: dict[str, float] = {}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def challenge(keyring: Keyring, now: float | None = None) -> dict[str, object]:
    expires = int((now if now is not None else time.time()) + TTL_SECONDS)
    salt = f"{secrets.token_hex(12)}?expires={expires}"
    target = _sha256(salt + str(secrets.randbelow(MAX_NUMBER)))
    return {
        "algorithm": "SHA-256",
        "challenge": target,
        "maxnumber": MAX_NUMBER,
        "salt": salt,
        "signature": keyring.sign(_PURPOSE, target),
    }


def verify(keyring: Keyring, header: str | None, now: float | None = None) -> bool:
    """Whether ``header`` solves a challenge this instance issued, unexpired and unused."""
    if not header or len(header) > 2048:
        return False
    try:
        solution = json.loads(base64.b64decode(header, validate=True))
        salt, number = str(solution["salt"]), int(solution["number"])
        target, signature = str(solution["challenge"]), str(solution["signature"])
        expires = int(salt.rsplit("?expires=", 1)[1])
    except (ValueError, KeyError, TypeError, IndexError):
        return False
    moment = now if now is not None else time.time()
    if expires < moment or solution.get("algorithm") != "SHA-256":
        return False
    if not keyring.verify(_PURPOSE, target, signature) or _sha256(salt + str(number)) != target:
        return False
    for spent, until in list(_SPENT.items()):
        if until < moment:
            del _SPENT[spent]
    if target in _SPENT:
        return False  # a solution works once
    _SPENT[target] = expires
    return True


def solve(data: dict[str, object]) -> str:
    """What a widget does (used by tests and scripts): the ``X-Altcha`` header value."""
    salt, target = str(data["salt"]), str(data["challenge"])
    max_number = int(str(data["maxnumber"]))
    for number in range(max_number + 1):
        if _sha256(salt + str(number)) == target:
            solution = {**data, "number": number}
            solution.pop("maxnumber", None)
            return base64.b64encode(json.dumps(solution).encode()).decode()
    raise ValueError("no solution")
