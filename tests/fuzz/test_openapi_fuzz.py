"""Fuzzing the OpenAPI document with schemathesis finds no 500 (SECURITY.md, Reliability).

A real server process (SQLite, migrated, demo data) is fuzzed over HTTP, operation by operation,
anonymously and as the demo patient: every answer must be below 500 and, when it is an error, a
problem document. The examples per operation are bounded so the run stays short in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import free_port, stop

DEMO_PASSWORD = "Demo-Harbor-Lantern-2027"
DEMO_PATIENT = ("patient@demo.erdv.localhost", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
EXAMPLES = 15
#: Routes whose every call changes who is calling (logout) or needs a mailed token: fuzzed
#: anonymously only, so the patient's session survives the run.
SESSION_ENDING = {
    "/api/v1/auth/logout",
    "/api/v1/auth/password/change",
    "/api/v1/me/sessions/{session_id}",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "ERDV_ENV": "development",
        "ERDV_DATA_DIR": str(data),
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{Path(data) / 'erdv.db'}",
        "ERDV_JOBS_ENABLED": "false",
        "ERDV_THROTTLE_IP_FREE_FAILURES": "100000",
        "ERDV_THROTTLE_ACCOUNT_FREE_FAILURES": "100000",
    }
    for command in (["migrate"], ["demo"]):
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "app", *command], env=env, check=True, capture_output=True
        )
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
        yield base
    finally:
        stop(process)


def _patient_headers(base: str) -> dict[str, str]:
    email, secret = DEMO_PATIENT
    with httpx.Client(base_url=base) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        verified = client.post(
            "/api/v1/auth/mfa/verify",
            json={"code": pyotp.TOTP(secret).now()},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert verified.status_code == 200, verified.text
        cookie = client.cookies["erdv_session"]
        return {"Cookie": f"erdv_session={cookie}", "X-CSRF-Token": verified.json()["csrf_token"]}


def _check(response: httpx.Response | object, label: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{label}: {status} {response.text[:300]}"  # type: ignore[attr-defined]
    if status >= 400 and status != 405:
        raw = response.headers.get("content-type", "")  # type: ignore[attr-defined]
        content_type = raw[0] if isinstance(raw, list) and raw else str(raw or "")
        assert content_type.startswith("application/problem+json") or label.startswith(
            ("GET /oauth", "POST /oauth", "GET /.well-known")
        ), f"{label}: {status} answered {content_type}"


def _fuzz(
    operation: Any, server: str, patient: dict[str, str], seen: Counter[tuple[bool, int]]
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    as_patient = operation.path not in SESSION_ENDING

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), authenticated=st.booleans())
    def run(case: schemathesis.Case, authenticated: bool) -> None:
        headers = dict(patient) if authenticated and as_patient else {}
        response = case.call(base_url=server, headers=headers, timeout=30)
        seen[(bool(headers), response.status_code // 100)] += 1
        _check(response, label)

    run()


@pytest.mark.slow
def test_no_operation_answers_500(server: str) -> None:
    schema = schemathesis.openapi.from_url(server + "/openapi.json")
    patient = _patient_headers(server)
    fuzzed = 0
    seen: Counter[tuple[bool, int]] = Counter()
    for result in schema.get_all_operations():
        _fuzz(result.ok(), server, patient, seen)
        fuzzed += 1
    assert fuzzed > 40
    # the run reached past authentication: the patient's session got real answers
    assert seen[(True, 2)] > 20, seen
    assert sum(seen.values()) > 300, seen
