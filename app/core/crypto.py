"""Keys, token hashes and encrypted columns.

- **Derived keys.** Each use of a secret gets its own key (HKDF-SHA256 with a purpose label), so a key
  leaked from one mechanism (say, the audit MAC) says nothing about another (session hashes).
- **Tokens** (session ids, reset and verification tokens, recovery codes, OAuth codes and tokens)
  are 256-bit random strings with a readable prefix (``erdv_at_``) so that a leaked one is
  recognisable in logs and secret scanners. Only their HMAC-SHA256 is stored (docs/security.md
  "Secrets at rest"): a database dump does not yield usable tokens, and unlike a plain hash an
  attacker without the key cannot test guesses.
- **Encrypted columns** (TOTP seeds, visit reasons: they cannot be hashed because they must be read
  back) use AES-256-GCM with a fresh 96-bit nonce and an *associated data* string naming the row and
  column, so a ciphertext copied into another row fails to decrypt. The stored form carries a key id so
  keys can be rotated: ``v1.<kid>.<base64url(nonce || ciphertext)>``. A rotation: the new key becomes
  ``ERDV_ENCRYPTION_KEY`` and the old one goes to ``ERDV_PREVIOUS_ENCRYPTION_KEYS`` (still read,
  never written), then ``erdv reseal`` seals every column again with the new key (``app.sealed``),
  then the old key is dropped (docs/security.md "Secrets at rest").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from app.core.settings import Settings

TOKEN_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = "v1"


@lru_cache(maxsize=64)
def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose only (HKDF-SHA256, RFC 5869), e.g. ``derive_key(k, "audit-chain")``.

    Memoized: the same secret gives the same key, and requests ask for the audit, session and
    column keys every time (the secret itself already lives in the process's settings).
    """
    return HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=b"erdv",
        info=f"erdv/{purpose}/v1".encode(),
    ).derive(secret)


def new_token(prefix: str = "") -> str:
    """A 256-bit URL-safe random token, optionally prefixed (``erdv_at_...``)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(key: bytes, token: str) -> str:
    """HMAC-SHA256 of a token, hex: what the database stores instead of the token."""
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class DecryptionError(Exception):
    """The ciphertext was altered, moved to another row, or made with an unknown key."""


class ColumnCipher:
    """AES-256-GCM for columns that must be read back. ``keys`` maps key id to key; ``current``
    encrypts, every key decrypts (rotation: add the new key, re-encrypt, then drop the old one)."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id must be one of the keys")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current

    @classmethod
    def from_settings(cls, settings: Settings) -> ColumnCipher:
        """The process's cipher: ``ERDV_ENCRYPTION_KEY`` seals, it and the retired keys of
        ``ERDV_PREVIOUS_ENCRYPTION_KEYS`` open (one per key set and process: it holds no state
        but its keys)."""
        return _cipher_of(settings.encryption_key_bytes, settings.previous_encryption_key_bytes)

    @property
    def current_prefix(self) -> str:
        """What every value sealed with the current key starts with."""
        return f"{_FORMAT}.{self._current}."

    def reseal(self, stored: str, *, associated_data: str) -> str:
        """``stored``, opened with whichever key sealed it and sealed with the current one."""
        return self.encrypt(
            self.decrypt(stored, associated_data=associated_data),
            associated_data=associated_data,
        )

    def encrypt(self, plaintext: str, *, associated_data: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(
            nonce, plaintext.encode("utf-8"), associated_data.encode("utf-8")
        )
        payload = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{_FORMAT}.{self._current}.{payload}"

    def decrypt(self, stored: str, *, associated_data: str) -> str:
        try:
            version, kid, payload = stored.split(".", 2)
            if version != _FORMAT or kid not in self._keys:
                raise DecryptionError("unknown ciphertext format or key id")
            raw = base64.urlsafe_b64decode(payload.encode("ascii"))
            plain = self._keys[kid].decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data.encode("utf-8")
            )
        except (ValueError, InvalidTag) as error:
            raise DecryptionError("ciphertext cannot be decrypted") from error
        return plain.decode("utf-8")


@lru_cache(maxsize=8)
def _cipher_of(current: bytes, previous: tuple[bytes, ...] = ()) -> ColumnCipher:
    def with_id(secret: bytes) -> tuple[str, bytes]:
        key = derive_key(secret, "column-encryption")
        return hashlib.sha256(key).hexdigest()[:8], key

    current_id, current_key = with_id(current)
    return ColumnCipher(dict(map(with_id, previous)) | {current_id: current_key}, current_id)
