"""The words of every notification, in French and English (``templates/<language>/<topic>``).

A mail template's first line is its subject (``Subject: ...``), then a blank line, then the plain
text. The HTML version is the same paragraphs in ``templates/layout.html``, escaped by Jinja2, with
the link as the only anchor: no remote image, no style sheet, no tracker (docs/security.md "Data
protection"). SMS templates (``.sms``) are one line.

What a template may say is what ``Facts`` holds: the practitioner's name and address, the patient's
name (to the practice only), the time in the practitioner's zone, and a link. No visit reason,
profession, specialty or other health data reaches a template, so none can reach a message (charter
C7; ``tests/notifications`` scans every template's output for them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.accounts.mails import Language
from app.core.messages import Attachment, Mail

if TYPE_CHECKING:
    from jinja2 import Environment

_TEMPLATES = Path(__file__).parent / "templates"
_LINK = re.compile(r"(https?://\S+)")

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


def spoken_time(start: datetime, language: Language) -> str:
    """``start`` (already in the practitioner's zone) as a sentence's date and time."""
    weekday = _WEEKDAYS[language][start.weekday()]
    month = _MONTHS[language][start.month - 1]
    joiner = "at" if language == "en" else "à"
    return f"{weekday} {start.day} {month} {start.year} {joiner} {start:%H:%M}"


@dataclass(frozen=True)
class Written:
    subject: str
    text: str
    html: str

    def to(
        self,
        address: str,
        recipient_id: object,
        topic: str,
        attachments: tuple[Attachment, ...] = (),
    ) -> Mail:
        """The mail of these words to ``address``, listed in its recipient's notifications."""
        return Mail(
            to=address,
            subject=self.subject,
            body=self.text,
            html=self.html,
            attachments=attachments,
            # someone without an account (a practice's phone booking) has no list of notifications
            recipient_id=str(recipient_id) if recipient_id is not None else None,
            topic=topic,
        )


@cache
def _environment() -> Environment:
    """Made, with jinja2, at the first notice: an idle process does without (B9)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def _paragraphs(text: str) -> list[list[dict[str, str]]]:
    """Paragraphs of lines, each line split into its text and a trailing link."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = []
        for line in block.splitlines():
            if not line.strip():
                continue
            match = _LINK.search(line)
            if match and match.end() == len(line.rstrip()):
                lines.append({"text": line[: match.start()], "link": match.group(1)})
            else:
                lines.append({"text": line, "link": ""})
        paragraphs.append(lines)
    return paragraphs


def write_mail(topic: str, language: Language, **facts: Any) -> Written:
    """The subject, the plain text and the HTML of ``topic`` in ``language``."""
    rendered = _environment().get_template(f"{language}/{topic}.txt").render(**facts)
    head, _, body = rendered.partition("\n\n")
    if not head.startswith("Subject: "):  # pragma: no cover - a template mistake, caught by tests
        raise ValueError(f"template {language}/{topic}.txt has no subject line")
    subject = head.removeprefix("Subject: ").strip()
    text = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    html = (
        _environment()
        .get_template("layout.html")
        .render(language=language, subject=subject, paragraphs=_paragraphs(text))
    )
    return Written(subject, text, html)


def write_sms(topic: str, language: Language, **facts: Any) -> str:
    rendered: str = _environment().get_template(f"{language}/{topic}.sms").render(**facts)
    return " ".join(rendered.split())


def topics() -> list[tuple[str, str]]:
    """Every (language, template name) there is, for the tests that read them all."""
    return sorted(
        (path.parent.name, path.name)
        for path in _TEMPLATES.glob("*/*")
        if path.suffix in {".txt", ".sms"}
    )
