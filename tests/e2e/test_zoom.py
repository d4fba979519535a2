"""200 % zoom (WCAG 2.2 1.4.4 Resize text, 1.4.10 Reflow): a 1280 px window zoomed to 200 % is a
640 CSS px viewport at device scale 2. Every main page must fit without horizontal scrolling, keep
each control inside the viewport, and the booking path must still work with the mouse and keyboard."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import (
    ZOOM_200,
    Server,
    Watch,
    demo_desk,
    new_context,
    reflow_problems,
    screenshot,
    sign_in,
)

PUBLIC = ["/", "/login", "/register", "/forgot-password", "/charter", "/transparency", "/nope"]
SIGNED_IN = {
    "patient@demo.erdv.localhost": ["/account", "/account/privacy", "/account/security"],
    "practitioner@demo.erdv.localhost": [
        "/pro",
        "/pro/agenda",
        "/pro/agenda?view=day",
        "/pro/hours",
        "/pro/places",
        "/pro/absences",
        "/pro/reasons",
        "/pro/team",
    ],
    "secretary@demo.erdv.localhost": ["/desk", "{desk}", "{desk}?view=day"],
    "admin@demo.erdv.localhost": ["/admin", "/admin/clients"],
}


def _check(page: Any, path: str) -> list[str]:
    page.goto(path)
    page.locator("main h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    return [f"{path}: {problem}" for problem in reflow_problems(page)]


def test_main_pages_reflow_at_200_percent_zoom(browser: Any, server: Server, watch: Watch) -> None:
    problems: list[str] = []
    context = new_context(browser, server, watch, **ZOOM_200)
    page = context.new_page()
    assert page.evaluate("window.innerWidth") == 640
    assert page.evaluate("window.devicePixelRatio") == 2
    for path in PUBLIC:
        problems += _check(page, path)
    page.goto("/")
    page.locator(".cards a").first.click()
    page.locator(".slot").first.wait_for()
    problems += _check(page, page.url)
    context.close()
    for email, paths in SIGNED_IN.items():
        context = new_context(browser, server, watch, **ZOOM_200)
        page = context.new_page()
        sign_in(page, email)
        for path in (p.format(desk=demo_desk(server)) for p in paths):
            problems += _check(page, path)
        context.close()
    watch.check()
    assert not problems, "\n".join(problems)


def test_search_and_booking_prompt_work_at_200_percent_zoom(page: Any) -> None:
    page.set_viewport_size(ZOOM_200["viewport"])
    page.goto("/")
    # the navigation wraps instead of hiding: every item is on screen and reachable
    for name in ("Rechercher", "Se connecter", "Créer un compte"):
        expect(page.locator("#nav").get_by_role("link", name=name)).to_be_in_viewport()
    page.get_by_label("Ville").fill("Paris")
    page.get_by_label("Nom").fill("Bernard")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_role("link", name="Dr Alix Bernard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr Alix Bernard")
    next_week = page.get_by_role("button", name="Semaine suivante")
    next_week.scroll_into_view_if_needed()
    expect(next_week).to_be_in_viewport()
    slot = page.locator(".slot").first
    slot.focus()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("region", name="Confirmer le rendez-vous")
    expect(confirm).to_be_visible()
    expect(confirm).to_be_focused()
    expect(confirm.get_by_role("link", name="Se connecter")).to_be_visible()
    assert not reflow_problems(page)
    screenshot(page, "practitioner-zoom-200")
