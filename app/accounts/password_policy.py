"""The password policy (docs/security.md "Passwords", ASVS V6.2, NIST SP 800-63B §3.1.1.2).

- 12 to 1024 characters (at least 128 accepted: 1024 only bounds the work an attacker can make the
  hasher do); any Unicode, checked and hashed in its NFKC form (NIST §5.1.1.2): no truncation, no
  case folding, no composition rules.
- Refused when zxcvbn rates it guessable (its frequency lists include the common and breached
  passwords), or when it is built from context words: the service name and the person's own email
  and name (NIST: "context-specific words"). The refusal says why (``weak_password``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

from app.accounts.errors import WeakPassword
from app.core.hashing import normalize

MIN_LENGTH = 12
MAX_LENGTH = 1024
#: zxcvbn looks at this much (its matching is super-linear; a longer password is long enough)
_ANALYSED = 72  # zxcvbn refuses longer input
MIN_SCORE = 3
SERVICE_WORDS = ("erdv", "e-rdv", "rendez-vous", "rendezvous")


def context_words(email: str, full_name: str) -> list[str]:
    local = normalize(email.split("@", 1)[0])
    parts = re.split(r"[\s._+\-']+", f"{local} {normalize(full_name)}")
    words = {p.lower() for p in parts if len(p) >= 3}
    if len(local) >= 3:
        words.add(local.lower())
    return sorted(words | set(SERVICE_WORDS))


def check_password(password: str, *, email: str, full_name: str) -> None:
    """Raise ``WeakPassword`` with the reason; return if the password is acceptable.

    The minimum length, the context words and zxcvbn judge the NFKC form, which is what is
    hashed (``app.core.hashing.normalize``) and so what an attacker has to guess: twelve
    decomposed code points that compose to six letters are six, and a full-width "ＥＲＤＶ" is
    "ERDV". The maximum bounds the typed form, the work a request can ask for."""
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password must have at most {MAX_LENGTH} characters.")
    password = normalize(password)
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_LENGTH} characters.")
    words = context_words(email, full_name)
    lowered = password.lower()
    for word in words:
        if word in lowered:
            raise WeakPassword(
                "The password must not contain the service name or your own email or name."
            )
    # Imported here, not at module level: its frequency lists are large, and only the few
    # requests that set a password need them (bench/README.md "Performance rules in the code").
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:_ANALYSED], user_inputs=list(words))
    if int(result["score"]) < MIN_SCORE:
        warning = str(result["feedback"].get("warning") or "")
        reason = warning or "This password is too common or too easy to guess."
        raise WeakPassword(f"{reason.rstrip('.')}. Choose a longer, less common passphrase.")


async def check_password_async(password: str, *, email: str, full_name: str) -> None:
    """zxcvbn is pure Python and CPU-bound: keep it off the event loop."""
    await asyncio.to_thread(check_password, password, email=email, full_name=full_name)


def luhn_ok(digits: Iterable[int]) -> bool:
    total = 0
    for index, digit in enumerate(reversed(list(digits))):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def valid_rpps(value: str) -> bool:
    """RPPS: 11 digits, the last a Luhn check digit over the whole number."""
    return len(value) == 11 and value.isdigit() and luhn_ok(int(c) for c in value)


def rpps_with_check_digit(first_ten: str) -> str:
    """Complete 10 digits into a valid RPPS (demo data, tests)."""
    for check in "0123456789":
        if valid_rpps(first_ten + check):
            return first_ten + check
    raise ValueError("no check digit found")  # unreachable for 10 digits
