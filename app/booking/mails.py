"""Mails about appointments, in the patient's language (``account.language``).

Who, where and when, and a link: never the visit reason, the profession or the specialty, nor any
other health data (charter C7, docs/security.md "Data protection"). Times are the practitioner's
local wall time, said in words a person reads ("mardi 2 mars 2027 à 09:30").
"""

from __future__ import annotations

from datetime import datetime

from app.core.mail import Mail

_WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def spoken_time(start: datetime, language: str) -> str:
    """``start`` (already in the practitioner's zone) as a sentence's date and time."""
    lang = "en" if language == "en" else "fr"
    weekday = _WEEKDAYS[lang][start.weekday()]
    month = _MONTHS[lang][start.month - 1]
    if lang == "en":
        return f"{weekday} {start.day} {month} {start.year} at {start:%H:%M}"
    return f"{weekday} {start.day} {month} {start.year} à {start:%H:%M}"


def cancelled_by_practice(
    to: str, language: str, *, practitioner: str, start: datetime, link: str
) -> Mail:
    when = spoken_time(start, language)
    if language == "en":
        return Mail(
            to=to,
            subject="Appointment cancelled",
            body=(
                f"Hello,\n\nYour appointment on {when} with {practitioner} was cancelled by the "
                f"practice. You can book another one on {link}\n"
            ),
        )
    return Mail(
        to=to,
        subject="Rendez-vous annulé",
        body=(
            f"Bonjour,\n\nVotre rendez-vous du {when} avec {practitioner} a été annulé par le "
            f"cabinet. Vous pouvez reprendre rendez-vous sur {link}\n"
        ),
    )
