"""axe-core on the main pages (WCAG 2.2 AA rules): no serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import (
    Server,
    Watch,
    axe_violations,
    demo_desk,
    new_context,
    reflow_problems,
    screenshot,
    sign_in,
)

PAGES = [
    ("/", "home"),
    ("/login", "login"),
    ("/register", "register-form"),
    ("/forgot-password", "forgot-password"),
    ("/reset-password#token=x", "reset-password"),
    ("/charter", "charter"),
    ("/transparency", "transparency"),
    ("/no-such-page", "not-found"),
]
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


def _scan(context: Any, axe: Path, path: str) -> list[str]:
    page = context.new_page()
    page.goto(path)
    page.locator("main h1").first.wait_for()
    page.wait_for_load_state("networkidle")
    result = axe_violations(page, axe)
    # WCAG 1.4.10: 320 CSS px wide, no horizontal scrolling and every control on screen
    page.set_viewport_size({"width": 320, "height": 700})
    result += [f"at 320 px: {problem}" for problem in reflow_problems(page)]
    page.close()
    return [f"{path}: {v}" for v in result]


def test_main_pages_have_no_serious_violation(
    browser: Any, server: Server, watch: Watch, axe_path: Path
) -> None:
    # injected scripts are not 'self': the scan alone runs with the CSP bypassed
    context = new_context(browser, server, watch, bypass_csp=True)
    problems: list[str] = []
    practitioner = context.new_page()
    practitioner.goto("/")
    practitioner.locator(".cards a").first.click()
    practitioner.locator(".slot").first.wait_for()
    pages = [*(p for p, _ in PAGES), practitioner.url]
    practitioner.close()
    for path in pages:
        problems += _scan(context, axe_path, path)
    context.close()
    for email, paths in SIGNED_IN.items():
        context = new_context(browser, server, watch, bypass_csp=True)
        page = context.new_page()
        sign_in(page, email)
        for path in (p.format(desk=demo_desk(server)) for p in paths):
            problems += _scan(context, axe_path, path)
        screenshot(page, f"{email.split('@')[0]}-signed-in")
        context.close()
    watch.check()
    assert not problems, "\n".join(problems)
