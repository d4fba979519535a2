"""Factories for tests: people who register, verify, sign in and enrol TOTP through HTTP.

Use the ``people`` fixture (``tests/conftest.py``) in any endpoint test::

    async def test_something(people: People) -> None:
        patient = await people.signed_in(role="patient")     # full session, TOTP enrolled
        response = await patient.post("/api/v1/...", json={...})   # X-CSRF-Token added for you
        stranger = await people.anonymous()                  # a client with no session

Each ``Person`` has their own ``httpx.AsyncClient`` (own cookie jar) over the same app, their
password, TOTP secret and recovery codes, and ``code()`` to act as their authenticator app.
Everything goes through the public API, exactly as a browser would.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI

from app.accounts.password_policy import rpps_with_check_digit
from app.core import clock
from app.core.settings import Settings
from app.mfa.service import STEP_SECONDS, current_step, totp_code

#: a request under a loaded CI machine can take seconds: keep well clear of a step boundary
_SAFE_MARGIN_SECONDS = 12

PASSWORD = "Velvet-Otter-Quarry-91"
#: RPPS numbers are unique across accounts: these never meet the demo's (1000000042, 10000001xx)
_numbers = itertools.count(500_000_000)


def new_client(
    app: FastAPI, *, base_url: str = "http://testserver", ip: str = "127.0.0.1"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def outbox(settings: Settings) -> list[EmailMessage]:
    """Every mail the app has written to the file outbox, oldest first."""
    folder = settings.outbox_dir
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def mail_text(
    message: EmailMessage, preferencelist: tuple[str, ...] = ("related", "html", "plain")
) -> str:
    """The text of the mail's body (``EmailMessage.get_body``, the same preference by default);
    a mail without such a body fails the test."""
    body = message.get_body(preferencelist=preferencelist)
    assert body is not None, f"no {'/'.join(preferencelist)} body in the mail to {message['To']}"
    text = body.get_content()
    assert isinstance(text, str), type(text)
    return text


def mail_token(settings: Settings, to: str, page: str = "") -> str:
    """The token in the latest mail to ``to`` whose link opens ``page`` (``verify-email``,
    ``reset-password``; any page if empty): found by the link, whatever the mail's language."""
    pattern = re.compile(rf"/{re.escape(page) if page else '[a-z-]+'}#token=([A-Za-z0-9_\-]+)")
    for message in reversed(outbox(settings)):
        if message["To"] != to:
            continue
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found = pattern.search(body.get_content())
        if found:
            return found.group(1)
    raise AssertionError(f"no mail to {to} with a link to {page or 'a page'}")


def valid_rpps() -> str:
    return rpps_with_check_digit(f"1{next(_numbers):09d}")


@dataclass
class Person:
    client: httpx.AsyncClient
    email: str
    password: str
    full_name: str
    role: str
    account_id: str = ""
    totp_secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)
    csrf_token: str = ""
    last_step: int = 0

    def code(self) -> str:
        """A code the server has not seen yet (like waiting for the next one in an app).

        The window is ±1 step, so only two or three further codes are available in one 30-second
        step: past that, a real-time test waits for the next step; a test with a frozen clock
        (``app.core.clock.frozen``) must advance it.
        """
        now_step = current_step()
        # The previous step is still accepted (±1), but not if the step boundary passes before
        # the server checks it: only use it while the current step has time left.
        # A frozen clock never crosses a boundary by itself.
        seconds_left = STEP_SECONDS - clock.now().timestamp() % STEP_SECONDS
        safe = clock.is_frozen() or seconds_left > _SAFE_MARGIN_SECONDS
        oldest = now_step - 1 if safe else now_step
        step = max(self.last_step + 1, oldest)
        if step > now_step + 1:
            if clock.is_frozen():
                raise RuntimeError("no unused TOTP step left: advance the frozen clock by 30 s")
            # like a person waiting for the next code in their app
            time.sleep(seconds_left + 0.5)
            return self.code()
        self.last_step = step
        return totp_code(self.totp_secret, step)

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf_token} if self.csrf_token else {}

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(
            url, headers=self.headers() | kwargs.pop("headers", {}), **kwargs
        )

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.put(
            url, headers=self.headers() | kwargs.pop("headers", {}), **kwargs
        )

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(
            url, headers=self.headers() | kwargs.pop("headers", {}), **kwargs
        )

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(
            url, headers=self.headers() | kwargs.pop("headers", {}), **kwargs
        )

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get("erdv_session")

    async def login(self) -> httpx.Response:
        """Password step only: leaves a partial session."""
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": self.email, "password": self.password}
        )
        if response.status_code == 200:
            self.csrf_token = response.json()["csrf_token"]
        return response

    async def verify_mfa(self, code: str | None = None) -> httpx.Response:
        response = await self.post("/api/v1/auth/mfa/verify", json={"code": code or self.code()})
        if response.status_code == 200:
            self.csrf_token = response.json()["csrf_token"]
        return response

    async def sign_in(self) -> None:
        """Password then TOTP: a full session."""
        response = await self.login()
        assert response.status_code == 200, response.text
        assert response.json()["next"] == "mfa"
        verified = await self.verify_mfa()
        assert verified.status_code == 200, verified.text

    async def enrol_totp(self) -> None:
        """From a partial ``mfa_setup`` session: set up and activate TOTP, keep the codes."""
        setup = await self.post("/api/v1/auth/mfa/totp/setup")
        assert setup.status_code == 200, setup.text
        self.totp_secret = setup.json()["secret"]
        self.last_step = 0
        activated = await self.post("/api/v1/auth/mfa/totp/activate", json={"code": self.code()})
        assert activated.status_code == 200, activated.text
        self.recovery_codes = activated.json()["recovery_codes"]
        self.csrf_token = activated.json()["csrf_token"]

    async def reauth(self) -> httpx.Response:
        response = await self.post(
            "/api/v1/auth/reauth", json={"password": self.password, "code": self.code()}
        )
        if response.status_code == 204:
            self.csrf_token = response.headers["X-CSRF-Token"]
        return response


