"""Bodies of the passkey routes (docs/api.md "Passkeys").

Options go out as WebAuthn's JSON forms (``PublicKeyCredentialCreationOptionsJSON`` and
``PublicKeyCredentialRequestOptionsJSON``, WebAuthn L3 §5.1.1 and §5.1.5.1: binary members as
base64url), so a browser that has ``PublicKeyCredential.parseCreationOptionsFromJSON`` can use
them as they are and any other converts a few members by hand. Credentials come back in the
matching JSON forms (``RegistrationResponseJSON``, ``AuthenticationResponseJSON``, L3 §5.1): kept
as an object here and parsed by py_webauthn, so that a malformed one is a 400 ``invalid_passkey``
with the ceremony's failure counted, not a 422 that would bypass it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from app.core.schemas import Schema


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("a passkey's name cannot be blank")
    return value


#: a passkey's name: at most 64 characters, blanks collapsed, not empty
PasskeyName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]


class PasskeyCredential(Schema):
    #: what ``navigator.credentials.get()`` gave, in its JSON form (L3 §5.1 ``toJSON()``)
    credential: dict[str, Any]


class PasskeyRegistration(Schema):
    #: what ``navigator.credentials.create()`` gave, in its JSON form
    credential: dict[str, Any]
    #: how the account holder will recognise it (default: "Passkey n" in their language)
    name: PasskeyName | None = None


class PasskeyRename(Schema):
    name: PasskeyName


class PasskeyRead(BaseModel):
    id: uuid.UUID
    name: str
    transports: list[str]
    created_at: datetime
    last_used_at: datetime | None


class RelyingPartyEntity(BaseModel):
    id: str
    name: str


class UserEntity(BaseModel):
    """Members in camelCase here and below: they are WebAuthn's own names."""

    #: the user handle, base64url: the account's id (random, says nothing of the person)
    id: str
    name: str
    displayName: str


class CredentialParameters(BaseModel):
    type: str
    alg: int


class CredentialDescriptor(BaseModel):
    type: str
    id: str
    transports: list[str] | None = None


class AuthenticatorSelection(BaseModel):
    residentKey: str | None = None
    requireResidentKey: bool | None = None
    userVerification: str | None = None
    authenticatorAttachment: str | None = None


class CreationOptions(BaseModel):
    """``PublicKeyCredentialCreationOptionsJSON`` (WebAuthn L3 §5.1.1)."""

    rp: RelyingPartyEntity
    user: UserEntity
    challenge: str
    pubKeyCredParams: list[CredentialParameters]
    timeout: int
    excludeCredentials: list[CredentialDescriptor]
    authenticatorSelection: AuthenticatorSelection
    attestation: str


class RequestOptions(BaseModel):
    """``PublicKeyCredentialRequestOptionsJSON`` (WebAuthn L3 §5.1.5.1)."""

    challenge: str
    timeout: int
    rpId: str
    allowCredentials: list[CredentialDescriptor]
    userVerification: str
