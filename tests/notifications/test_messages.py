"""Every notification template, in both languages: a subject, plain text and HTML with the link as
its only reference to anything outside the message, and no word of health data of its own (the
reason, profession and specialty never reach a template; ``test_notices`` checks the messages)."""

from __future__ import annotations

import re

import pytest

from app.notifications.messages import topics, write_mail, write_sms
from app.practice.professions import PROFESSIONS

FACTS = {
    "practitioner": "Praticien-X",
    "patient": "Patient-Y",
    "when": "mardi 2 mars 2027 à 09:30",
    "place": "1 rue de la Paix, Paris",
    "link": "https://erdv.example/account",
    "by": "practitioner",
    "version": 3,
    "relative": "Proche-Z",
    # a code of the fixed list (app.booking.schemas.CancelReason), never free text
    "reason": "practitioner_unavailable",
    # how long a waiting-list offer is held (waitlist-offer)
    "until": "lundi 1 mars 2027 à 18:15",
    # the title of a consent whose new text paused reminders (consent-update)
    "purpose": "Rappels-W",
}
HEALTH_WORDS = sorted(
    {p.label for p in PROFESSIONS}
    | {s.label for p in PROFESSIONS for s in p.specialties}
    | {"motif", "Motif", "reason", "Reason", "diagnos", "traitement", "treatment"}
)


@pytest.mark.parametrize(("language", "name"), topics())
def test_each_template_says_no_health_data_and_links_nowhere_else(language: str, name: str) -> None:
    topic, _, kind = name.rpartition(".")
    for by in ("patient", "practitioner", "client"):
        facts = FACTS | {"by": by}
        if kind == "sms":
            outputs = [write_sms(topic, language, **facts)]  # type: ignore[arg-type]
            assert len(outputs[0]) <= 160 * 2  # two SMS segments at most
        else:
            written = write_mail(topic, language, **facts)  # type: ignore[arg-type]
            assert written.subject
            assert written.text.endswith("\n")
            assert "{{" not in written.text
            outputs = [written.subject, written.text, written.html]
            assert re.findall(r"(?:href|src)=\"([^\"]+)\"", written.html) == [FACTS["link"]]
            assert "<img" not in written.html
            assert "<script" not in written.html
        for output in outputs:
            for word in HEALTH_WORDS:
                assert word not in output, (language, name, word)


def test_both_languages_have_the_same_templates() -> None:
    names = topics()
    assert {n for lang, n in names if lang == "fr"} == {n for lang, n in names if lang == "en"}


def test_html_escapes_what_people_wrote() -> None:
    written = write_mail(
        "practice-booked", "fr", **(FACTS | {"patient": '<b onclick="x()">Eve</b>'})
    )
    assert "<b onclick" not in written.html
    assert "&lt;b onclick=" in written.html
    assert '<b onclick="x()">Eve</b>' in written.text  # plain text stays as written