class People:
    """Makes people over one app; closes their clients at the end of the test."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.clients: list[httpx.AsyncClient] = []

    def client(self, *, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        http = new_client(self.app, ip=ip)
        self.clients.append(http)
        return http

    async def anonymous(self, *, ip: str = "127.0.0.1") -> Person:
        return Person(self.client(ip=ip), "", "", "", "")

    async def registered(
        self,
        *,
        role: str = "patient",
        email: str | None = None,
        password: str = PASSWORD,
        full_name: str | None = None,
        verify: bool = True,
        ip: str = "127.0.0.1",
    ) -> Person:
        """Registered through ``/register`` and (by default) verified through the mailed link."""
        email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.test"
        full_name = full_name or f"Camille {role.title()}"
        person = Person(self.client(ip=ip), email, password, full_name, role)
        body: dict[str, Any] = {
            "email": email,
            "password": password,
            "full_name": full_name,
            "role": role,
        }
        if role == "practitioner":
            body["rpps"] = valid_rpps()
        response = await person.client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 202, response.text
        if verify:
            token = mail_token(self.settings, email, "verify-email")
            verified = await person.client.post("/api/v1/auth/verify-email", json={"token": token})
            assert verified.status_code == 200, verified.text
        return person

    async def signed_in(self, *, role: str = "patient", **kwargs: Any) -> Person:
        """Registered, verified, logged in and TOTP-enrolled: a full session. Admins are created
        with the service (as ``erdv admin create`` does), then enrol through HTTP like the others."""
        if role == "admin":
            person = await self.admin(**kwargs)
        else:
            person = await self.registered(role=role, **kwargs)
        response = await person.login()
        assert response.status_code == 200, response.text
        assert response.json()["next"] == "mfa_setup"
        await person.enrol_totp()
        session = await person.get("/api/v1/auth/session")
        assert session.status_code == 200, session.text
        person.account_id = session.json()["account"]["id"]
        return person

    async def admin(
        self, *, email: str | None = None, password: str = PASSWORD, ip: str = "127.0.0.1"
    ) -> Person:
        from app.accounts.administration import AccountAdministration
        from app.audit.service import AuditTrail, audit_key
        from app.core.db import transaction
        from app.throttle.service import DatabaseStore, Policies, Throttle

        email = email or f"admin-{uuid.uuid4().hex[:10]}@example.test"
        async with transaction(self.app.state.session_factory) as session:
            service = AccountAdministration(
                session,
                self.settings,
                self.app.state.passwords,
                Throttle(DatabaseStore(session), Policies.from_settings(self.settings)),
                AuditTrail(session, audit_key(self.settings.secret_key_bytes)),
                None,
            )
            account = await service.create_admin(
                email=email, password=password, full_name="Alex Admin"
            )
        return Person(self.client(ip=ip), email, password, "Alex Admin", "admin", str(account.id))

    async def aclose(self) -> None:
        for http in self.clients:
            await http.aclose()
