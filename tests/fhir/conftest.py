"""FHIR test helpers: an Authlib OAuth client acting for a patient, and every answer read back
with the ``fhir.resources`` R4B models (the R4 structures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from fhir.resources.R4B import get_fhir_model_class

from tests.factories import Person
from tests.oauth.conftest import (  # noqa: F401 - fixtures shared with the OAuth tests
    _insecure_transport,
    admin,
    get_tokens,
    oauth_client,
    register_client,
)

FHIR = "/fhir/r4"
SCOPES = "practitioners:read slots:read appointments:read appointments:write"


def resource(response: httpx.Response, resource_type: str, status: int = 200) -> dict[str, Any]:
    """The body, checked: its status, the FHIR media type, and its R4 structure."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == resource_type, body
    get_fhir_model_class(resource_type).model_validate(body)
    for entry in body.get("entry", []):  # a Bundle's resources, each against its own type
        inner = entry["resource"]
        get_fhir_model_class(inner["resourceType"]).model_validate(inner)
    return body


def outcome(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An OperationOutcome carrying the JSON API's problem code for the same error."""
    body = resource(response, "OperationOutcome", status)
    codes = [c["code"] for i in body["issue"] for c in i.get("details", {}).get("coding", [])]
    assert code in codes, body
    return body


@pytest.fixture
async def platform(
    app: FastAPI,
    admin: Person,  # noqa: F811 - the OAuth tests' fixture, imported above
) -> AsyncIterator[AsyncOAuth2Client]:
    """A third-party platform's Authlib client, not yet holding a token."""
    registered = await register_client(admin, scopes=SCOPES.split())
    async with oauth_client(app, registered, scope=SCOPES) as client:
        yield client


async def acting_for(platform: AsyncOAuth2Client, patient: Person) -> AsyncOAuth2Client:
    """The platform, once ``patient`` authorized it: its requests carry the patient's token."""
    await get_tokens(platform, patient)
    return platform
