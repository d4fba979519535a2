"""Request and response bodies of ``/api/v1/auth``, ``/api/v1/me/sessions`` and admin accounts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Self

import email_validator
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.accounts.password_policy import MAX_LENGTH, valid_rpps
from app.core.schemas import Schema

_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{5,19}$")

# erdv's demo and tests send to .localhost and .test addresses; email-validator's documented way
# to allow a special-use domain is to take it off this list
for _allowed in ("localhost", "test"):
    if _allowed in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_allowed)


def normalize_email(value: str) -> str:
    """Exactly one RFC 5322 addr-spec (docs/security.md "Passwords"; ``victim@x.example,``,
    ``"x"<victim@x.example>`` and ``a,victim@x.example`` were separate accounts whose mail reached
    the victim), checked by email-validator: no display name, no quoted local part, no IP-literal
    domain, no list, and ASCII on the wire (an internationalised domain is stored in its IDNA form,
    so no mail relay needs SMTPUTF8). The domain's case is normalised; so is the local part's: erdv
    treats addresses case-insensitively, as nearly every mail provider does, so that ``Alice@`` and
    ``alice@`` are one account. Else ``ValueError`` (422)."""
    try:
        checked = email_validator.validate_email(
            value.strip(), check_deliverability=False, allow_smtputf8=False
        )
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"not a single valid email address: {error}") from error
    address = str(checked.ascii_email or checked.normalized).lower()
    if len(address) > 254:
        raise ValueError("not a valid email address")
    return address


def login_email(value: str) -> str:
    """The login compares what registration stored: the same normal form for a valid address; a
    malformed one is only an unknown account (the same 401, no hint)."""
    try:
        return normalize_email(value)
    except ValueError:
        return value.strip().lower()


class Register(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=MAX_LENGTH)
    full_name: str = Field(min_length=1, max_length=200)
    role: Literal["patient", "practitioner", "secretary"]
    #: the language of the account's mails (the one the form was shown in)
    language: Literal["fr", "en"] = "fr"
    phone: str | None = Field(default=None, max_length=32)
    #: checked against ``role`` (declared before it), so an error names this field
    rpps: str | None = Field(default=None, max_length=11, validate_default=True)
    #: the token of the invitation mailed to this address: required for a secretary, and only
    #: for one (``app.team``)
    invitation: str | None = Field(default=None, max_length=256, validate_default=True)

    @field_validator("invitation")
    @classmethod
    def _invitation(cls, value: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")
        if role == "secretary" and not value:
            raise PydanticCustomError(
                "invitation_required", "a secretary registers with the invitation they received"
            )
        if role is not None and role != "secretary" and value is not None:
            raise PydanticCustomError(
                "invitation_not_allowed", "invitation is only for secretaries"
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a name is required")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value.strip()):
            raise PydanticCustomError("invalid_phone", "not a valid phone number")
        return value.strip() if value else None

    @field_validator("rpps")
    @classmethod
    def _rpps(cls, value: str | None, info: ValidationInfo) -> str | None:
        # each error has its own type, which clients translate (the message is English)
        role = info.data.get("role")
        if role == "practitioner":
            if value is None:
                raise PydanticCustomError("rpps_required", "rpps is required for practitioners")
            if not valid_rpps(value):
                raise PydanticCustomError(
                    "invalid_rpps", "rpps must be 11 digits with a valid check digit"
                )
        elif role is not None and value is not None:
            raise PydanticCustomError("rpps_not_allowed", "rpps is only for practitioners")
        return value


class VerifyEmail(Schema):
    token: str = Field(max_length=256)


class Login(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=MAX_LENGTH)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return login_email(value)


class LoginStep(BaseModel):
    next: Literal["mfa_setup", "mfa"]
    csrf_token: str


class CodeIn(Schema):
    code: str = Field(max_length=16)


class MfaVerify(Schema):
    code: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give exactly one of code and recovery_code")
        return self


class TotpSetup(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class Activated(BaseModel):
    recovery_codes: list[str]
    csrf_token: str


class AccountRead(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    full_name: str


class MfaDone(BaseModel):
    account: AccountRead
    csrf_token: str


class SessionInfo(BaseModel):
    account: AccountRead
    mfa: bool
    authenticated_at: datetime
    reauthenticated_at: datetime | None
    #: how long the last re-authentication still unlocks sensitive operations (0: none), counted by
    #: the server so that a client's wrong clock does not matter
    reauth_seconds_left: int
    csrf_token: str


class SessionProbe(BaseModel):
    """Whether this browser has a full session, answered 200 either way (the front end asks on every
    page load, and a 401 there would be logged as an error by the browser for every visitor)."""

    signed_in: bool
    session: SessionInfo | None
    #: a sign-in whose password step is done and whose second factor is not: the step it waits
    #: for and its CSRF token, as the login answered them, so that a page left half-way offers
    #: to finish it or to cancel it (``POST /logout``) rather than a site answering mfa_required
    pending: LoginStep | None = None


class Reauthenticated(BaseModel):
    """``POST /reauth`` with ``Prefer: return=representation`` (RFC 7240): the rotated session's
    CSRF token in the body as well as in the ``X-CSRF-Token`` header."""

    csrf_token: str
    reauthenticated_at: datetime
    valid_until: datetime


class Reauth(Schema):
    password: str = Field(max_length=MAX_LENGTH)
    code: str = Field(max_length=16)


class Forgot(Schema):
    email: str = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class EmailChange(Schema):
    """``POST /api/v1/me/email``: the address to move the account to."""

    email: str = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class EmailChangeAsked(Schema):
    email: str


class Reset(Schema):
    token: str = Field(max_length=256)
    new_password: str = Field(max_length=MAX_LENGTH)
    code: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _at_most_one(self) -> Self:
        if self.code is not None and self.recovery_code is not None:
            raise ValueError("give one of code and recovery_code, not both")
        return self


class ChangePassword(Schema):
    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: str = Field(max_length=MAX_LENGTH)


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime | None
    user_agent: str | None
    ip: str | None
    current: bool


class AccountAdminRead(BaseModel):
    id: uuid.UUID
    role: str
    status: str


def e164(value: str) -> str:
    """A phone number as E.164 (``+33612345678``), national French numbers accepted as typed
    (``06 12 34 56 78``); anything that is not a valid number is refused, not guessed.

    phonenumbers is imported on the first number checked: its metadata would sit in every worker
    from start-up (bench/README.md "Performance rules in the code", B9)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException as error:
        raise PydanticCustomError("invalid_phone", "not a valid phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("invalid_phone", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class AccountProfile(BaseModel):
    """``GET /api/v1/me``: the account's own details (docs/api.md "My account")."""

    id: uuid.UUID
    email: str
    full_name: str
    phone: str | None
    language: Literal["fr", "en"]
    role: str


def _not_nullable(*names: str) -> Callable[[dict[str, Any]], None]:
    """The JSON schema of optional fields that may be left out but not sent as null."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            kinds = [k for k in field.pop("anyOf", []) if k.get("type") != "null"]
            if kinds:
                field.update(kinds[0])

    return edit


class AccountUpdate(Schema):
    """``PATCH /api/v1/me``: only the fields sent change; ``phone: null`` removes the number."""

    model_config = ConfigDict(json_schema_extra=_not_nullable("full_name", "language"))

    full_name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    phone: str | None = Field(default=None, max_length=32)
    language: Literal["fr", "en"] | None = None

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise PydanticCustomError("name_required", "a name is required")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return e164(value.strip()) if value and value.strip() else None

    @model_validator(mode="after")
    def _no_null_name_or_language(self) -> Self:
        for name in ("full_name", "language"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise PydanticCustomError("null_not_allowed", f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, str | None]:
        """The fields sent, with their new values."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}
