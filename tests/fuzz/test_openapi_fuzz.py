"""Schemathesis with every check, as an outside tester runs it (SECURITY.md "Reliability"; issue 20).

A real server process (SQLite, migrated, demo data) is fuzzed over HTTP by the ``schemathesis`` CLI
with ``--checks all``, three times: anonymously, as the demo patient's browser session (cookie and
``X-CSRF-Token``), and with a Bearer token the patient granted to a registered platform through
the real consent page. Each run is bounded in time and must end with no failure at all: no server
error and no answer the OpenAPI document does not describe (status, content type, headers, body
schema, ``Allow``), and no answer that ignores the credentials it was sent.

``schemathesis.toml`` beside this file says what the checks expect and why.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest

from tests.helpers.cli import free_port, stop

DEMO_PASSWORD = "Demo-Harbor-Lantern-2027"
DEMO_PATIENT = ("patient@demo.erdv.localhost", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
CONFIG = Path(__file__).with_name("schemathesis.toml")
REDIRECT = "https://platform.example/callback"
#: per identity: the three runs take about a minute and a half in all (the whole CI run must stay
#: under 30 minutes, and the suite now takes about 24 on this machine kind)
SECONDS = 30
#: operations that would end the identity under test (its session, or the token's grant)
ENDS_THE_SESSION = (
    "/api/v1/auth/logout",
    "/api/v1/auth/password/change",
    "/api/v1/me/sessions/{session_id}",
    "/api/v1/me/apps/{client_id}",
)


@dataclass(frozen=True)
class Server:
    base: str
    env: dict[str, str]


def _erdv(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [sys.executable, "-m", "app", *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "ERDV_ENV": "development",
        "ERDV_DATA_DIR": str(data),
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{Path(data) / 'erdv.db'}",
        "ERDV_JOBS_ENABLED": "false",
        # the fuzzer is one address and three identities hammering one server: keep it from
        # spending its whole run on 429s (which stay documented, and are still answered)
        "ERDV_THROTTLE_IP_FREE_FAILURES": "100000",
        "ERDV_THROTTLE_ACCOUNT_FREE_FAILURES": "100000",
        "ERDV_DIRECTORY_READS_PER_MINUTE": "100000",
        "ERDV_OAUTH_CLIENT_REQUESTS_PER_MINUTE": "100000",
        "ERDV_BOOKING_RATE_PER_HOUR": "10000",
    }
    _erdv(env, "migrate")
    _erdv(env, "demo")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Server(base, env)
    finally:
        stop(process)


def _signed_in(base: str) -> httpx.Client:
    """The demo patient's browser, past both factors."""
    email, secret = DEMO_PATIENT
    client = httpx.Client(base_url=base)
    login = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    verified = client.post(
        "/api/v1/auth/mfa/verify",
        json={"code": pyotp.TOTP(secret).now()},
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    )
    assert verified.status_code == 200, verified.text
    client.headers["X-CSRF-Token"] = verified.json()["csrf_token"]
    return client


def _session_auth(browser: httpx.Client) -> str:
    """The session cookie and the CSRF header as the document's security schemes: schemathesis
    then knows them as credentials (it leaves them out to check they are required)."""
    return (
        f'[auth.openapi.session]\napi_key = "{browser.cookies["erdv_session"]}"\n\n'
        f'[auth.openapi.csrf]\napi_key = "{browser.headers["X-CSRF-Token"]}"\n'
    )


def _bearer(server: Server, browser: httpx.Client) -> str:
    """A platform registered on the command line; the patient consents on the real page."""
    scopes = ["appointments:read", "appointments:write", "slots:read", "practitioners:read"]
    created = json.loads(
        _erdv(
            server.env,
            "oauth",
            "create-client",
            "--name",
            "Fuzz Platform",
            "--redirect-uri",
            REDIRECT,
            "--grant",
            "authorization_code",
            *(arg for scope in scopes for arg in ("--scope", scope)),
        )
    )
    _erdv(server.env, "oauth", "enable", created["client_id"])
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": created["client_id"],
            "redirect_uri": REDIRECT,
            "scope": " ".join(scopes),
            "state": "fuzz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page = browser.get(f"/oauth/authorize?{query}")
    assert page.status_code == 200, page.text
    fields = [
        (unescape(name), unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text
        )
    ]
    decision = browser.post(
        "/oauth/authorize",
        content=urlencode([*fields, ("decision", "approve")]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert decision.status_code == 303, decision.text
    code = parse_qs(urlsplit(decision.headers["location"]).query)["code"][0]
    token = httpx.post(
        server.base + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(created["client_id"], created["client_secret"]),
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def _schemathesis(server: Server, label: str, auth: str, tmp: Path) -> str:
    report = tmp / f"{label}.txt"
    config = tmp / f"{label}.toml"
    config.write_text(CONFIG.read_text() + "\n" + auth)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{server.base}/openapi.json",
        "--checks",
        "all",
        "--max-time",
        str(SECONDS),
        "--workers",
        "1",
        "--seed",
        "20",
    ]
    if auth:
        command += [arg for path in ENDS_THE_SESSION for arg in ("--exclude-path", path)]
    done = subprocess.run(  # noqa: S603 - the fuzzer installed with the dev extras
        command,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=tmp,  # its cache (.schemathesis/) stays out of the work tree
        capture_output=True,
        text=True,
        timeout=SECONDS * 3,
        check=False,
    )
    report.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, f"{label}: schemathesis failed\n{done.stdout[-12000:]}"
    return done.stdout


@pytest.mark.slow
def test_schemathesis_finds_nothing_anonymously_as_a_patient_and_with_a_token(
    server: Server, tmp_path: Path
) -> None:
    browser = _signed_in(server.base)
    token = _bearer(server, browser)
    runs = {
        "anonymous": "",
        "bearer": f'[auth.openapi.bearer]\nbearer = "{token}"\n',
        "patient": _session_auth(browser),
    }
    for label, auth in runs.items():
        output = _schemathesis(server, label, auth, tmp_path)
        assert re.search(r"Test cases:\s+\d+ generated, \d+ passed", output), output[-3000:]
    # the runs got past authentication: the session and the token were still good at the end
    assert browser.get("/api/v1/auth/session").status_code == 200
    mine = httpx.get(
        server.base + "/api/v1/me/appointments", headers={"Authorization": f"Bearer {token}"}
    )
    assert mine.status_code == 200, mine.text
