"""Passkeys: WebAuthn registration and authentication ceremonies (docs/security.md "MFA").

This module checks credentials; it does not decide what a success unlocks (the accounts service
owns sessions, throttling, mails and the audit trail, as for TOTP in ``app.mfa.service``). The
rules, with the sections of WebAuthn Level 2 (L2) and Level 3 (L3) they come from:

- **Relying party.** Its id is the host of ``ERDV_PUBLIC_URL`` and the only origin accepted is that
  URL's origin (L2 §5.1.3 steps 7-8, §7.1 step 9, §7.2 step 13, §13.4.9): an answer made for
  another site, or on another origin of ours, is refused.
- **Challenges** are 32 random bytes (L2 §13.4.3: at least 16), stored server-side as an HMAC, in
  the database since several processes serve the site, bound to the session (or, for a sign-in
  without password, to a browser cookie) and to one ceremony, valid ``CHALLENGE_SECONDS`` and
  spent by one conditional DELETE before anything else is checked: a replayed answer finds no
  challenge, and so does one answered in another session.
- **User verification is required** (``userVerification: "required"``, L2 §7.1 step 15, §7.2
  step 17): the authenticator checked a PIN or a biometric, so one passkey is two factors,
  something held and something known or been (NIST SP 800-63B §5.1.8, multi-factor cryptographic
  authenticator, AAL2). That is what lets a passkey sign in without the password.
- **Attestation ``none``** (L2 §5.4.7): erdv does not restrict authenticator makes, and asking
  for attestation would identify the device for nothing.
- **The signature counter** must grow, unless the authenticator keeps none and both sides are 0
  (L2 §6.1.1, §7.2 step 21). A correctly signed assertion with a counter that did not grow means
  two copies of the private key may exist: refused, and ``ClonedAuthenticator`` tells the caller,
  which audits it and tells the account holder. py_webauthn's own counter check cannot tell a
  clone from a bad signature, so it is given 0 and the check is done here after the signature
  verified, then again in the UPDATE that stores the new counter (two racing assertions cannot
  both pass).
- A sign-in without password must carry the user handle, and it must name the credential's
  account (L2 §7.2 step 6). The user handle is the account's id: a random UUID that says nothing
  about the person (L2 §14.6.1).

py_webauthn is synchronous; its verifications run in a worker thread (docs/architecture.md
"Blocking work off the event loop").

py_webauthn is imported where a ceremony needs it, not with this module: it and what it loads (cbor2,
pyasn1, its structures) cost every process about 7 MiB, and most never see a passkey
(bench/README.md, B9's idle memory).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.crypto import derive_key, hash_token
from app.core.settings import Settings
from app.mfa.errors import (
    ClonedAuthenticator,
    InvalidPasskey,
    NoPasskey,
    PasskeyAlreadyRegistered,
    TooManyPasskeys,
    UnknownPasskey,
)
from app.mfa.models import Passkey, WebauthnChallenge
from app.mfa.repository import PasskeyRepository

if TYPE_CHECKING:
    from webauthn.helpers.structs import (
        AuthenticationCredential,
        PublicKeyCredentialDescriptor,
        RegistrationCredential,
    )

#: how long a ceremony may take: L3 §15.1 recommends 300 to 600 s when user verification is
#: required (a PIN to type); the options tell the browser the same
CHALLENGE_SECONDS = 300
CHALLENGE_BYTES = 32
#: passkeys per account: enough for every device a person owns, and a bound on the rows
MAX_PASSKEYS = 10
RP_NAME = "erdv"


class Ceremony(StrEnum):
    """What a challenge was issued for: it serves that ceremony only."""

    REGISTER = "register"
    SECOND_FACTOR = "second_factor"
    SIGN_IN = "sign_in"
    #: re-authentication inside a full session (``/reauth/passkey``)
    REAUTH = "reauth"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str

    @classmethod
    def from_public_url(cls, public_url: str) -> RelyingParty:
        """The host of ``ERDV_PUBLIC_URL`` and its origin as a browser serializes it (scheme, host,
        and the port only when it is not the scheme's default: HTML "ASCII serialization of an
        origin"), which is what ``clientDataJSON.origin`` holds."""
        parts = urlsplit(public_url)
        host = (parts.hostname or "").lower()
        scheme = parts.scheme.lower()
        default = {"http": 80, "https": 443}.get(scheme)
        port = parts.port
        netloc = host if port is None or port == default else f"{host}:{port}"
        return cls(id=host, origin=f"{scheme}://{netloc}")


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: str | None


class PasskeyCeremonies:
    """The ceremonies of one request: options out, answers checked."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repository = PasskeyRepository(session)
        self.rp = RelyingParty.from_public_url(settings.public_url)
        self.key = derive_key(settings.secret_key_bytes, "webauthn-challenge")

    def binding(self, kind: str, value: str) -> str:
        """What a challenge is bound to, as an HMAC: ``session`` and its row id, or ``browser``
        and the sign-in cookie's value (never stored in clear)."""
        return hash_token(self.key, f"{kind}:{value}")

    def _challenge_hash(self, challenge: bytes) -> str:
        from webauthn.helpers import bytes_to_base64url

        return hash_token(self.key, bytes_to_base64url(challenge))

    async def _issue(
        self, ceremony: Ceremony, bound_to: str, account_id: uuid.UUID | None
    ) -> bytes:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        now = clock.now()
        await self.repository.add_challenge(
            WebauthnChallenge(
                challenge_hash=self._challenge_hash(challenge),
                purpose=ceremony.value,
                bound_to=bound_to,
                account_id=account_id,
                expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
            ),
            now,
        )
        return challenge

    async def _spend(self, ceremony: Ceremony, bound_to: str, client_data_json: bytes) -> bytes:
        """The challenge the answer names, spent; ``InvalidPasskey`` if it is not a live one of
        this ceremony and binding."""
        from webauthn.helpers import parse_client_data_json

        try:
            challenge = parse_client_data_json(client_data_json).challenge
        except Exception as error:  # noqa: BLE001 - any parse failure of untrusted input is a 400
            raise InvalidPasskey("The answer's client data cannot be read.") from error
        spent = await self.repository.spend_challenge(
            self._challenge_hash(challenge), ceremony.value, bound_to, clock.now()
        )
        if not spent:
            raise InvalidPasskey("This challenge is unknown, already used or expired.")
        return challenge

    async def passkeys_of(self, account_id: uuid.UUID) -> list[Passkey]:
        return list(await self.repository.passkeys_of(account_id))

    async def count_of(self, account_id: uuid.UUID) -> int:
        return await self.repository.count_of(account_id)

    async def registration_options(
        self, account_id: uuid.UUID, user_name: str, display_name: str, bound_to: str
    ) -> dict[str, Any]:
        """``PublicKeyCredentialCreationOptionsJSON`` (L3 §5.1.1): the account's passkeys are
        excluded, so an authenticator is not registered twice (L2 §5.4 ``excludeCredentials``)."""
        from webauthn import generate_registration_options
        from webauthn.helpers import options_to_json_dict
        from webauthn.helpers.structs import (
            AttestationConveyancePreference,
            AuthenticatorSelectionCriteria,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        existing = await self.passkeys_of(account_id)
        if len(existing) >= MAX_PASSKEYS:
            raise TooManyPasskeys(f"An account holds at most {MAX_PASSKEYS} passkeys.")
        challenge = await self._issue(Ceremony.REGISTER, bound_to, account_id)
        options = generate_registration_options(
            rp_id=self.rp.id,
            rp_name=RP_NAME,
            user_id=account_id.bytes,
            user_name=user_name,
            user_display_name=display_name or user_name,
            challenge=challenge,
            timeout=CHALLENGE_SECONDS * 1000,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                # discoverable when the authenticator can: it then also signs in without password
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(p) for p in existing],
        )
        return options_to_json_dict(options)

    async def register(self, bound_to: str, credential: dict[str, Any]) -> NewPasskey:
        """Verify an attestation (L2 §7.1) made for a live registration challenge of ``bound_to``."""
        from webauthn import verify_registration_response
        from webauthn.helpers import bytes_to_base64url

        parsed = _parse_registration(credential)
        challenge = await self._spend(Ceremony.REGISTER, bound_to, parsed.response.client_data_json)
        try:
            verified = await asyncio.to_thread(
                verify_registration_response,
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self.rp.id,
                expected_origin=self.rp.origin,
                require_user_presence=True,
                require_user_verification=True,
            )
        except Exception as error:  # noqa: BLE001 - a failed verification of untrusted input
            raise InvalidPasskey("The passkey could not be verified.") from error
        credential_id = bytes_to_base64url(verified.credential_id)
        if await self.repository.by_credential_id(credential_id) is not None:
            raise PasskeyAlreadyRegistered("This passkey is already registered.")
        transports = parsed.response.transports or []
        return NewPasskey(
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=",".join(t.value for t in transports)[:200] or None,
        )

    async def save(self, account_id: uuid.UUID, new: NewPasskey, name: str) -> Passkey:
        passkey = Passkey(
            account_id=account_id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            transports=new.transports,
            name=name,
            created_at=clock.now(),
        )
        await self.repository.add(passkey)
        return passkey

    async def authentication_options(
        self, ceremony: Ceremony, bound_to: str, account_id: uuid.UUID | None
    ) -> dict[str, Any]:
        """``PublicKeyCredentialRequestOptionsJSON``: for a second factor, the account's passkeys
        (``allowCredentials``); for a sign-in without password, none, so the authenticator offers
        its discoverable credentials for this relying party (L2 §5.1.4.1 step 11)."""
        from webauthn import generate_authentication_options
        from webauthn.helpers import options_to_json_dict
        from webauthn.helpers.structs import UserVerificationRequirement

        allowed: list[PublicKeyCredentialDescriptor] = []
        if account_id is not None:
            allowed = [_descriptor(p) for p in await self.passkeys_of(account_id)]
            if not allowed:
                raise NoPasskey("This account has no passkey: use a code.")
        challenge = await self._issue(ceremony, bound_to, account_id)
        options = generate_authentication_options(
            rp_id=self.rp.id,
            challenge=challenge,
            timeout=CHALLENGE_SECONDS * 1000,
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json_dict(options)

    async def authenticate(
        self,
        ceremony: Ceremony,
        bound_to: str,
        credential: dict[str, Any],
        account_id: uuid.UUID | None,
    ) -> Passkey:
        """Verify an assertion (L2 §7.2) for a live challenge of ``ceremony`` and ``bound_to``; for
        a second factor the credential must be ``account_id``'s. The passkey used, its counter and
        ``last_used_at`` updated."""
        from webauthn import verify_authentication_response

        parsed = _parse_authentication(credential)
        challenge = await self._spend(ceremony, bound_to, parsed.response.client_data_json)
        passkey = await self.repository.by_credential_id(parsed.id)
        if passkey is None or (account_id is not None and passkey.account_id != account_id):
            raise UnknownPasskey("This passkey is not registered here.")
        handle = parsed.response.user_handle
        if handle is not None and handle != passkey.account_id.bytes:
            raise InvalidPasskey("The passkey names another account.")
        if handle is None and account_id is None:
            raise InvalidPasskey("A sign-in without password needs a discoverable passkey.")
        try:
            verified = await asyncio.to_thread(
                verify_authentication_response,
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self.rp.id,
                expected_origin=self.rp.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=0,  # checked below, after the signature
                require_user_verification=True,
            )
        except Exception as error:  # noqa: BLE001 - a failed verification of untrusted input
            raise InvalidPasskey("The passkey could not be verified.") from error
        seen = verified.new_sign_count
        stored = passkey.sign_count
        regressed = (seen > 0 or stored > 0) and seen <= stored
        if regressed or not await self.repository.advance_counter(passkey.id, seen, clock.now()):
            raise ClonedAuthenticator(passkey.id, passkey.account_id, passkey.name, stored, seen)
        return passkey

    async def rename(self, account_id: uuid.UUID, passkey_id: uuid.UUID, name: str) -> bool:
        return await self.repository.rename(account_id, passkey_id, name)

    async def get_of(self, account_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey | None:
        return await self.repository.get_of(account_id, passkey_id)

    async def remove(self, account_id: uuid.UUID, passkey_id: uuid.UUID) -> bool:
        return await self.repository.delete_of(account_id, passkey_id)


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    transports = []
    for value in (passkey.transports or "").split(","):
        try:
            transports.append(AuthenticatorTransport(value))
        except ValueError:
            continue
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def _parse_registration(credential: dict[str, Any]) -> RegistrationCredential:
    """py_webauthn's parser over the browser's JSON; any malformed part is ``invalid_passkey``."""
    from webauthn.helpers import parse_registration_credential_json

    try:
        return parse_registration_credential_json(credential)
    except Exception as error:  # noqa: BLE001 - any parse failure of untrusted input is a 400
        raise InvalidPasskey("The credential is malformed.") from error


def _parse_authentication(credential: dict[str, Any]) -> AuthenticationCredential:
    from webauthn.helpers import parse_authentication_credential_json

    try:
        return parse_authentication_credential_json(credential)
    except Exception as error:  # noqa: BLE001 - any parse failure of untrusted input is a 400
        raise InvalidPasskey("The credential is malformed.") from error
