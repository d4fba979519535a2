"""A software passkey for API tests: ``soft-webauthn``'s ``SoftWebauthnDevice``, speaking JSON.

The library answers the browser API with bytes and sets only the user-presence flag; erdv
requires user verification and takes WebAuthn's JSON forms (base64url members, L3 §5.1). This
subclass keeps the library's key handling (``cred_init``, the P-256 key, ``sign_count``) and
builds the answers itself, with the flags, counter, origin and relying party a test asks for, so
that tests can also make the answers erdv must refuse (another origin, no user verification, a
counter that goes back).
"""

from __future__ import annotations

import base64
import json
from struct import pack
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from fido2.utils import sha256
from soft_webauthn import SoftWebauthnDevice

#: authenticator data flags (WebAuthn L2 §6.1)
UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftPasskey(SoftWebauthnDevice):  # type: ignore[misc]  # soft-webauthn ships no types
    """One credential on a software authenticator, discoverable, verifying its user."""

    # the untyped base class's state: ``sign_count`` and ``aaguid`` from its ``__init__``, the rest
    # from ``cred_init``, which every answer below follows (``create_json``, or a test calling it)
    sign_count: int
    aaguid: bytes
    rp_id: str
    user_handle: bytes
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey

    def __init__(self, origin: str = "http://testserver", *, user_verified: bool = True) -> None:
        super().__init__()
        self.origin = origin
        self.user_verified = user_verified

    def _flags(self, *extra: int) -> bytes:
        flags = UP | (UV if self.user_verified else 0)
        for flag in extra:
            flags |= flag
        return bytes([flags])

    def create_json(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None
    ) -> dict[str, Any]:
        """The ``RegistrationResponseJSON`` of ``navigator.credentials.create()`` for erdv's
        ``PublicKeyCredentialCreationOptionsJSON``."""
        assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
        assert options["attestation"] == "none"
        self.cred_init(rp_id or options["rp"]["id"], from_b64url(options["user"]["id"]))
        client_data = json.dumps(
            {
                "type": "webauthn.create",
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode("utf-8")
        public_key = cbor.encode(ES256.from_cryptography_key(self.private_key.public_key()))
        auth_data = (
            sha256(self.rp_id.encode("ascii"))
            + self._flags(AT)
            + pack(">I", self.sign_count)
            + self.aaguid
            + pack(">H", len(self.credential_id))
            + self.credential_id
            + public_key
        )
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        credential_id = b64url(self.credential_id)
        return {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get_json(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> dict[str, Any]:
        """The ``AuthenticationResponseJSON`` of ``navigator.credentials.get()``; the counter
        grows by one unless ``counter`` says what to sign."""
        assert options["userVerification"] == "required"
        allowed = [c["id"] for c in options["allowCredentials"]]
        assert not allowed or b64url(self.credential_id) in allowed, "not an allowed credential"
        self.sign_count = self.sign_count + 1 if counter is None else counter
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode("utf-8")
        auth_data = (
            sha256((rp_id or options["rpId"]).encode("ascii"))
            + self._flags()
            + pack(">I", self.sign_count)
        )
        signature = self.private_key.sign(
            auth_data + sha256(client_data), ec.ECDSA(hashes.SHA256())
        )
        credential_id = b64url(self.credential_id)
        return {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
