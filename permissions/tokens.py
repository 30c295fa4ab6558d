"""Org API tokens: ``chub_at_<prefix>_<secret>``; only a keyed hash of the secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "chub_at_"


@dataclass(frozen=True)
class NewToken:
    prefix: str
    secret_hash: str
    plaintext: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    # The secret is 256 bits of randomness, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_token(seed: str | None = None) -> NewToken:
    """A new random token; with ``seed`` (a secret-derived string, e.g. the demo's) the same
    token every time, so a demo instance does not pile up tokens on every start."""
    if seed is None:
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    else:
        digest = hashlib.sha256(seed.encode()).hexdigest()
        prefix, secret = digest[:12], digest[12:]
    return NewToken(prefix, hash_secret(secret), f"{TOKEN_PREFIX}{prefix}_{secret}")


def parse_token(plaintext: str) -> tuple[str, str] | None:
    """Split a presented token into (prefix, secret), or None when it is not one of ours."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = plaintext[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
