"""What a new user meets in a real browser: each flow that broke for one, and the short booking path.

Every test here was written against a failure seen in chromium (issue 19): the TOTP QR code that
never showed, a mistyped address showing JSON, codes and English on French pages, a week of slots
spanning eight dates, buttons offered past the practice's deadline, a chosen slot lost at sign-in.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.jobs import RETENTION_JOBS
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    Api,
    Person,
    Server,
    Watch,
    authenticator,
    listed_practitioner,
    new_context,
    new_person,
    reflow_problems,
    screenshot,
    sign_in,
    wait_for_mail_token,
)
from tests.factories import outbox

PARIS = ZoneInfo("Europe/Paris")
ADMIN = "admin@demo.erdv.localhost"
PASSWORD = "Lantern-Quarry-Meadow-73"  # noqa: S105 - a test account's


@pytest.fixture(scope="module")
def doctor(server: Server) -> tuple[Person, str, str]:
    """A listed practitioner of this module (Marseille, 07:00-21:00 every day, 30 min visits,
    online changes up to 24 h before): (person, practitioner id, visit reason id)."""
    return listed_practitioner(server, "Dr Maëlle Perrin")


def _slots(
    server: Server, practitioner_id: str, start: datetime, days: int
) -> list[dict[str, Any]]:
    window = {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}
    with Api(server) as api:
        found: list[dict[str, Any]] = api.call(
            "GET", f"/api/v1/practitioners/{practitioner_id}/slots?{urlencode(window)}"
        )
    return found


def _book(server: Server, person: Person, practitioner_id: str, slot: dict[str, Any]) -> str:
    with Api(server) as api:
        api.sign_in(person)
        api.grant("privacy-notice")
        booked = api.call(
            "POST",
            "/api/v1/appointments",
            {
                "practitioner_id": practitioner_id,
                "visit_reason_id": slot["visit_reason_id"],
                "start": slot["start"],
            },
            expect=201,
        )
    return str(booked["id"])


def _clock(iso: str) -> str:
    """The HH:MM a French page shows for an instant, in Paris."""
    return datetime.fromisoformat(iso).astimezone(PARIS).strftime("%H:%M")


# --- 2. the TOTP QR code ------------------------------------------------------------------------


def test_new_patient_signs_up_from_a_chosen_slot_and_books_it(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    """A visitor picks a slot, creates an account (sign-up, the mailed link, the QR code of the
    authenticator app, recovery codes) and comes back to that very slot to book it."""
    _person, practitioner_id, _reason = doctor
    page.goto(f"/practitioners/{practitioner_id}")
    slot = page.locator(".slot").nth(2)
    chosen = slot.get_attribute("aria-label") or ""
    slot.click()
    box = page.get_by_role("region", name="Confirmer le rendez-vous")
    expect(box).to_contain_text("Connectez-vous ou créez un compte")
    box.get_by_role("link", name="Créer un compte").click()

    email = f"ines.{uuid.uuid4().hex[:8]}@example.test"
    page.get_by_label("Nom complet").fill("Inès Carpentier")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    # the mail speaks the language of the form it came from
    token = wait_for_mail_token(server, email, "verify-email")
    assert [m["Subject"] for m in outbox(server.settings) if m["To"] == email] == [
        "Confirmez votre adresse e-mail"
    ]
    page.goto(f"/verify-email#token={token}")
    page.locator("main").get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_response("**/api/v1/auth/mfa/totp/setup") as answer:
        page.get_by_role("button", name="Continuer").click()
    setup = answer.value.json()

    # the QR code is drawn, and it encodes the otpauth:// URI of the account's secret
    qr = page.get_by_role("img", name="QR code à scanner avec votre application d'authentification")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0
    import zxingcpp
    from PIL import Image

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert [d.text for d in decoded] == [setup["otpauth_uri"]]
    screenshot(page, "enrol-totp")
    page.locator("#enrol-code").fill(authenticator(email, setup["secret"]).code())
    page.get_by_role("button", name="Activer").click()
    page.get_by_label("J'ai conservé mes codes de secours").check()
    page.get_by_role("button", name="Continuer").click()

    # back on the chosen slot, ready to confirm
    expect(page).to_have_url(re.compile(rf"/practitioners/{practitioner_id}\?slot="))
    box = page.get_by_role("region", name="Confirmer le rendez-vous")
    expect(box).to_contain_text(chosen.split(" — ")[0])
    box.get_by_role("button", name="Confirmer le rendez-vous").click()
    page.get_by_label("J'ai lu cette notice d'information").check()
    page.get_by_role("button", name="Valider et réserver").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    expect(page.locator("section[aria-labelledby=upcoming-title]")).to_contain_text(
        "Dr Maëlle Perrin"
    )


# --- 1 (sign-in from the booking box), and the 4-click path ---------------------------------------


def test_signing_in_from_the_booking_box_keeps_the_chosen_slot(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    _person, practitioner_id, _reason = doctor
    patient = new_person(server, full_name="Yann Ollivier")
    with Api(server) as api:
        api.sign_in(patient)
        api.grant("privacy-notice")
    # one visit: with a visit before it, the slot list that first page was still fetching could be
    # the response caught here, its body gone with the page it was fetched for
    with page.expect_response(re.compile(r"/slots\?")) as answer:
        page.goto(f"/practitioners/{practitioner_id}")
    slots = answer.value.json()
    page.locator(".slot").nth(3).click()
    page.get_by_role("region", name="Confirmer le rendez-vous").get_by_role(
        "link", name="Se connecter"
    ).click()
    page.get_by_label("Adresse e-mail").fill(patient.email)
    page.get_by_label("Mot de passe").fill(patient.password)
    page.get_by_role("button", name="Continuer").click()
    page.locator("#mfa-code").fill(patient.code())
    page.get_by_role("button", name="Valider").click()
    box = page.get_by_role("region", name="Confirmer le rendez-vous")
    expect(box).to_contain_text(_clock(slots[3]["start"]))
    box.get_by_role("button", name="Confirmer le rendez-vous").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    booked = page.request.get("/api/v1/me/appointments").json()
    assert [a["start"] for a in booked] == [slots[3]["start"]]


def test_from_search_to_a_booked_visit_in_four_clicks(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    """A signed-in patient: search, the result's next slot, confirm: three clicks (four allowed)."""
    patient = new_person(server, full_name="Lou Garnier")
    with Api(server) as api:
        api.sign_in(patient)
        api.grant("privacy-notice")
    sign_in(page, patient.email, patient.password)
    page.goto("/")
    page.evaluate(
        """() => { window.__clicks = 0;
        document.addEventListener('click', (e) => { if (e.isTrusted) window.__clicks += 1; },
                                  true); }"""
    )
    page.get_by_label("Ville").fill("Marseille")
    page.get_by_label("Nom").fill("Perrin")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    result = page.locator("li.result", has_text="Dr Maëlle Perrin")
    expect(result).to_contain_text("Prochain rendez-vous")
    next_slot = result.locator("a.slot-link")
    shown = next_slot.text_content() or ""
    screenshot(page, "search-next-slot")
    next_slot.click()
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    expect(page.locator("#notice")).to_contain_text("Rendez-vous confirmé")
    clicks = page.evaluate("() => window.__clicks")
    # the page changed under the counter: count the clicks after the first navigation too
    assert clicks <= 4
    booked = page.request.get("/api/v1/me/appointments").json()
    assert len(booked) == 1
    assert _clock(booked[0]["start"]) in shown


