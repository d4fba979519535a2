"""Every promise in the charter texts is kept by code: these tests tie the texts to it.

The consent purposes are read as commitments (``charter/README.md``): if the privacy notice says a
cookie lives 400 days, the code sets it for 400 days; if a consent text sends the reader to
« Mes consentements », the interface has a section of that name. Each test reads the numbers or names
from the text itself and compares them with what the code does or declares, in French and in
English, so that neither can change alone: the text changes (with a version bump) or the code does.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.accounts.devices import MAX_TOKENS
from app.accounts.models import Account, AuthSession, Relative
from app.accounts.password_policy import rpps_with_check_digit, valid_rpps
from app.booking.models import Appointment, WaitlistEntry
from app.charter.model import PurposeId
from app.charter.registry import default_charter
from app.core.settings import Settings
from app.mfa.models import Passkey, RecoveryCode, TotpCredential
from tests.factories import People, Person, new_client, outbox
from tests.helpers.booking import book, patient, ready_practitioner, soon

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"
_ENTRY = re.compile(r'"([^"]+)":\s*"((?:[^"\\]|\\.)*)"')

NOTICE = default_charter().purpose(PurposeId.PRIVACY_NOTICE).text
LANGS = ("fr", "en")
#: how each language quotes a name, and spells the units of a duration
QUOTES = {"fr": ("« ", " »"), "en": ("“", "”")}
UNITS = {
    "fr": {"day": "jours", "hour": "heures", "minute": "minutes", "month": "mois", "year": "ans"},
    "en": {"day": "days", "hour": "hours", "minute": "minutes", "month": "months", "year": "years"},
}


def notice(lang: str) -> str:
    return str(getattr(NOTICE, lang))


def quoted(lang: str, name: str) -> str:
    start, end = QUOTES[lang]
    return f"{start}{name}{end}"


def line_naming(text: str, needle: str) -> str:
    """The one paragraph or list item of ``text`` that names ``needle``."""
    lines = [line for line in text.splitlines() if needle in line]
    assert len(lines) == 1, f"{needle!r} should be named in exactly one line, found {len(lines)}"
    return lines[0]


def paragraph(text: str, opening: str) -> str:
    """The paragraph (with its list items) that opens with ``opening``."""
    for block in text.split("\n\n"):
        if block.startswith(opening):
            return block
    raise AssertionError(f"no paragraph opens with {opening!r}")


def spoken(seconds: int, lang: str) -> str:
    """A cookie's Max-Age as the texts say it: in the largest whole unit."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {UNITS[lang][unit]}"
    raise AssertionError(f"{seconds} s is no whole number of minutes")


def default(field: str) -> object:
    """A setting's shipped default: the texts state the defaults (charter/README.md)."""
    return Settings.model_fields[field].get_default(call_default_factory=True)


def lang_entries(lang: str) -> dict[str, str]:
    text = (STATIC / "lang" / f"{lang}.js").read_text(encoding="utf-8")
    return {key: value.replace('\\"', '"') for key, value in _ENTRY.findall(text)}


# ---------------------------------------------------------------------------------------------------
# Cookies and browser storage


