"""The consent page lets its form's redirect reach the client, and an approval shows what it granted.

A browser enforces ``form-action`` on the redirects that follow a form's submission: with the site's
``form-action 'self'`` alone, the 303 to the client's redirect URI (another origin) is refused and
the client never receives its code (tests/e2e/test_oauth.py walks this in chromium).
"""

from __future__ import annotations

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.core.middleware import CONTENT_SECURITY_POLICY
from tests.factories import People
from tests.oauth.conftest import REDIRECT, Registered, authorize_url, consent, query


def _directives(policy: str) -> dict[str, str]:
    return {d.split()[0]: d.strip() for d in policy.split(";")}


async def test_consent_page_allows_exactly_the_redirect_origin(
    people: People, platform: AsyncOAuth2Client
) -> None:
    patient = await people.signed_in(role="patient")
    url, _state = await authorize_url(platform, generate_token(48))
    page = await patient.get(url)
    assert page.status_code == 200
    policy = _directives(page.headers["content-security-policy"])
    assert policy["form-action"] == "form-action 'self' https://platform.example"
    # everything else is the site's policy, unchanged
    site = _directives(CONTENT_SECURITY_POLICY)
    assert {k: v for k, v in policy.items() if k != "form-action"} == {
        k: v for k, v in site.items() if k != "form-action"
    }
    # other pages, the sign-in page of the same endpoint included, keep form-action 'self'
    anonymous = await people.anonymous()
    sign_in = await anonymous.get(url)
    assert sign_in.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert (await patient.get("/")).headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # an unregistered redirect URI is an error page, with the site's policy
    foreign = url.replace("platform.example", "evil.example")
    refused = await patient.get(foreign)
    assert refused.status_code == 400
    assert refused.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_an_approval_lists_what_it_granted_before_the_code_is_redeemed(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    """Until the client redeems its code the app has no token, yet the patient approved it: the
    list says what was approved (never an empty "Access:") and that no token was issued yet."""
    patient = await people.signed_in(role="patient")
    url, state = await authorize_url(platform, generate_token(48))
    answer = await consent(patient, url)
    assert answer.headers["location"].startswith(REDIRECT)
    assert query(answer.headers["location"])["state"] == state
    apps = (await patient.get("/api/v1/me/apps")).json()
    assert [(a["client_id"], a["scopes"], a["last_token_at"]) for a in apps] == [
        (registered.client_id, ["appointments:read", "slots:read"], None)
    ]