# --- 4 and 8: what an appointment still allows; cancelled ones apart ----------------------------


def test_appointments_offer_only_what_the_deadline_allows(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    _person, practitioner_id, _reason = doctor
    patient = new_person(server, full_name="Hélène Royer")
    now = datetime.now(PARIS)
    soon = _slots(server, practitioner_id, now, 1)[0]  # inside the practice's 24 h deadline
    later = _slots(server, practitioner_id, now + timedelta(days=3), 2)[0]
    _book(server, patient, practitioner_id, soon)
    _book(server, patient, practitioner_id, later)
    sign_in(page, patient.email, patient.password)
    upcoming = page.locator("section[aria-labelledby=upcoming-title]")
    cards = upcoming.locator("li.card")
    expect(cards).to_have_count(2)
    near, far = cards.nth(0), cards.nth(1)
    expect(near).to_contain_text("Le délai d'annulation et de déplacement en ligne est passé")
    expect(near.get_by_role("button")).to_have_count(0)
    expect(far).to_contain_text("Annulable ou déplaçable en ligne jusqu'au")
    expect(far.get_by_role("button", name="Déplacer")).to_be_visible()
    screenshot(page, "appointments-deadline")

    page.once("dialog", lambda dialog: dialog.accept())
    far.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(page.locator("#notice")).to_contain_text("Rendez-vous annulé")
    cancelled = page.locator("section[aria-labelledby=cancelled-title]")
    expect(cancelled).to_contain_text("Annulé")
    expect(page.locator("section[aria-labelledby=upcoming-title] li.card")).to_have_count(1)


# --- 3 and 6: the third-party sharing card, and codes in words ----------------------------------


def test_privacy_page_says_everything_in_words(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    practitioner, practitioner_id, _reason = doctor
    patient = new_person(server, full_name="Ambre Masson")
    _book(
        server, patient, practitioner_id, _slots(server, practitioner_id, datetime.now(PARIS), 7)[5]
    )
    with Api(server) as api:  # the practitioner reads the agenda: an entry in the patient's log
        api.sign_in(practitioner)
        api.call("GET", "/api/v1/me/agenda")
    sign_in(page, patient.email, patient.password)
    page.get_by_role("link", name="Mes données").click()
    sharing = page.locator('[data-purpose="third-party-sharing"]')
    # decided per application: no button that could only fail, a pointer to where it is done
    expect(sharing.get_by_role("button")).to_have_count(0)
    expect(sharing).to_contain_text("application par application")
    expect(sharing.get_by_role("link", name="Mes applications")).to_be_visible()
    log = page.locator("section[aria-labelledby=log-title]")
    expect(log).to_contain_text("consultation de l'agenda du cabinet")
    expect(log).to_contain_text("Dr Maëlle Perrin (professionnel de santé)")
    expect(log).to_contain_text("site erdv")
    text = page.locator("main").inner_text()
    for raw in ("agenda.read", "auth.", "appointment.", "consent.", "third_party", "web\n"):
        assert raw not in text, raw
    screenshot(page, "privacy")
    # words are never broken inside a table cell, even on a narrow phone
    page.set_viewport_size({"width": 320, "height": 700})
    split = page.evaluate(
        """() => {
      const broken = [];
      for (const cell of document.querySelectorAll('main th, main td')) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          // a line may break at a space or after a hyphen, never inside a word
          for (const match of node.textContent.matchAll(/[^\\s\\-]{2,}/g)) {
            if (match[0].length > 24) continue;  // a hash may break anywhere
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
            if (lines.size > 1) broken.push(match[0]);
          }
        }
      }
      return broken;
    }"""
    )
    assert split == []


def test_codes_and_english_never_show_on_french_pages(page: Any, server: Server) -> None:
    # a wrong RPPS number, said in words (French, then English)
    page.goto("/register")
    page.get_by_label("Professionnel ou professionnelle de santé").check()
    page.get_by_label("Nom complet").fill("Dr Jeanne Roche")
    page.get_by_label("Adresse e-mail").fill(f"j.{uuid.uuid4().hex[:8]}@example.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Numéro RPPS").fill("12345678901")
    page.get_by_role("button", name="Créer mon compte").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Numéro RPPS")
    expect(notice).to_contain_text("11 chiffres")
    for raw in ("body", "Value error", "rpps must", "invalid_rpps"):
        expect(notice).not_to_contain_text(raw)
    screenshot(page, "register-rpps-error")
    page.get_by_role("button", name="English").click()
    page.get_by_label("A health professional").check()
    page.get_by_label("Full name").fill("Dr Jeanne Roche")
    page.get_by_label("Email address").fill(f"j.{uuid.uuid4().hex[:8]}@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("RPPS number").fill("12345678901")
    page.get_by_role("button", name="Create my account").click()
    expect(notice).to_contain_text("RPPS number: an RPPS number has 11 digits")
    # an English sign-up gets English mail
    email = f"k.{uuid.uuid4().hex[:8]}@example.test"
    page.get_by_label("A patient").check()
    page.get_by_label("Full name").fill("Kim Lambert")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("RPPS number").fill("") if page.get_by_label(
        "RPPS number"
    ).is_visible() else None
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    wait_for_mail_token(server, email, "verify-email")
    assert [m["Subject"] for m in outbox(server.settings) if m["To"] == email] == [
        "Confirm your email address"
    ]
    page.get_by_role("button", name="Français").click()

    # what a new practice still lacks, in words
    practitioner = new_person(server, "practitioner", "Dr Théo Marchand")
    sign_in(page, practitioner.email, practitioner.password)
    status = page.locator("section[aria-labelledby=status-title]")
    expect(status).to_contain_text("Il manque")
    expect(status).to_contain_text("votre accord pour publier votre profil")
    expect(status).to_contain_text("au moins un motif de consultation")
    for raw in ("profile-publication", "practitioner-contract", "deontology", "visit-reasons"):
        expect(status).not_to_contain_text(raw)
    screenshot(page, "pro-missing")


# --- 5. a mistyped address ----------------------------------------------------------------------


def test_a_mistyped_address_shows_the_apps_page_not_found(page: Any) -> None:
    response = page.goto("/rendez-vouz")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    expect(page.get_by_role("banner")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name="Rechercher")).to_be_visible()
    assert "application/problem+json" not in (response.headers.get("content-type") or "")
    screenshot(page, "not-found")


# --- 7. slots: calendar weeks, the horizon, the next free slot, new reasons, unlisted practices ----


def test_a_week_of_slots_is_seven_days_from_today(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    _person, practitioner_id, _reason = doctor
    page.goto(f"/practitioners/{practitioner_id}")
    days = page.locator("details.day")
    expect(days).to_have_count(7)
    today = datetime.now(PARIS).date()
    names = [d.strip().lower() for d in days.locator(".day-name").all_text_contents()]
    assert names[0].endswith(f"{today.day} " + names[0].split(" ")[-1])
    last = today + timedelta(days=6)
    assert names[6].split(" ")[1] == str(last.day)
    expect(page.locator(".week-nav .range")).to_contain_text(str(today.day))
    # the next week starts where this one ended: no day split across two pages
    page.get_by_role("button", name="Semaine suivante").click()
    expect(days.first.locator(".day-name")).to_contain_text(str((today + timedelta(days=7)).day))
    screenshot(page, "practitioner-week")


def test_the_picker_knows_the_horizon_and_the_next_free_slot(page: Any, server: Server) -> None:
    person, practitioner_id, _reason = listed_practitioner(server, "Dr Rémi Faure")
    with Api(server) as api:
        api.sign_in(person)
        practice = api.call("GET", "/api/v1/me/practice")
        rules = {**practice["booking_rules"], "max_horizon_days": 20}
        api.call("PUT", "/api/v1/me/practice", {"booking_rules": rules})
        start = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
        api.call(
            "POST",
            "/api/v1/me/absences",
            {
                "start": start.isoformat(),
                "end": (start + timedelta(days=9)).isoformat(),
                "cancel_appointments": False,
            },
            expect=201,
        )
    page.goto(f"/practitioners/{practitioner_id}")
    # an empty week says when the next free slot is, and takes the patient there
    expect(page.locator(".week")).to_contain_text("Aucun créneau libre ces sept jours-là")
    expect(page.locator(".week")).to_contain_text("Prochain créneau libre")
    page.locator("#go-next-free").click()
    expect(page.locator(".slot").first).to_be_visible()
    screenshot(page, "practitioner-next-free")
    # "next" stops at the practice's horizon instead of promising slots forever
    nxt = page.get_by_role("button", name="Semaine suivante")
    for _ in range(5):
        if nxt.is_disabled():
            break
        nxt.click()
        expect(page.locator(".week")).not_to_contain_text("Chargement")
    expect(nxt).to_be_disabled()
    expect(page.locator("main")).not_to_contain_text("Essayez la semaine suivante")


def test_a_new_visit_reason_is_bookable_at_once(page: Any, server: Server) -> None:
    person, practitioner_id, _reason = listed_practitioner(server, "Dr Nora Benali")
    sign_in(page, person.email, person.password)
    page.goto("/pro/reasons")
    page.get_by_label("Libellé").fill("Certificat de sport")
    expect(page.get_by_label("Proposer ce motif dans toutes mes plages horaires")).to_be_checked()
    page.get_by_role("button", name="Ajouter le motif").click()
    expect(page.locator("#notice")).to_contain_text("proposé dans toutes vos plages horaires")
    row = page.locator("tr", has_text="Certificat de sport")
    expect(row).to_contain_text("oui")
    screenshot(page, "pro-reasons")
    page.goto(f"/practitioners/{practitioner_id}")
    page.get_by_label("Motif de consultation").select_option(label="Certificat de sport (20 min)")
    expect(page.locator(".slot").first).to_be_visible()


def test_a_practice_without_visit_reasons_is_not_listed(page: Any, server: Server) -> None:
    person = new_person(server, "practitioner", "Dr Silas Vidal")
    with Api(server) as api:
        api.sign_in(person)
        practice = api.call(
            "PUT",
            "/api/v1/me/practice",
            {"profession": "medecin", "specialty": "medecine-generale", "city": "Vannes"},
        )
        api.grant(audience="practitioner")
    server.cli("practitioners", "approve", practice["id"])
    page.goto("/?city=Vannes")
    expect(page.locator(".results .empty")).to_contain_text("Aucun professionnel")


# --- 8. the agenda: today, a time grid, cancel and move -------------------------------------------


def test_the_agenda_is_a_time_grid_to_work_in(
    page: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    practitioner, practitioner_id, _reason = doctor
    patient = new_person(server, full_name="Oscar Lemaire")
    free = _slots(server, practitioner_id, datetime.now(PARIS) + timedelta(days=1), 2)
    _book(server, patient, practitioner_id, free[4])
    sign_in(page, practitioner.email, practitioner.password)
    page.goto("/pro/agenda?view=week")
    grid = page.locator(".timegrid")
    expect(grid.locator(".col-head")).to_have_count(7)
    expect(grid.locator(".col-head.today")).to_have_count(1)
    screenshot(page, "pro-agenda-week")
    # "Jour" shows today, not the week's Monday
    page.get_by_role("button", name="Jour", exact=True).click()
    expect(grid.locator(".col-head")).to_have_count(1)
    expect(grid.locator(".col-head.today")).to_have_count(1)
    # the booked visit's own day (tomorrow, or later when the evening has no free slot left)
    day = datetime.fromisoformat(free[4]["start"]).astimezone(PARIS).date().isoformat()
    page.goto(f"/pro/agenda?view=day&date={day}")
    visit = page.get_by_role("button", name=re.compile("Oscar Lemaire"))
    expect(visit).to_contain_text(_clock(free[4]["start"]))
    screenshot(page, "pro-agenda-day")
    # move it from the grid
    visit.click()
    details = page.get_by_role("region", name=re.compile(_clock(free[4]["start"])))
    expect(details).to_contain_text("Oscar Lemaire")
    details.get_by_role("button", name="Déplacer").click()
    target = details.locator(".slot").nth(6)
    target.click()
    details.get_by_role("button", name="Confirmer le déplacement").click()
    expect(page.locator("#notice")).to_contain_text("Rendez-vous de Oscar Lemaire déplacé")
    moved = page.get_by_role("button", name=re.compile("Oscar Lemaire"))
    expect(moved).to_be_visible()
    # and cancel it
    moved.click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#agenda-cancel").click()
    expect(page.locator("#notice")).to_contain_text("annulé")
    expect(page.locator(".agenda-cancelled")).to_contain_text("Oscar Lemaire")
    expect(page.get_by_role("button", name=re.compile("Oscar Lemaire"))).to_have_count(0)
    with Api(server) as api:
        api.sign_in(patient)
        mine = api.call("GET", "/api/v1/me/appointments")
    assert [a["status"] for a in mine] == ["cancelled"]
    assert mine[0]["start"] != free[4]["start"]


# --- 8. no console error for a visitor; a phone's header and week ------------------------------------


def test_a_visitor_meets_no_console_error(
    browser: Any, server: Server, doctor: tuple[Person, str, str]
) -> None:
    """Every message, the browser's own "failed to load" included (the other tests let 4xx through:
    some pages answer them by design; the session probe must not)."""
    messages: list[str] = []
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    context.on("page", lambda p: p.on("console", lambda m: messages.append(f"{m.type}: {m.text}")))
    page = context.new_page()
    for path in ("/", "/login", "/register", f"/practitioners/{doctor[1]}", "/charter"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    context.close()
    assert [m for m in messages if m.startswith("error")] == []


def test_on_a_phone_the_header_is_one_line_and_a_week_is_short(
    browser: Any, server: Server, watch: Watch, doctor: tuple[Person, str, str]
) -> None:
    context = new_context(browser, server, watch, viewport={"width": 390, "height": 844})
    page = context.new_page()
    for path in ("/", f"/practitioners/{doctor[1]}", "/login", "/charter"):
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        height = page.locator("body > header").evaluate("h => h.getBoundingClientRect().height")
        assert height <= 80, (path, height)
        assert not reflow_problems(page), path
    booking = page.locator("section.booking")
    page.goto(f"/practitioners/{doctor[1]}")
    expect(page.locator(".slot").first).to_be_visible()
    assert booking.evaluate("b => b.getBoundingClientRect().height") < 1500
    # the other days open on demand
    day = page.locator("details.day:not([open])").first.get_attribute("data-day")
    closed = page.locator(f'details.day[data-day="{day}"]')
    closed.locator("summary").click()
    expect(closed).to_have_attribute("open", "")
    screenshot(page, "phone-practitioner")
    # the menu opens the navigation
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("link", name="Se connecter")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    context.close()


# --- admins: the compliance report, suspension, exports by date ------------------------------------


def test_admin_reads_the_report_suspends_and_filters_exports(page: Any, server: Server) -> None:
    _person, practitioner_id, _reason = listed_practitioner(server, "Dr Gaspard Lenoir")
    sign_in(page, ADMIN, DEMO_PASSWORD)
    report = page.locator("#compliance")
    clauses, retention = report.locator("table").nth(0), report.locator("table").nth(1)
    expect(clauses.locator("tbody tr")).to_have_count(14)
    expect(report).to_contain_text("C7")
    expect(report).to_contain_text("respectée")
    # each retention job the privacy notice relies on, in words, with its last run
    expect(retention.locator("tbody tr")).to_have_count(len(RETENTION_JOBS))
    expect(retention).to_contain_text(
        "rendez-vous passés anonymisés 3 ans après la dernière activité"
    )
    expect(retention).to_contain_text("agenda des cabinets fermés")
    expect(retention).not_to_contain_text("appointment-retention")
    expect(retention).to_contain_text("sessions terminées (adresse IP, navigateur)")
    screenshot(page, "admin-dashboard")
    row = page.locator("section[aria-labelledby=approved-title] tr", has_text="Dr Gaspard Lenoir")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("^Suspendre")).click()
    expect(page.locator("#notice")).to_contain_text("Dr Gaspard Lenoir est suspendu")
    expect(row).to_contain_text("suspendu")
    with Api(server) as api:
        assert api.http.get(f"/api/v1/practitioners/{practitioner_id}").status_code == 404
    page.get_by_label("Du", exact=True).fill("2026-01-01")
    page.get_by_label("Au", exact=True).fill("2026-06-30")
    href = page.get_by_role("link", name="Journal d'audit (NDJSON)").get_attribute("href") or ""
    assert "format=ndjson" in href
    assert "since=" in href
    assert "until=" in href
    row.get_by_role("button", name=re.compile("^Rétablir")).click()
    expect(page.locator("#notice")).to_contain_text("Dr Gaspard Lenoir est rétabli")