async def _cookies_of_a_sign_in(people: People, *, https: bool) -> dict[str, int]:
    """Every cookie the app sets during a real sign-up, TOTP enrolment, sign-in and passkey
    ceremony start, by name, with its Max-Age (cookies being deleted, Max-Age 0, left out)."""
    seen: dict[str, int] = {}

    async def record(response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                max_age = int(morsel["max-age"] or 0)
                if max_age > 0:
                    seen[name] = max_age

    def client() -> httpx.AsyncClient:
        base = "https://testserver" if https else "http://testserver"
        http = new_client(people.app, base_url=base)
        people.clients.append(http)
        http.event_hooks["response"].append(record)
        return http

    person = await people.registered(role="patient")
    person = Person(client(), person.email, person.password, person.full_name, person.role)
    login = await person.login()
    assert login.status_code == 200, login.text
    await person.enrol_totp()
    await person.sign_in()  # a second sign-in, second factor at login this time
    # a sign-in without password starts with its challenge's cookie
    started = await client().post("/api/v1/auth/passkey/options")
    assert started.status_code == 200, started.text
    return seen


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
async def test_every_cookie_a_sign_in_sets_is_named_in_the_notice_with_its_lifetime(
    people: People, settings: Settings, https: bool
) -> None:
    cookies = await _cookies_of_a_sign_in(people, https=https)
    assert len(cookies) >= 3, cookies  # session, device, passkey challenge
    for lang in LANGS:
        text = paragraph(notice(lang), "Cookies")
        for name, max_age in cookies.items():
            line = line_naming(text, quoted(lang, name))
            assert spoken(max_age, lang) in line, (lang, name, max_age, line)
    # and the notice names no cookie the app does not set (over plain http or https)
    if https:
        plain = await _cookies_of_a_sign_in(people, https=False)
        for lang in LANGS:
            named = set(re.findall(r"(?:__Host-)?erdv_\w+", paragraph(notice(lang), "Cookies")))
            assert named == set(cookies) | set(plain), lang


def test_the_session_limits_and_device_cookie_in_the_notice_are_the_codes() -> None:
    idle = default("session_idle_minutes_patient")
    for lang in LANGS:
        text = paragraph(notice(lang), "Cookies")
        session = line_naming(text, quoted(lang, "erdv_session"))
        assert f"{idle} minutes" in session, lang
        device = line_naming(text, quoted(lang, "erdv_device"))
        assert re.search(rf"\b{MAX_TOKENS} (comptes|accounts)\b", device), lang


def test_what_the_browser_keeps_is_what_the_scripts_store() -> None:
    """The notice lists the language and a pending booking (kept an hour) in local storage, and
    the page to return to after signing in in the tab's session storage; nothing else is kept."""
    scripts = {path.name: path.read_text(encoding="utf-8") for path in STATIC.rglob("*.js")}
    every = "\n".join(scripts.values())
    assert "document.cookie" not in every
    assert "indexedDB" not in every
    assert re.findall(r"localStorage\.setItem\((\w+)", every) == ["STORAGE_KEY", "PENDING_KEY"]
    assert 'const STORAGE_KEY = "erdv.lang"' in scripts["i18n.js"]
    ttl = re.search(r"PENDING_TTL_MS = (\d+) \* 60 \* 1000", scripts["state.js"])
    assert ttl is not None
    minutes = int(ttl.group(1))
    assert minutes % 60 == 0
    hours = minutes // 60
    for lang, words in (
        ("fr", ("stockage local", "langue", f"ignoré après {hours} heure", "l'onglet")),
        ("en", ("local storage", "language", f"ignored after {hours} hour", "the tab")),
    ):
        text = paragraph(notice(lang), "Cookies")
        for word in words:
            assert word in text, (lang, word)


# ---------------------------------------------------------------------------------------------------
# Numbers the texts state: the settings' defaults


def _years_in_days(years: int) -> int:
    """``years`` as the settings count them: 365 days each, plus every leap day they can hold."""
    return years * 365 + (years + 3) // 4


RETENTION = {
    "fr": {
        "visit_reason_grace_hours": (r"motif de consultation est effacé (\d+) heures après", 1),
        "appointment_retention_days": (r"rendez-vous passés sont conservés (\d+) ans", 0),
        "audit_retention_days": (r"journaux de sécurité et d'accès sont conservés (\d+) mois", 0),
        "consent_proof_retention_days": (r"tant que votre compte existe, puis (\d+) ans", 0),
    },
    "en": {
        "visit_reason_grace_hours": (r"visit reason is erased (\d+) hours after", 1),
        "appointment_retention_days": (r"Past appointments are kept for (\d+) years", 0),
        "audit_retention_days": (r"access logs are kept for (\d+) months", 0),
        "consent_proof_retention_days": (
            r"as long as your account exists, then for (\d+) years",
            0,
        ),
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_retention_periods_in_the_notice_are_the_settings_defaults(lang: str) -> None:
    text = paragraph(notice(lang), "Durées de conservation" if lang == "fr" else "Retention")
    stated: dict[str, int] = {}
    for field, (pattern, _) in RETENTION[lang].items():
        found = re.search(pattern, text)
        assert found is not None, (lang, field, pattern)
        stated[field] = int(found.group(1))
    assert stated["visit_reason_grace_hours"] == default("visit_reason_grace_hours")
    assert _years_in_days(stated["appointment_retention_days"]) == default(
        "appointment_retention_days"
    )
    assert stated["audit_retention_days"] * 365 // 12 == default("audit_retention_days")
    assert _years_in_days(stated["consent_proof_retention_days"]) == default(
        "consent_proof_retention_days"
    )


def test_the_reminder_hour_in_the_texts_is_the_default_and_late_bookings_get_none() -> None:
    """The reminder consents and the interface's summary of each state the reminder hour, and that a visit
    booked or moved after it gets none (the code: ``due_reminders``; the behaviour:
    tests/notifications/test_reminders.py::test_an_appointment_booked_after_its_reminder_hour_gets_only_the_later_ones)."""
    hours = default("reminder_hours")
    assert isinstance(hours, tuple)
    assert len(hours) == 1, "the texts speak of one reminder"
    (hour,) = hours
    lang_files = {lang: lang_entries(lang) for lang in LANGS}
    patterns = {
        "fr": (r"environ (\d+) heures avant", r"pris ou déplacé moins de (\d+) heures"),
        "en": (r"about (\d+) hours before", r"booked or moved less than (\d+) hours"),
    }
    for purpose_id in ("reminders-email", "reminders-sms"):
        text = default_charter().purpose(purpose_id).text
        for lang in LANGS:
            for source in (
                str(getattr(text, lang)),
                lang_files[lang][f"consents.sends_{purpose_id}"],
            ):
                for pattern in patterns[lang]:
                    found = re.search(pattern, source)
                    assert found is not None, (purpose_id, lang, pattern)
                    assert int(found.group(1)) == hour, (purpose_id, lang, pattern)


# ---------------------------------------------------------------------------------------------------
# The data the notice lists: every column of a patient's tables is named there or is technical

TECHNICAL = "technical"
#: per column: the words in the notice (fr, en) that name it, or why it needs no naming
COLUMNS: dict[str, dict[str, tuple[str, str] | str]] = {
    Account.__tablename__: {
        "id": TECHNICAL,
        "email": ("votre adresse e-mail", "your email address"),
        "role": TECHNICAL,
        "full_name": ("Votre nom", "Your name"),
        "phone": ("votre numéro de téléphone", "your phone number"),
        "rpps": "a practitioner's number, never a patient's",
        "language": ("la langue de votre compte", "your account's language"),
        "password_hash": ("votre mot de passe", "your password"),
        "status": TECHNICAL,
        "email_verified_at": ("vérification de votre adresse", "checking your address"),
        "password_changed_at": TECHNICAL,
        "created_at": TECHNICAL,
        "erased_at": TECHNICAL,
    },
    Relative.__tablename__: {
        "id": TECHNICAL,
        "account_id": TECHNICAL,
        "full_name": ("Le nom et la date de naissance des proches", "The name and birth date"),
        "birth_date": ("jamais leur date de naissance", "never their birth date"),
        "created_at": TECHNICAL,
        "erased_at": TECHNICAL,
    },
    AuthSession.__tablename__: {
        "id": TECHNICAL,
        "account_id": TECHNICAL,
        "token_hash": TECHNICAL,
        "state": TECHNICAL,
        "created_at": ("Vos sessions de connexion (dates", "Your sign-in sessions (dates"),
        "last_seen_at": TECHNICAL,
        "authenticated_at": TECHNICAL,
        "reauthenticated_at": TECHNICAL,
        "ip": ("adresse IP", "IP address"),
        "user_agent": ("navigateur)", "browser)"),
    },
    Appointment.__tablename__: {
        "id": TECHNICAL,
        "practitioner_id": ("Vos rendez-vous (professionnel", "Your appointments (practitioner"),
        "patient_id": TECHNICAL,
        "relative_id": ("proches pour qui vous prenez rendez-vous", "relatives you book for"),
        "contact_name": "a person without an account the practice booked for, not the reader",
        "contact_phone": "a person without an account the practice booked for, not the reader",
        "contact_email": "a person without an account the practice booked for, not the reader",
        "site_id": ("lieu", "place"),
        "start_at": ("date, heure", "date, time"),
        "end_at": ("date, heure", "date, time"),
        "status": ("venu ou non venu", "attended or missed"),
        "channel": TECHNICAL,
        "visit_reason_ct": ("Le motif de consultation", "The visit reason"),
        "created_at": TECHNICAL,
        "cancelled_at": ("statut", "status"),
        "cancelled_by": TECHNICAL,
        "sequence": TECHNICAL,
        "changed_at": TECHNICAL,
    },
    WaitlistEntry.__tablename__: {
        "id": TECHNICAL,
        "patient_id": TECHNICAL,
        "practitioner_id": (
            "liste d'attente) : le professionnel",
            "waiting list): the practitioner",
        ),
        "visit_reason_ct": (
            "la date limite et le motif, conservé chiffré",
            "the visit reason, stored encrypted",
        ),
        "before_at": ("la date limite", "the latest date"),
        "status": TECHNICAL,
        "created_at": TECHNICAL,
    },
    Passkey.__tablename__: {
        "id": TECHNICAL,
        "account_id": TECHNICAL,
        "credential_id": TECHNICAL,
        "public_key": (
            "sa clé publique, jamais sa clé privée",
            "its public key, never its private key",
        ),
        "sign_count": TECHNICAL,
        "transports": TECHNICAL,
        "name": ("le nom que vous lui donnez", "the name you give it"),
        "created_at": TECHNICAL,
        "last_used_at": TECHNICAL,
    },
    TotpCredential.__tablename__: {
        "account_id": TECHNICAL,
        "secret": (
            "le secret de votre application d'authentification, conservé chiffré",
            "the secret of your authenticator app, stored encrypted",
        ),
        "pending_secret": (
            "le secret de votre application d'authentification, conservé chiffré",
            "the secret of your authenticator app, stored encrypted",
        ),
        "last_step": TECHNICAL,
        "activated_at": TECHNICAL,
        "updated_at": TECHNICAL,
    },
    RecoveryCode.__tablename__: {
        "id": TECHNICAL,
        "account_id": TECHNICAL,
        "code_hash": (
            "vos codes de secours, conservés seulement sous forme d'empreinte",
            "your recovery codes, stored only as hashes",
        ),
        "created_at": TECHNICAL,
        "used_at": TECHNICAL,
    },
}


def test_every_column_of_a_patients_tables_is_in_the_notice_or_technical() -> None:
    """A column added to one of these tables fails here until the notice names it (raise the
    notice's version) or it is marked technical with a reason."""
    models = (
        Account,
        Relative,
        AuthSession,
        Appointment,
        WaitlistEntry,
        Passkey,
        TotpCredential,
        RecoveryCode,
    )
    for model in models:
        table = sa.inspect(model).local_table
        assert isinstance(table, sa.Table)
        columns = {c.name for c in table.columns}
        assert columns == set(COLUMNS[table.name]), table.name
    for table_name, columns_named in COLUMNS.items():
        for column, named in columns_named.items():
            if isinstance(named, str):
                continue
            for lang, words in zip(LANGS, named, strict=True):
                assert words in notice(lang), (table_name, column, lang, words)


# ---------------------------------------------------------------------------------------------------
# What the practice sees, what the mail provider carries


async def test_the_practice_sees_the_phone_and_missed_visits_as_the_notice_says(
    people: People,
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    assert (await alice.patch("/api/v1/me", json={"phone": "06 12 34 56 78"})).status_code == 200
    booked = await book(alice, doctor.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    window = {"from": soon(0).isoformat(), "to": soon(3 * 24 * 60).isoformat()}
    (seen,) = (await doctor.get("/api/v1/me/agenda", params=window)).json()
    assert seen["patient"]["phone"] == "+33612345678"
    assert seen["patient"]["no_shows"] == 0  # the practice's own count, shown to it
    assert (await doctor.reauth()).status_code == 204
    export = (await doctor.get("/api/v1/me/practice/export")).json()
    telecoms = [
        t
        for e in export["entry"]
        if e["resource"]["resourceType"] == "Patient"
        for t in e["resource"].get("telecom", [])
    ]
    assert {"system": "email", "value": alice.email} in telecoms
    for lang, words in (
        ("fr", ("votre nom", "votre numéro de téléphone", "votre adresse e-mail")),
        ("en", ("your name", "your phone number", "your email address")),
    ):
        recipients = paragraph(notice(lang), "Destinataires" if lang == "fr" else "Recipients")
        for word in words:
            assert word in recipients, (lang, word)
        required = paragraph(
            notice(lang), "Données obligatoires" if lang == "fr" else "Required data"
        )
        phone = line_naming(required, "téléphone" if lang == "fr" else "phone number")
        assert ("professionnels" if lang == "fr" else "practitioners") in phone, lang
        assert ("SMS" if lang == "fr" else "text-message") in phone, lang
    for lang, missed in (
        ("fr", "rendez-vous que vous avez manqués chez lui"),
        ("en", "how many appointments you missed with them"),
    ):
        assert missed in notice(lang), lang


async def test_booking_mails_go_without_any_reminder_consent_as_the_notice_says(
    people: People, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)  # no reminder consent
    booked = await book(alice, doctor.account_id, reason, soon(48 * 60))
    assert booked.status_code == 201, booked.text
    assert any(message["To"] == alice.email for message in outbox(settings)), "no confirmation"
    for lang, always, only_if in (
        (
            "fr",
            "par qui passent toujours les e-mails de votre compte et de vos rendez-vous",
            "le prestataire d'envoi des SMS, seulement si vous avez accepté les rappels par SMS",
        ),
        (
            "en",
            "through which the emails of your account and appointments always go",
            "the text-message provider, only if you accepted text-message reminders",
        ),
    ):
        recipients = paragraph(notice(lang), "Destinataires" if lang == "fr" else "Recipients")
        assert always in recipients, lang
        assert only_if in recipients, lang


# ---------------------------------------------------------------------------------------------------
# Places the texts send the reader to


async def test_the_transparency_page_shows_what_the_notice_sends_readers_there_for(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    for lang in LANGS:
        page = (await client.get("/transparency", params={"lang": lang})).text
        for shown in (settings.operator_name, settings.operator_contact, settings.dpo_contact):
            assert shown in page, (lang, shown)
        for line in settings.subprocessors:
            assert line in page, (lang, line)
    # the page shows no postal address: the notice must not promise one
    has_address = any("address" in field for field in Settings.model_fields)
    for lang, word in (("fr", "adresse"), ("en", "address")):
        controller = paragraph(
            notice(lang), "Responsable du traitement" if lang == "fr" else "Controller"
        )
        assert has_address or word not in controller, lang


def test_every_place_the_patient_texts_name_exists_in_the_interface() -> None:
    """« Mes consentements », “My apps”, « Transparence »…: a quoted name in a patient's text is a
    label the interface shows in that language."""
    labels = {lang: set(lang_entries(lang).values()) for lang in LANGS}
    patterns = {"fr": r"« ([^»]+) »", "en": r"“([^”]+)”"}
    for purpose in default_charter().purposes:
        if purpose.audience.value != "patient":
            continue
        for lang in LANGS:
            names = re.findall(patterns[lang], str(getattr(purpose.text, lang)))
            cookies = {n for n in names if "erdv_" in n}
            for name in set(names) - cookies:
                assert name in labels[lang], (purpose.id.value, lang, name)
    # the ones the withdrawal sentences rely on, by the keys the interface uses for them
    for lang in LANGS:
        entries = lang_entries(lang)
        for purpose_id, key in (
            ("reminders-email", "consents.title"),
            ("reminders-sms", "consents.title"),
            ("third-party-sharing", "apps.title"),
        ):
            text = str(getattr(default_charter().purpose(purpose_id).text, lang))
            assert quoted(lang, entries[key]) in text, (purpose_id, lang)


def test_the_notice_is_acknowledged_not_consented_to_in_both_languages() -> None:
    """The notice is an acknowledgement (its kind): the message after it says so in each language."""
    assert default_charter().purpose(PurposeId.PRIVACY_NOTICE).kind.value == "acknowledgement"
    fr, en = lang_entries("fr")["consent.recorded"], lang_entries("en")["consent.recorded"]
    assert "prise de connaissance" in fr
    assert "accord" not in fr
    assert "acknowledgement" in en
    assert "consent" not in en


async def test_the_rpps_hint_claims_only_the_checks_the_code_makes(people: People) -> None:
    """Registration checks the number's check digit (``valid_rpps``); an administrator then
    approves the practitioner by hand, with a link to the directory. Nothing looks the number up
    in the directory automatically, so the hint does not say so."""
    good = rpps_with_check_digit("1000000004")
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert valid_rpps(good)
    assert not valid_rpps(wrong)
    doctor = await people.signed_in(role="practitioner")
    assert "admin-approval" in (await doctor.get("/api/v1/me/practice")).json()["listing_missing"]
    fr, en = lang_entries("fr")["register.rpps_hint"], lang_entries("en")["register.rpps_hint"]
    assert "clé de contrôle que nous vérifions" in fr
    assert "Un administrateur vérifie" in fr
    assert "check digit we verify" in en
    assert "An administrator then checks" in en
    assert "vérifiés dans l'annuaire" not in fr
    assert "checked against the health directory" not in en
