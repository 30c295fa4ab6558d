"""User access tokens: short-lived JWTs signed with Authlib JOSE, keys rotated by ``kid``.

Keys come from ``HUB_JWT_KEYS`` (``kid:secret,kid:secret``; the last one signs, every one
verifies) or, when unset, one key derived from the instance secret. Claims carry only the
user id (``sub``), a ``jti`` and the expiry; grants are re-read from the database per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any

from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib 1.x flags its JOSE module as moving to joserfc; the API is stable until 2.0.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebToken
    from authlib.jose.errors import JoseError

ALGORITHM = "HS256"
ACCESS_TOKEN_TTL_SECONDS = 15 * 60
ISSUER = "coalition-hub"

_jwt = JsonWebToken([ALGORITHM])


class UnknownKey(Exception):
    """The token names a key (or algorithm) this instance does not accept."""


@dataclass(frozen=True)
class JwtKeys:
    """Verification keys by kid, in age order; the newest signs."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str | None, instance_secret: str) -> JwtKeys:
        if not spec:
            derived = hmac.new(instance_secret.encode(), b"hub-jwt-v1", hashlib.sha256).digest()
            return cls((("k0", derived),))
        pairs: list[tuple[str, bytes]] = []
        for item in spec.split(","):
            kid, sep, secret = item.strip().partition(":")
            if not sep or not kid or len(secret) < 32:
                raise ValueError("HUB_JWT_KEYS entries are kid:secret with a 32+ char secret")
            pairs.append((kid, secret.encode()))
        return cls(tuple(pairs))

    @property
    def signing(self) -> tuple[str, bytes]:
        return self.keys[-1]

    def key_for(self, kid: str | None) -> bytes:
        for known, key in self.keys:
            if known == kid:
                return key
        raise UnknownKey()


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_in: int


def issue_access_token(keys: JwtKeys, user_id: int, now: float | None = None) -> AccessToken:
    kid, key = keys.signing
    issued = int(time.time() if now is None else now)
    jti = secrets.token_urlsafe(16)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "jti": jti,
        "iat": issued,
        "exp": issued + ACCESS_TOKEN_TTL_SECONDS,
    }
    raw = _jwt.encode({"alg": ALGORITHM, "kid": kid, "typ": "JWT"}, claims, key)
    return AccessToken(raw.decode(), jti, ACCESS_TOKEN_TTL_SECONDS)


def verify_access_token(keys: JwtKeys, token: str) -> int | None:
    """The user id a valid access token stands for; None if expired, tampered or unknown kid."""

    def resolve(header: dict[str, Any], payload: Any) -> bytes:
        if header.get("alg") != ALGORITHM:
            raise UnknownKey()
        return keys.key_for(header.get("kid"))

    try:
        claims = _jwt.decode(
            token,
            resolve,
            claims_options={
                "iss": {"essential": True, "value": ISSUER},
                "sub": {"essential": True},
                "jti": {"essential": True},
                "exp": {"essential": True},
            },
        )
        claims.validate(leeway=0)
        return int(claims["sub"])
    except (JoseError, UnknownKey, ValueError, TypeError, KeyError):
        return None
