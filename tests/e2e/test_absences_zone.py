"""Absences are typed and read in the practice's wall clock, whatever zone the browser is in: a
practitioner of a Paris practice travelling (or with a browser set to UTC) who enters 09:00-11:00
is away from 09:00 to 11:00 Paris time, as the opening hours page has it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, Watch, listed_practitioner, new_context, screenshot, sign_in

PARIS = ZoneInfo("Europe/Paris")


class _BrowserIn:
    """The browser, opening its contexts in another time zone than ``new_context``'s Paris, so that
    the context still has ``new_context``'s watch on requests and console errors."""

    def __init__(self, browser: Any, timezone_id: str) -> None:
        self.browser = browser
        self.timezone_id = timezone_id

    def new_context(self, **options: Any) -> Any:
        return self.browser.new_context(**{**options, "timezone_id": self.timezone_id})


@pytest.mark.parametrize(
    ("browser_zone", "slug"), [("UTC", "utc"), ("America/New_York", "new-york")]
)
def test_an_absence_is_in_the_practice_wall_clock(
    browser: Any, server: Server, watch: Watch, browser_zone: str, slug: str
) -> None:
    person, practitioner_id, reason_id = listed_practitioner(server, f"Dr Inès Fabre {slug}")
    day = (datetime.now(PARIS) + timedelta(days=4)).date()
    # the practice's 09:00 and 11:00 that day, with Paris's offset then (+01:00 or +02:00)
    start = datetime.combine(day, time(9, 0), tzinfo=PARIS)
    end = datetime.combine(day, time(11, 0), tzinfo=PARIS)

    context = new_context(_BrowserIn(browser, browser_zone), server, watch)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == browser_zone
        sign_in(page, person.email, person.password)
        page.get_by_role("link", name="Absences", exact=True).click()
        expect(page.locator("section[aria-labelledby=abs-list]")).to_contain_text(
            "Aucune absence prévue"
        )
        page.get_by_label("Début").fill(f"{day.isoformat()}T09:00")
        page.get_by_label("Fin").fill(f"{day.isoformat()}T11:00")
        page.get_by_role("button", name="Ajouter l'absence").click()
        expect(page.locator("#notice")).to_contain_text("Absence enregistrée")

        # the API has it from 09:00 to 11:00 Paris time, with that day's offset
        (absence,) = page.request.get("/api/v1/me/absences").json()
        stored = (datetime.fromisoformat(absence["start"]), datetime.fromisoformat(absence["end"]))
        assert stored == (start, end), absence
        assert [s.utcoffset() for s in stored] == [start.utcoffset(), end.utcoffset()], absence
        assert [s.strftime("%H:%M") for s in stored] == ["09:00", "11:00"], absence

        # and the page shows it so, in the practice's clock, saying so
        card = page.locator("section[aria-labelledby=abs-list] li.card")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("09:00")
        expect(card).to_contain_text("11:00")
        expect(card).to_contain_text("heure de Europe/Paris")
        # and the form says whose clock its times are
        expect(page.locator("section[aria-labelledby=abs-new]")).to_contain_text(
            "heure de Europe/Paris"
        )
        screenshot(page, f"pro-absences-{slug}")
    finally:
        context.close()
    watch.check()

    # patients find no slot from 09:00 to 11:00 that day, and find them again from 11:00
    window = {
        "from": datetime.combine(day, time(0, 0), tzinfo=PARIS).isoformat(),
        "to": datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=PARIS).isoformat(),
        "visit_reason_id": reason_id,
    }
    answer = httpx.get(
        f"{server.url}/api/v1/practitioners/{practitioner_id}/slots?{urlencode(window)}"
    )
    assert answer.status_code == 200, answer.text
    starts = [datetime.fromisoformat(s["start"]).astimezone(PARIS) for s in answer.json()]
    assert starts, "the practice has opening hours from 07:00 to 21:00 that day"
    inside = [s for s in starts if start <= s < end]
    assert not inside, f"slots inside the absence: {inside}"
    assert end in starts, f"no slot at 11:00: {starts}"
    assert start - timedelta(minutes=30) in starts, f"no slot at 08:30: {starts}"
