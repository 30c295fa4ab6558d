"""Keys derived from the instance secret: encryption at rest, email fingerprints, signed links.

Every key is derived for one purpose, so a leak of one derived key exposes nothing else.
Ciphertexts start with a one-byte key version so the instance key can be rotated later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

KEY_VERSION = 1


class DecryptionError(Exception):
    """A ciphertext was tampered with or made with another key."""


def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"coalition-hub:{purpose}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Keyring:
    secret: str = field(repr=False)

    @property
    def _box(self) -> SecretBox:
        return _box(self.secret)

    def encrypt(self, data: bytes) -> bytes:
        return bytes([KEY_VERSION]) + bytes(self._box.encrypt(data))

    def decrypt(self, blob: bytes) -> bytes:
        if not blob or blob[0] != KEY_VERSION:
            raise DecryptionError("unknown key version")
        try:
            return bytes(self._box.decrypt(blob[1:]))
        except CryptoError as exc:
            raise DecryptionError("ciphertext rejected") from exc

    def encrypt_json(self, value: dict[str, Any]) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode())

    def decrypt_json(self, blob: bytes) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.decrypt(blob))
        return result

    def fingerprint(self, normalised_email: str) -> bytes:
        """Keyed hash of a normalised email: matches supporters without storing the email."""
        key = derive_key(self.secret, "fingerprint")
        return hmac.new(key, normalised_email.encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, message: str) -> str:
        key = derive_key(self.secret, f"sign:{purpose}")
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()

    def verify(self, purpose: str, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, message), signature)


@lru_cache(maxsize=8)
def _box(secret: str) -> SecretBox:
    return SecretBox(derive_key(secret, "encryption"))
