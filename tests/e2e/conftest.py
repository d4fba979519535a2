"""Browser tests: Debian's ``chromium`` driven by Playwright against a real ``erdv serve`` process.

- One server per test session on 127.0.0.1 (a free port), with its own SQLite database (``erdv
  migrate``, then ``erdv demo``) and its own ``ERDV_DATA_DIR``, so a test reads the mail outbox from
  disk. SQLite only: these tests never use the ``backend`` fixture.
- Without ``/usr/bin/chromium`` (or Playwright) the tests are skipped with the reason; with
  ``ERDV_REQUIRE_BROWSER=1`` (CI) that is a failure instead.
- Every page records its requests and console messages: a request that leaves 127.0.0.1, a console
  error or a CSP violation fails the test that made it.
- The axe-core scan uses ``ERDV_AXE_JS`` (a path to ``axe.min.js``) or ``tests/e2e/.axe/axe.min.js``.
- ``new_person`` and ``listed_practitioner`` make accounts through the API, for tests that change a
  password, end sessions or withdraw consents: the demo accounts stay as ``erdv demo`` made them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pyotp
import pytest

from app.core.settings import Settings
from tests.factories import mail_token, outbox, valid_rpps
from tests.helpers.cli import free_port, stop

CHROMIUM = Path(os.environ.get("ERDV_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
DEMO_PASSWORD = "Demo-Harbor-Lantern-2027"
PERSON_PASSWORD = "Velvet-Orchard-Compass-41"  # noqa: S105 - a test account's
DEMO_SECRETS = {
    "patient@demo.erdv.localhost": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "practitioner@demo.erdv.localhost": "KRUGS4ZAON2GK3DPEBQW4ZDJNZTSA3LF",
    "admin@demo.erdv.localhost": "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U",
    "secretary@demo.erdv.localhost": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
}


def demo_desk(server: Server) -> str:
    """The demo secretary's agenda page: the demo practitioner's practice, found by name."""
    found = httpx.get(f"{server.url}/api/v1/practitioners", params={"q": "Alix Bernard"}).json()
    (practice,) = [p for p in found["items"] if p["display_name"] == "Dr Alix Bernard"]
    return f"/desk/{practice['id']}"


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("ERDV_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (ERDV_REQUIRE_BROWSER=1) but {missing}")
    pytest.skip(f"browser tests skipped: {missing}")


@dataclass
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]
    settings: Settings

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "app", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout


@contextlib.contextmanager
def served(host: str, prefix: str, **extra_env: str) -> Iterator[Server]:
    """``erdv serve`` on 127.0.0.1 and a free port, known to itself and to the browser by
    ``host`` (``127.0.0.1``, or ``localhost`` where WebAuthn wants a domain), with its own SQLite
    database (migrated, then ``erdv demo``) and data dir, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    url = f"http://{host}:{port}"
    env = {
        **os.environ,
        "ERDV_ENV": "development",
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'erdv.db'}",
        "ERDV_DATA_DIR": str(folder / "data"),
        "ERDV_PUBLIC_URL": url,
        "ERDV_MAIL_BACKEND": "file",
        "ERDV_JOBS_ENABLED": "false",
        "ERDV_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    env.pop("ERDV_REDIS_URL", None)
    settings = Settings(
        env="development",
        database_url=env["ERDV_DATABASE_URL"],
        data_dir=folder / "data",
        public_url=url,
    )
    srv = Server(url, folder / "data", env, settings)
    srv.cli("migrate")
    srv.cli("demo")
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                said = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"erdv serve did not start: {said}")
            time.sleep(0.2)
        yield srv
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server(browser_available: None) -> Iterator[Server]:
    # every test person signs up from 127.0.0.1: the per-address allowance (20 sign-ups before
    # delays) is meant for one client, not for the whole suite
    with served("127.0.0.1", "erdv-e2e-", ERDV_THROTTLE_IP_FREE_FAILURES="500") as srv:
        yield srv


