"""TOTP credentials and recovery codes (docs/security.md "MFA", RFC 6238, NIST SP 800-63B AAL2).

The TOTP seed must be read back to compute codes, so it cannot be hashed: it is encrypted with
AES-256-GCM (``ColumnCipher``) under associated data naming the account, so a ciphertext copied onto
another account does not decrypt. ``last_step`` is the last accepted RFC 6238 time step: a code is
accepted only by advancing it (``UPDATE ... WHERE last_step < :step``), which refuses replays and makes
two racing requests with one code yield exactly one success. Recovery codes are stored as HMACs.

Passkeys (WebAuthn L2 §6.1.3 "Credential Record"): ``passkey`` keeps what the relying party must
keep of each credential, its id, COSE public key, signature counter and transports, nothing secret
(the private key never leaves the authenticator). ``webauthn_challenge`` holds the challenges of
ceremonies in progress, in the database and not in a process's memory, since several processes
serve one site: each is stored as an HMAC, bound to the session or the browser that asked for it,
short-lived, and spent by one conditional DELETE (WebAuthn L2 §13.4.3: a challenge is used once).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id


def totp_aad(account_id: uuid.UUID) -> str:
    """The associated data of an account's encrypted seeds (active and pending): a seed copied
    onto another account does not decrypt."""
    return f"totp_credential.secret:{account_id}"


class TotpCredential(SQLModel, table=True):
    __tablename__ = "totp_credential"

    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
        )
    )
    #: the active seed, encrypted; null until the first activation
    secret: str | None = Field(default=None, max_length=255)
    #: a seed being enrolled (shown once, confirmed by one valid code), encrypted
    pending_secret: str | None = Field(default=None, max_length=255)
    last_step: int = Field(default=0, sa_type=sa.BigInteger)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Passkey(SQLModel, table=True):
    """One WebAuthn public key credential of an account (``app.mfa.passkeys``)."""

    __tablename__ = "passkey"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    #: the credential id, base64url without padding (at most 1023 bytes: WebAuthn L3 §5.8.3)
    credential_id: str = Field(max_length=1400, unique=True)
    #: the COSE_Key of the credential public key, as the attestation gave it
    public_key: bytes = Field(sa_type=sa.LargeBinary)
    #: the last signature counter seen; 0 for authenticators that keep none (L2 §6.1.1)
    sign_count: int = Field(default=0, sa_type=sa.BigInteger)
    #: the authenticator's transports (``usb,nfc,internal``...), hints for the next ceremony
    transports: str | None = Field(default=None, max_length=200)
    name: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebauthnChallenge(SQLModel, table=True):
    """A ceremony's challenge, until it is spent or expires."""

    __tablename__ = "webauthn_challenge"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: HMAC of the challenge bytes: the answer names its challenge in ``clientDataJSON``
    challenge_hash: str = Field(max_length=64, unique=True)
    #: ``register``, ``second_factor``, ``sign_in`` or ``reauth``: a challenge serves one
    #: ceremony only
    purpose: str = Field(max_length=16)
    #: HMAC naming the session (or, for a sign-in without password, the browser) it was issued to
    bound_to: str = Field(max_length=64)
    #: whose ceremony it is, when that is known (registration, second factor)
    account_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=True
        ),
    )
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
