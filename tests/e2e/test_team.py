"""The practice team in chromium (issue #25): a practitioner invites a secretary, who registers from
the mailed link and enrols TOTP, books a phone patient and one of the practice's patients in the
grid, moves a visit, records it as completed once it has taken place, and the patient's access log
names the secretary."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import (
    Server,
    authenticator,
    book_via_api,
    listed_practitioner,
    new_context,
    new_person,
    screenshot,
    sign_in,
    sign_out,
    wait_for_mail,
)
from tests.factories import mail_text

PASSWORD = "Quiet-Heron-Meadow-47"
PARIS = ZoneInfo("Europe/Paris")


def _paris_day(offset: int) -> date:
    """Today in Paris (the practice's day), ``offset`` days on."""
    return (datetime.now(PARIS) + timedelta(days=offset)).date()


def _shift_to_yesterday(server: Server, full_name: str) -> None:
    """The visit took place yesterday: the server's clock cannot move, the visit can (the unit
    tests move the clock itself)."""
    database = server.data_dir.parent / "erdv.db"
    with sqlite3.connect(database) as db:
        (appointment_id, start, end) = db.execute(
            "SELECT id, start_at, end_at FROM appointment WHERE contact_name = ?", (full_name,)
        ).fetchone()
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        # 10:00 yesterday in Paris, the day the desk shows (UTC's yesterday is not Paris's
        # between 23:00 and midnight UTC)
        moved = datetime.combine(_paris_day(-1), time(10), tzinfo=PARIS).astimezone(UTC)
        if first.tzinfo is None:
            moved = moved.replace(tzinfo=None)
        separator = "T" if "T" in start else " "
        db.execute(
            "UPDATE appointment SET start_at = ?, end_at = ? WHERE id = ?",
            (
                moved.isoformat(sep=separator),
                (moved + (last - first)).isoformat(sep=separator),
                appointment_id,
            ),
        )
        db.execute("DELETE FROM booking_cell WHERE appointment_id = ?", (appointment_id,))


def test_a_secretary_joins_books_by_phone_moves_and_records_the_visit(
    page: Any, browser: Any, server: Server, watch: Any
) -> None:
    doctor, practice_id, reason_id = listed_practitioner(server, "Dr Nora Haddad")
    patient = new_person(server, full_name="Inès Robert")
    # Inès is already a patient of the practice (booked online), in the afternoon: the morning
    # cells of that day are where the desk books by phone (at 08:30: a run at 08:xx in Paris once
    # put her first free slot two days on right there)
    afternoon = datetime.combine(_paris_day(2), time(14, 0), PARIS)
    book_via_api(server, patient, practice_id, reason_id, after=afternoon)

    # the practitioner invites the secretary from the Team page
    sign_in(page, doctor.email, doctor.password)
    page.get_by_role("link", name="Équipe").click()
    email = f"claire.{practice_id[:8]}@example.test"
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.locator("#notice")).to_contain_text(f"Invitation envoyée à {email}")
    members = page.get_by_role("region", name="Membres et invitations")
    expect(members).to_contain_text("invitation envoyée")
    screenshot(page, "team-invited")
    mail = wait_for_mail(server, email, "Dr Nora Haddad vous invite sur son agenda erdv")
    link = re.search(r"/invitations/[A-Za-z0-9_\-]+", mail_text(mail, ("plain",)))
    assert link is not None

    # the secretary opens the link, creates the account, enrols TOTP
    context = new_context(browser, server, watch)
    desk = context.new_page()
    desk.set_default_timeout(15_000)
    desk.goto(link.group(0))
    expect(desk.get_by_role("heading", level=1)).to_have_text("Rejoindre l'équipe d'un cabinet")
    desk.get_by_label("Nom complet").fill("Claire Vidal")
    desk.get_by_label("Adresse e-mail").fill(email)
    desk.get_by_label("Mot de passe").fill(PASSWORD)
    screenshot(desk, "team-invitation")
    desk.get_by_role("button", name="Créer mon compte").click()
    expect(desk.locator("#notice")).to_contain_text("Compte créé")
    desk.get_by_label("Adresse e-mail").fill(email)
    desk.get_by_label("Mot de passe").fill(PASSWORD)
    with desk.expect_response("**/api/v1/auth/mfa/totp/setup") as answer:
        desk.get_by_role("button", name="Continuer").click()
    secret = answer.value.json()["secret"]
    desk.locator("#enrol-code").fill(authenticator(email, secret).code())
    desk.get_by_role("button", name="Activer").click()
    desk.get_by_label("J'ai conservé mes codes de secours").check()
    desk.get_by_role("button", name="Continuer").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Mes cabinets")
    desk.get_by_role("link", name="Dr Nora Haddad").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Agenda — Dr Nora Haddad")

    # a phone call: someone without an account, booked by a click in a free cell of the grid
    in_two_days = _paris_day(2).isoformat()
    desk.goto(f"/desk/{practice_id}?view=day&date={in_two_days}")
    # 80 px an hour from 07:00: 120 px down is 08:30
    desk.locator(".day-col .open-hours").first.click(position={"x": 40, "y": 125})
    box = desk.get_by_role("region", name="Nouveau rendez-vous")
    expect(box.get_by_role("heading", name=re.compile("Pour qui"))).to_contain_text("08:30")
    box.get_by_label("Nom et prénom").fill("Marc Petit")
    box.get_by_label("Téléphone").fill("06 12 34 56 78")
    screenshot(desk, "desk-book-phone")
    box.get_by_role("button", name="Prendre ce rendez-vous").click()
    expect(desk.locator("#notice")).to_contain_text("Rendez-vous pris pour Marc Petit")
    visit = desk.get_by_role("button", name=re.compile("Marc Petit"))
    expect(visit).to_be_visible()

    # one of the practice's patients, found by name
    desk.get_by_role("button", name="Nouveau rendez-vous").click()
    box = desk.get_by_role("region", name="Nouveau rendez-vous")
    box.locator(".slot").nth(5).click()
    box.get_by_label("Rechercher par nom").fill("Inès")
    box.get_by_label("Inès Robert").check()
    box.get_by_role("button", name="Prendre ce rendez-vous").click()
    expect(desk.locator("#notice")).to_contain_text("Rendez-vous pris pour Inès Robert")
    wait_for_mail(server, patient.email, "Rendez-vous confirmé")

    # Marc calls back: his visit moves
    desk.goto(f"/desk/{practice_id}?view=week&date={in_two_days}")
    desk.get_by_role("button", name=re.compile("Marc Petit")).click()
    details = desk.locator("#agenda-details")
    details.get_by_role("button", name="Déplacer").click()
    details.locator(".reschedule .slot").nth(8).click()
    details.get_by_role("button", name="Confirmer le déplacement").click()
    expect(desk.locator("#notice")).to_contain_text("Marc Petit")
    screenshot(desk, "desk-grid")

    # one of Inès's visits is cancelled, with the practice's reason from the list
    desk.get_by_role("button", name=re.compile("Inès Robert")).first.click()
    details = desk.locator("#agenda-details")
    details.get_by_label("Raison donnée au patient").select_option("emergency")
    desk.once("dialog", lambda dialog: dialog.accept())
    details.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(desk.locator("#notice")).to_contain_text("Inès Robert")
    cancelled = wait_for_mail(server, patient.email, "Rendez-vous annulé")
    body = mail_text(cancelled, ("plain",))
    assert "Le cabinet précise : une urgence." in body

    # the next day: Marc came
    _shift_to_yesterday(server, "Marc Petit")
    yesterday = _paris_day(-1).isoformat()
    desk.goto(f"/desk/{practice_id}?view=day&date={yesterday}")
    desk.get_by_role("button", name=re.compile("Marc Petit")).click()
    desk.locator("#agenda-details").get_by_role("button", name="Venu").click()
    expect(desk.locator("#notice")).to_contain_text("Marc Petit : rendez-vous honoré.")
    expect(desk.get_by_role("button", name=re.compile("Marc Petit"))).to_contain_text("venu")
    screenshot(desk, "desk-completed")
    context.close()

    # Inès's access log names the practice's secretary
    sign_out(page)
    sign_in(page, patient.email, patient.password)
    page.get_by_role("link", name="Mes données").click()
    log = page.get_by_role("region", name="Qui a consulté mes données")
    expect(log).to_contain_text("Claire Vidal (secrétaire du cabinet)")
    screenshot(page, "access-log-secretary")