@pytest.fixture
def browser(server: Server) -> Iterator[Any]:
    # per test: sync Playwright keeps an event loop running on this thread while it is open, which
    # would break every asyncio test that runs after it in the same session
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What one browser context did: requests and console messages."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def check(self) -> None:
        foreign = [u for u in self.requests if urlsplit(u).hostname not in {"127.0.0.1", None}]
        foreign = [u for u in foreign if not u.startswith(("data:", "blob:", "about:"))]
        assert not foreign, f"requests left 127.0.0.1: {foreign}"
        assert not self.console, f"console errors or CSP violations: {self.console}"


def new_context(browser: Any, server: Server, watch: Watch, **options: Any) -> Any:
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(
        base_url=server.url, locale="fr-FR", timezone_id="Europe/Paris", **options
    )

    def on_console(message: Any) -> None:
        text = message.text
        # Chromium logs every 4xx answer to fetch() as an error; the API answers 401 to an anonymous
        # GET /auth/session and 404 to an unknown id by design, and the UI shows those as messages.
        if re.match(r"Failed to load resource: the server responded with a status of 4\d\d", text):
            return
        if message.type in {"error", "warning"} and (
            message.type == "error" or "Content Security Policy" in text
        ):
            watch.console.append(f"{message.type}: {text}")

    def on_page(page: Any) -> None:
        page.on("request", lambda request: watch.requests.append(request.url))
        page.on("console", on_console)
        page.on("pageerror", lambda error: watch.console.append(f"pageerror: {error}"))

    context.on("page", on_page)
    return context


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Any, server: Server, watch: Watch) -> Iterator[Any]:
    context = new_context(browser, server, watch)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
    watch.check()


