"""Errors of the second factor (docs/api.md "Accounts, sessions and MFA", "Passkeys").

    BadRequest (400)   InvalidCode (invalid_code), InvalidPasskey (invalid_passkey),
                       UnknownPasskey (unknown_passkey)
    Conflict (409)     NoPasskey (no_passkey), PasskeyAlreadyRegistered
                       (passkey_already_registered), TooManyPasskeys (too_many_passkeys),
                       LastFactor (last_factor)

``ClonedAuthenticator`` is not rendered: the accounts service catches it, audits the suspected
clone, mails the account holder and answers ``invalid_passkey`` (the caller learns nothing more
than for any bad assertion).
"""

from __future__ import annotations

import uuid

from app.core.errors import BadRequest, Conflict, RecordedFailure


class InvalidCode(RecordedFailure, BadRequest):
    """Wrong code, or one already used in its time step. Its failure count and audit entry persist."""

    code = "invalid_code"
    title = "Invalid code"


class InvalidPasskey(RecordedFailure, BadRequest):
    """A WebAuthn answer that does not verify: malformed, for a challenge unknown, spent, expired or
    issued to someone else, from another origin or relying party, without user verification, with
    a bad signature or a signature counter that went back. One code for all: telling them apart
    would help only an attacker. Its failure count and audit entry persist."""

    code = "invalid_passkey"
    title = "The passkey could not be verified"


class UnknownPasskey(RecordedFailure, BadRequest):
    """A well-formed answer from a credential this account (or, without a password, this site) does
    not know: removed here but still on the authenticator. Its own code so that a front end can
    say so (WebAuthn L3 §5.1.10 ``signalUnknownCredential`` is for the same case)."""

    code = "unknown_passkey"
    title = "This passkey is not registered here"


class NoPasskey(Conflict):
    """A passkey second factor asked for by an account that has none."""

    code = "no_passkey"
    title = "This account has no passkey"


class PasskeyAlreadyRegistered(Conflict):
    code = "passkey_already_registered"
    title = "This passkey is already registered"


class TooManyPasskeys(Conflict):
    code = "too_many_passkeys"
    title = "Too many passkeys"


class LastFactor(Conflict):
    """Removing the only second factor left: an account always keeps one (NIST SP 800-63B §6.1.2.3,
    an authenticator is removed without leaving the subscriber unable to reach AAL2)."""

    code = "last_factor"
    title = "This is the last second factor"


class ClonedAuthenticator(Exception):
    """A correctly signed assertion whose signature counter did not grow (WebAuthn L2 §6.1.1,
    §7.2 step 21): two copies of the private key may exist."""

    def __init__(
        self, passkey_id: uuid.UUID, account_id: uuid.UUID, name: str, stored: int, seen: int
    ) -> None:
        super().__init__("signature counter regression")
        self.passkey_id = passkey_id
        self.account_id = account_id
        self.name = name
        self.stored = stored
        self.seen = seen
