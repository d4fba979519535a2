"""docs/integrate.md's OAuth and FHIR examples are code that works: the test takes them from the
page as a reader copies them, and runs them against the real consent page and API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI

from tests.factories import People, Person
from tests.fhir.conftest import SCOPES, resource
from tests.helpers.booking import patient, ready_practitioner
from tests.oauth.conftest import consent, oauth_client, register_client

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrate.md"
ISSUER = "http://testserver"


def example(defining: str) -> dict[str, Any]:
    """The page's Python block that defines ``defining``, executed as a module would be."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    (code,) = [b for b in blocks if f"def {defining}(" in b]
    namespace: dict[str, Any] = {"__name__": "integrate_example"}
    exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


async def test_the_pages_examples_sign_in_and_book_the_first_free_slot(
    app: FastAPI, people: People, admin: Person
) -> None:
    doctor, _ = await ready_practitioner(people)
    alice = await patient(people)
    oauth = example("start_sign_in")
    book_first_free_slot = example("book_first_free_slot")["book_first_free_slot"]
    registered = await register_client(admin, scopes=SCOPES.split())
    async with oauth_client(app, registered) as erdv:
        assert isinstance(erdv, AsyncOAuth2Client)
        url, state, verifier = oauth["start_sign_in"](erdv, ISSUER)
        callback = (await consent(alice, url)).headers["location"]
        token = await oauth["finish_sign_in"](erdv, ISSUER, callback, state, verifier)
        assert set(token["scope"].split()) == set(oauth["SCOPES"].split())
        made = await book_first_free_slot(erdv, doctor.account_id)
        mine = await erdv.get("/fhir/r4/Appointment")
    assert (made["resourceType"], made["status"]) == ("Appointment", "booked")
    assert [e["resource"]["id"] for e in resource(mine, "Bundle")["entry"]] == [made["id"]]


async def test_the_pages_sign_in_refuses_a_denial_and_an_answer_for_another_sign_in(
    app: FastAPI, people: People, admin: Person
) -> None:
    alice = await patient(people)
    oauth = example("start_sign_in")
    registered = await register_client(admin, scopes=SCOPES.split())
    async with oauth_client(app, registered) as erdv:
        url, state, verifier = oauth["start_sign_in"](erdv, ISSUER)
        denied = (await consent(alice, url, decision="deny")).headers["location"]
        with pytest.raises(PermissionError, match="access_denied"):
            await oauth["finish_sign_in"](erdv, ISSUER, denied, state, verifier)
        url, state, verifier = oauth["start_sign_in"](erdv, ISSUER)
        approved = (await consent(alice, url)).headers["location"]
        with pytest.raises(PermissionError, match="not for this sign-in"):
            await oauth["finish_sign_in"](erdv, ISSUER, approved, "another-state", verifier)
        assert erdv.token is None  # nothing was exchanged
