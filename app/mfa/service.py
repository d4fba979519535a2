"""TOTP enrolment and verification, recovery codes (docs/security.md "MFA", RFC 6238, NIST 800-63B).

This module checks factors; it does not decide what a success unlocks (the accounts service owns
sessions, throttling and the audit trail of the login flow).

- RFC 6238 with SHA-1, 6 digits, 30-second steps, accepting the previous and next step (±1) for clock
  drift. A code is accepted **once**: only by advancing the stored ``last_step`` atomically. pyotp's
  ``verify()`` alone would accept the same code again within its window.
- Seeds (160 bits) are encrypted with AES-GCM, associated data naming the account.
- 10 recovery codes of 100 bits each (20 base32 characters), shown once, stored as HMACs, each spent
  by one conditional UPDATE.
"""

from __future__ import annotations

import base64
import hmac
import io
import re
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.crypto import ColumnCipher, derive_key, hash_token
from app.core.settings import Settings
from app.mfa.models import totp_aad
from app.mfa.repository import MfaRepository

ISSUER = "erdv"
STEP_SECONDS = 30
DIGITS = 6
#: accepted drift, in steps, either side of now (RFC 6238 §5.2)
WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_CHARS = 20  # base32: 5 bits each -> 100 bits
_CODE = re.compile(r"^[0-9]{6}$")


class Factor(StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    #: a WebAuthn credential with user verification (``app.mfa.passkeys``)
    PASSKEY = "passkey"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def current_step() -> int:
    return int(clock.now().timestamp()) // STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    """The code for ``step`` (tests and the demo use it to act as an authenticator app)."""
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step))


def normalize_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


class MfaService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repository = MfaRepository(session)
        # both are derived once per secret and process (core.crypto memoizes them)
        self.cipher = ColumnCipher.from_settings(settings)
        self.recovery_key = derive_key(settings.secret_key_bytes, "recovery-code")

    async def install_known_secret(self, account_id: uuid.UUID, secret: str) -> None:
        """Demo data only: an already-active seed known in advance (printed by ``erdv demo``)."""
        await self.repository.install(
            account_id,
            self.cipher.encrypt(secret, associated_data=totp_aad(account_id)),
            clock.now(),
        )

    async def is_enrolled(self, account_id: uuid.UUID) -> bool:
        credential = await self.repository.credential(account_id)
        return credential is not None and credential.secret is not None

    async def begin_enrolment(
        self, account_id: uuid.UUID, label: str, *, secret: str | None = None
    ) -> Enrolment:
        """A fresh seed kept as *pending* until ``activate`` sees one valid code for it."""
        secret = secret or pyotp.random_base32(32)
        await self.repository.set_pending(
            account_id,
            self.cipher.encrypt(secret, associated_data=totp_aad(account_id)),
            clock.now(),
        )
        uri = (
            f"otpauth://totp/{quote(ISSUER)}:{quote(label)}?secret={secret}"
            f"&issuer={quote(ISSUER)}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        )
        return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))

    def _matching_step(self, secret: str, code: str) -> int | None:
        code = code.strip()
        if not _CODE.match(code):
            return None
        now = current_step()
        found = None
        for step in range(now - WINDOW, now + WINDOW + 1):
            if hmac.compare_digest(totp_code(secret, step), code):
                found = step  # no early exit: same work whichever step matches
        return found

    async def activate(self, account_id: uuid.UUID, code: str) -> list[str] | None:
        """Confirm the pending seed with one valid code; return 10 new recovery codes, or None."""
        credential = await self.repository.credential(account_id)
        if credential is None or credential.pending_secret is None:
            return None
        secret = self.cipher.decrypt(
            credential.pending_secret, associated_data=totp_aad(account_id)
        )
        step = self._matching_step(secret, code)
        if step is None:
            return None
        if not await self.repository.activate(
            account_id, credential.pending_secret, step, clock.now()
        ):
            return None
        return await self.new_recovery_codes(account_id)

    async def verify_totp(self, account_id: uuid.UUID, code: str) -> bool:
        credential = await self.repository.credential(account_id)
        if credential is None or credential.secret is None:
            return False
        secret = self.cipher.decrypt(credential.secret, associated_data=totp_aad(account_id))
        step = self._matching_step(secret, code)
        if step is None:
            return False
        return await self.repository.advance_step(account_id, step)

    def _hash_recovery_code(self, code: str) -> str:
        return hash_token(self.recovery_key, normalize_recovery_code(code))

    async def use_recovery_code(self, account_id: uuid.UUID, code: str) -> bool:
        if not code or len(code) > 64:
            return False
        return await self.repository.spend_recovery_code(
            account_id, self._hash_recovery_code(code), clock.now()
        )

    async def verify(
        self, account_id: uuid.UUID, *, code: str | None, recovery_code: str | None
    ) -> Factor | None:
        """Check a TOTP code or a recovery code; the factor used, or None."""
        if code is not None:
            return Factor.TOTP if await self.verify_totp(account_id, code) else None
        if recovery_code is not None:
            ok = await self.use_recovery_code(account_id, recovery_code)
            return Factor.RECOVERY_CODE if ok else None
        return None

    async def new_recovery_codes(self, account_id: uuid.UUID) -> list[str]:
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        await self.repository.replace_recovery_codes(
            account_id, [self._hash_recovery_code(c) for c in codes], clock.now()
        )
        return codes

    async def remaining_recovery_codes(self, account_id: uuid.UUID) -> int:
        return await self.repository.remaining_recovery_codes(account_id)

    async def forget(self, account_id: uuid.UUID) -> None:
        await self.repository.forget(account_id)


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii")[:_RECOVERY_CHARS]
    return "-".join(raw[i : i + 5] for i in range(0, _RECOVERY_CHARS, 5))


def _qr_svg(uri: str) -> str:
    """A standalone SVG document of the QR code, with its namespace: the front end shows it as an
    ``<img>`` (a ``data:`` URI, never markup in the page), and a browser draws an SVG image only
    when its root is in the SVG namespace (segno's ``svg_inline`` leaves it out, for HTML)."""
    # imported here: only enrolment draws a QR code (bench/README.md, B9's idle memory)
    import segno

    buffer = io.BytesIO()
    segno.make_qr(uri, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, border=4, title="TOTP"
    )
    return buffer.getvalue().decode("utf-8")