class Authenticator:
    """The test's authenticator app: a fresh TOTP code each time (a code is accepted once).

    The server accepts the previous, current and next 30-second step, each once and in increasing
    order, so up to three codes are available per step before the test has to wait for the next.
    """

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = -1

    def code(self) -> str:
        while True:
            now = time.time()
            step = int(now // 30)
            # the previous step only while it has at least 10 s left: the code still has to be
            # typed and sent before the server's clock leaves its window (a page fills and sends
            # it in a second or two; 15 s made every third code of a test wait for the next step)
            oldest = step - 1 if now % 30 < 20 else step
            candidate = max(self.last_step + 1, oldest)
            if candidate <= step + 1:
                self.last_step = candidate
                return str(self.totp.at(candidate * 30))
            time.sleep(0.5)


_authenticators: dict[str, Authenticator] = {}


def authenticator(email: str, secret: str | None = None) -> Authenticator:
    if email not in _authenticators:
        _authenticators[email] = Authenticator(secret or DEMO_SECRETS[email])
    return _authenticators[email]


def screenshot(page: Any, name: str) -> None:
    """Desktop and phone screenshots of the current page, for a reviewer."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 360, "height": 780})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    if size:
        page.set_viewport_size(size)


def sign_out(page: Any) -> None:
    """Sign out, and wait until the app shows it: a page opened before the server ended the
    session still finds it (the sign-in page then sends a signed-in person home)."""
    from playwright.sync_api import expect  # playwright may be missing: the tests then skip

    page.locator("#logout").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Continuer").click()
    page.locator("#mfa-code").fill(authenticator(email).code())
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()


def wait_for_mail_token(server: Server, to: str, page: str = "") -> str:
    """The token of the latest mail to ``to`` (linking to ``page``, if given): mail goes out after
    the response, so wait a little."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return mail_token(server.settings, to, page)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for_mail(server: Server, to: str, subject: str) -> EmailMessage:
    """The latest mail to ``to`` with this subject, once the outbox has written it."""
    deadline = time.monotonic() + 15
    while True:
        found = [m for m in outbox(server.settings) if m["To"] == to and m["Subject"] == subject]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            seen = [(str(m["To"]), str(m["Subject"])) for m in outbox(server.settings)][-6:]
            raise AssertionError(f"no mail {subject!r} to {to}; there are {seen}")
        time.sleep(0.2)


@dataclass
class Person:
    """An account made through the API (the sign-up screens have their own test), so that a test
    that changes a password, ends sessions or withdraws consents never touches the demo accounts
    other tests rely on."""

    email: str
    password: str
    full_name: str
    role: str
    recovery_codes: list[str]
    account_id: str = ""

    def code(self) -> str:
        return authenticator(self.email).code()


class Api:
    """A signed-in API client for one person (cookie session and CSRF header), for test setup."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.csrf = ""

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        response = self.http.request(method, path, json=json, headers=headers)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def grant(self, *purpose_ids: str, audience: str | None = None) -> None:
        """Grants the current version of the purposes named, or of every purpose of an audience
        decided on its own (third-party sharing is decided per application)."""
        for purpose in self.call("GET", "/api/v1/charter")["purposes"]:
            wanted = purpose["id"] in purpose_ids or (
                purpose["audience"] == audience and purpose["id"] != "third-party-sharing"
            )
            if wanted:
                self.call(
                    "POST",
                    "/api/v1/me/consents",
                    {
                        "purpose_id": purpose["id"],
                        "purpose_version": purpose["version"],
                        "decision": "grant",
                    },
                    expect=201,
                )

    def sign_in(self, person: Person) -> Api:
        step = self.call(
            "POST", "/api/v1/auth/login", {"email": person.email, "password": person.password}
        )
        self.csrf = step["csrf_token"]
        done = self.call("POST", "/api/v1/auth/mfa/verify", {"code": person.code()})
        self.csrf = done["csrf_token"]
        return self


_people = itertools.count(1)


def new_person(
    server: Server,
    role: str = "patient",
    full_name: str = "Sacha Lambert",
    password: str = PERSON_PASSWORD,
    api: Api | None = None,
) -> Person:
    """Registers, verifies the address from the outbox, enrols TOTP: a full account. With ``api``,
    that client stays signed in as the new person (one TOTP code fewer than signing in again)."""
    email = f"{role}.{next(_people)}.{uuid.uuid4().hex[:8]}@example.test"
    body: dict[str, str] = {
        "email": email,
        "password": password,
        "full_name": full_name,
        "role": role,
    }
    if role == "practitioner":
        body["rpps"] = valid_rpps()
    with contextlib.ExitStack() as stack:
        if api is None:
            api = stack.enter_context(Api(server))
            # no session of the setup left behind (a test counts the person's sessions)
            stack.callback(api.call, "POST", "/api/v1/auth/logout", None, 204)
        api.call("POST", "/api/v1/auth/register", body, expect=202)
        token = wait_for_mail_token(server, email)
        api.call("POST", "/api/v1/auth/verify-email", {"token": token})
        step = api.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
        api.csrf = step["csrf_token"]
        setup = api.call("POST", "/api/v1/auth/mfa/totp/setup")
        secret = setup["secret"]
        done = api.call(
            "POST", "/api/v1/auth/mfa/totp/activate", {"code": authenticator(email, secret).code()}
        )
        api.csrf = done["csrf_token"]
        me = api.call("GET", "/api/v1/auth/session")
    return Person(email, password, full_name, role, done["recovery_codes"], me["account"]["id"])


def listed_practitioner(
    server: Server, full_name: str, timezone: str = "Europe/Paris"
) -> tuple[Person, str, str]:
    """A practitioner with a complete profile, the listing purposes accepted, one visit reason,
    opening hours every day from 07:00 to 21:00 and an admin's approval: listed and bookable.
    Returns the person, the practitioner id and the visit reason id."""
    with Api(server) as api:
        person = new_person(server, "practitioner", full_name, api=api)
        practice = api.call(
            "PUT",
            "/api/v1/me/practice",
            {
                "profession": "medecin",
                "specialty": "medecine-generale",
                "city": "Marseille",
                "address": "1 quai du Port, 13002 Marseille",
                "fees": "30 €",
                "convention_sector": "1",
                "timezone": timezone,
            },
        )
        api.grant(audience="practitioner")
        reason = api.call(
            "POST",
            "/api/v1/me/visit-reasons",
            {"label": "Consultation", "duration_minutes": 30, "new_patients": True},
            expect=201,
        )
        weekly = [
            {"weekday": day, "start": "07:00", "end": "21:00", "visit_reason_ids": [reason["id"]]}
            for day in range(7)
        ]
        api.call("PUT", "/api/v1/me/availability", {"timezone": timezone, "weekly": weekly})
    server.cli("practitioners", "approve", practice["id"])
    return person, str(practice["id"]), str(reason["id"])


#: WCAG 1.4.4 and 1.4.10: a 1280 px wide window zoomed to 200 % lays out like a 640 CSS px one
ZOOM_200 = {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}

_REFLOW_CHECK = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`horizontal scrolling: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  }
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${
    (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40)}"`;
  const controls = document.querySelectorAll(
    "header a, header button, main a, main button, main input, main select, main textarea, footer a");
  for (const el of controls) {
    // a data table or the agenda's time grid may scroll inside its own box (WCAG 1.4.10 exempts
    // content that needs two dimensions to be understood)
    if (el.closest(".table-wrap, .timegrid-wrap")) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (hidden, closed <details>)
    if (box.left < -1 || box.right > width + 1) {
      problems.push(`${name(el)} sticks out: ${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
    }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.pointerEvents === "none" && el.tagName !== "INPUT") {
      problems.push(`${name(el)} cannot be used`);
    }
  }
  return problems;
}"""


def reflow_problems(page: Any) -> list[str]:
    """No horizontal scrolling, and every rendered control of the page inside the viewport."""
    return list(page.evaluate(_REFLOW_CHECK))


AXE = Path(os.environ.get("ERDV_AXE_JS", HERE / ".axe" / "axe.min.js"))


@pytest.fixture
def axe_path() -> Path:
    if not AXE.exists():
        if os.environ.get("ERDV_REQUIRE_BROWSER") == "1":
            pytest.fail(f"axe-core not found at {AXE} (npm pack axe-core)")
        pytest.skip(f"axe-core not found at {AXE}: run `npm pack axe-core` and extract axe.min.js")
    return AXE


def axe_violations(page: Any, axe: Path) -> list[str]:
    """axe-core's serious and critical violations of WCAG 2.2 A/AA and best practice rules.

    The page's context must bypass the CSP (``bypass_csp=True``): an injected script is not 'self'.
    """
    page.add_script_tag(path=str(axe))
    return list(
        page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}}))
             .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)"""
        )
    )


class CallbackServer:
    """A third-party platform's redirect endpoint: a real HTTP server on its own port (another
    origin than erdv's), recording the query of every request it receives."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.received: list[dict[str, str]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                from urllib.parse import parse_qs, urlsplit

                url = urlsplit(self.path)
                if url.path == "/cb":
                    received.append({k: v[0] for k, v in parse_qs(url.query).items()})
                body = (
                    b'<!doctype html><html lang="en"><title>Platform</title>'
                    b'<link rel="icon" href="data:,"><h1>Back on the platform</h1></html>'
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cb"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 15) -> dict[str, str]:
        """The ``count``-th request's query, once it arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the platform received {len(self.received)} requests")
            time.sleep(0.1)
        return self.received[count - 1]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def book_via_api(
    server: Server,
    person: Any,
    practitioner_id: str,
    reason_id: str,
    nth: int = 0,
    *,
    after: datetime | None = None,
) -> str:
    """Books the ``nth`` free slot at least two days ahead (clear of the cancellation deadline),
    or from ``after`` on."""
    with Api(server) as api:
        api.sign_in(person)
        api.grant("privacy-notice")
        start = after or datetime.now().astimezone() + timedelta(days=2)
        window = {
            "from": start.isoformat(),
            "to": (start + timedelta(days=5)).isoformat(),
            "visit_reason_id": reason_id,
        }
        slots = api.call(
            "GET", f"/api/v1/practitioners/{practitioner_id}/slots?{urlencode(window)}"
        )
        booked = api.call(
            "POST",
            "/api/v1/appointments",
            {
                "practitioner_id": practitioner_id,
                "visit_reason_id": reason_id,
                "start": slots[nth]["start"],
            },
            expect=201,
        )
    return str(booked["id"])
