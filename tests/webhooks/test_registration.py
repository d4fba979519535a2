"""Registering a client's webhook endpoints (docs/api.md "Admin"): admins only, recent
re-authentication to add or remove one, the secret shown once, an SSRF-safe URL, audited."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.repository import entry_table
from app.webhooks.models import endpoint_table
from tests.factories import People, Person
from tests.helpers.booking import patient
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import register_client
from tests.webhooks.conftest import ALL_EVENTS, Receiver, add_endpoint


def path(client_id: str) -> str:
    return f"/api/v1/admin/oauth/clients/{client_id}/webhooks"


async def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    registered = await register_client(admin)
    created = await add_endpoint(admin, registered.client_id, receiver.url, ALL_EVENTS)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "secret"}
    # Standard Webhooks' format: whsec_ and the base64 of 32 random bytes
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32

    listed = await admin.get(path(registered.client_id))
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert item["id"] == body["id"]
    assert item["url"] == receiver.url
    assert item["events"] == ALL_EVENTS
    assert item["enabled"] is True
    assert body["secret"] not in listed.text
    assert "secret" not in item

    async with engine.connect() as connection:
        [row] = (await connection.execute(sa.select(endpoint_table))).all()
        audit = (
            await connection.execute(
                sa.select(
                    entry_table.c.action, entry_table.c.object_id, entry_table.c.details
                ).where(entry_table.c.action.like("webhook.%"))
            )
        ).all()
    # kept encrypted, bound to its row: not in clear, not hashed
    secret_raw = body["secret"].removeprefix("whsec_")
    assert secret_raw not in row.secret_ct
    assert body["secret"] not in row.secret_ct
    assert [(a.action, a.object_id) for a in audit] == [("webhook.created", body["id"])]
    assert "channel=abc" not in str(audit[0].details)  # the URL's query is not audited

    deleted = await admin.delete(f"{path(registered.client_id)}/{body['id']}")
    assert deleted.status_code == 204, deleted.text
    assert (await admin.get(path(registered.client_id))).json() == []
    again = await admin.delete(f"{path(registered.client_id)}/{body['id']}")
    assert_problem(again, 404, "not_found")
    async with engine.connect() as connection:
        actions = (
            (
                await connection.execute(
                    sa.select(entry_table.c.action).where(entry_table.c.action.like("webhook.%"))
                )
            )
            .scalars()
            .all()
        )
    assert sorted(actions) == ["webhook.created", "webhook.deleted"]


async def test_adding_or_removing_needs_a_recent_reauthentication(
    people: People, admin: Person, receiver: Receiver
) -> None:
    registered = await register_client(admin)
    created = await add_endpoint(admin, registered.client_id, receiver.url)
    endpoint_id = created.json()["id"]
    stale = await people.signed_in(role="admin")  # signed in, not re-authenticated
    assert_problem(
        await add_endpoint(stale, registered.client_id, receiver.url), 403, "reauth_required"
    )
    assert_problem(
        await stale.delete(f"{path(registered.client_id)}/{endpoint_id}"), 403, "reauth_required"
    )
    listed = await stale.get(path(registered.client_id))  # a read needs no re-authentication
    assert listed.status_code == 200
    assert len(listed.json()) == 1


async def test_no_one_but_an_admin_may_call(
    people: People, admin: Person, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    registered = await register_client(admin)
    created = await add_endpoint(admin, registered.client_id, receiver.url)
    endpoint_id = created.json()["id"]
    someone = await patient(people)
    practitioner = await people.signed_in(role="practitioner")
    for caller in (someone, practitioner):
        assert_problem(await caller.get(path(registered.client_id)), 403, "forbidden")
        assert_problem(
            await add_endpoint(caller, registered.client_id, receiver.url), 403, "forbidden"
        )
        assert_problem(
            await caller.delete(f"{path(registered.client_id)}/{endpoint_id}"), 403, "forbidden"
        )
    assert_problem(await client.get(path(registered.client_id)), 401, "not_authenticated")
    anonymous = await client.post(
        path(registered.client_id), json={"url": receiver.url, "events": ALL_EVENTS}
    )
    assert anonymous.status_code in (401, 403), anonymous.text
    assert len((await admin.get(path(registered.client_id))).json()) == 1


async def test_an_unknown_client_or_endpoint_is_404(admin: Person, receiver: Receiver) -> None:
    assert_problem(await add_endpoint(admin, "erdv_client_nope", receiver.url), 404, "not_found")
    assert_problem(await admin.get(path("erdv_client_nope")), 404, "not_found")
    assert_problem(await admin.get(path("x" * 65)), 404, "not_found")  # names nothing
    registered = await register_client(admin)
    assert_problem(
        await admin.delete(f"{path(registered.client_id)}/{uuid.uuid4()}"), 404, "not_found"
    )
    assert_problem(await admin.delete(f"{path(registered.client_id)}/not-a-uuid"), 404, "not_found")
    # another client's endpoint is not this client's
    other = await register_client(admin)
    created = await add_endpoint(admin, other.client_id, receiver.url)
    assert_problem(
        await admin.delete(f"{path(registered.client_id)}/{created.json()['id']}"),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # plain http to a public address
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://user:pw@93.184.215.14/hook",
        "https://93.184.215.14/hook#frag",
        "ftp://93.184.215.14/hook",
        "not a url",
        "https://93.184.215.14:99999/hook",
        "https://name.invalid/hook",  # RFC 6761: never resolves
    ],
)
async def test_urls_that_are_not_https_to_a_public_address_are_refused(
    admin: Person, url: str, engine: AsyncEngine
) -> None:
    registered = await register_client(admin)
    response = await add_endpoint(admin, registered.client_id, url)
    assert_problem(response, 422, "invalid_webhook_url")
    async with engine.connect() as connection:
        assert (await connection.execute(sa.select(endpoint_table))).all() == []


async def test_unknown_events_and_malformed_bodies_are_422(
    admin: Person, receiver: Receiver
) -> None:
    registered = await register_client(admin)
    for body in (
        {"url": receiver.url, "events": ["appointment.read"]},
        {"url": receiver.url, "events": []},
        {"url": receiver.url},
        {"url": receiver.url, "events": ALL_EVENTS, "secret": "whsec_mine"},
        {"url": "", "events": ALL_EVENTS},
        {"url": receiver.url + "\u0000", "events": ALL_EVENTS},
        {"url": 5, "events": ALL_EVENTS},
    ):
        response = await admin.post(path(registered.client_id), json=body)
        assert_problem(response, 422, "validation_error")
    # a duplicate event is kept once
    created = await add_endpoint(
        admin, registered.client_id, receiver.url, ["appointment.booked", "appointment.booked"]
    )
    assert created.status_code == 201, created.text
    [item] = (await admin.get(path(registered.client_id))).json()
    assert item["events"] == ["appointment.booked"]
