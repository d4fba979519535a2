"""The practice team (issue #25): invitations, secretaries who register or sign in to accept them,
access to their practices' agendas only, removal that ends it at once. Each test runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.core import clock
from app.team.service import INVITATION_DAYS
from tests.factories import PASSWORD, People, Person, outbox
from tests.helpers.booking import ready_practitioner
from tests.helpers.problems import assert_problem
from tests.helpers.team import invitation_token, invite, secretary_of


async def test_an_invitation_is_mailed_and_listed_once(people: People) -> None:
    doctor, _ = await ready_practitioner(people, name="Dr Agnès Morel")
    member = await invite(doctor, "Claire.Dupuis@Example.test")
    assert member["email"] == "claire.dupuis@example.test"
    assert (member["role"], member["status"]) == ("secretary", "invited")
    (mail,) = [m for m in outbox(people.settings) if m["To"] == "claire.dupuis@example.test"]
    assert str(mail["Subject"]) == "Dr Agnès Morel vous invite sur son agenda erdv"
    assert invitation_token(people, "claire.dupuis@example.test")
    assert_problem(
        await doctor.post("/api/v1/me/practice/team", json={"email": "claire.dupuis@example.test"}),
        409,
        "already_invited",
    )
    team = (await doctor.get("/api/v1/me/practice/team")).json()
    assert [(m["email"], m["status"]) for m in team] == [("claire.dupuis@example.test", "invited")]
    # bad input, and anyone but a practitioner
    for body in ({"email": "not-an-address"}, {"email": "a@b.test", "role": "doctor"}):
        assert_problem(
            await doctor.post("/api/v1/me/practice/team", json=body), 422, "validation_error"
        )
    patient = await people.signed_in(role="patient")
    assert_problem(
        await patient.post("/api/v1/me/practice/team", json={"email": "x@example.test"}),
        403,
        "forbidden",
    )


async def test_a_secretary_registers_only_with_a_live_invitation_for_their_address(
    people: People,
) -> None:
    doctor, _ = await ready_practitioner(people, name="Dr Agnès Morel")
    await invite(doctor, "claire@example.test")
    token = invitation_token(people, "claire@example.test")
    anonymous = await people.anonymous()

    def body(email: str, invitation: str | None) -> dict[str, object]:
        return {
            "email": email,
            "password": PASSWORD,
            "full_name": "Claire Dupuis",
            "role": "secretary",
            **({"invitation": invitation} if invitation is not None else {}),
        }

    missing = await anonymous.post("/api/v1/auth/register", json=body("claire@example.test", None))
    assert_problem(missing, 422, "validation_error")
    assert missing.json()["errors"][0]["type"] == "invitation_required"
    for email, invitation in (
        ("claire@example.test", "not-a-token"),
        ("someone.else@example.test", token),
    ):
        assert_problem(
            await anonymous.post("/api/v1/auth/register", json=body(email, invitation)),
            422,
            "invalid_invitation",
        )
    # a patient cannot bring an invitation
    patient_body = body("p@example.test", token) | {"role": "patient"}
    refused = await anonymous.post("/api/v1/auth/register", json=patient_body)
    assert refused.json()["errors"][0]["type"] == "invitation_not_allowed"

    registered = await anonymous.post(
        "/api/v1/auth/register", json=body("claire@example.test", token)
    )
    assert registered.status_code == 202, registered.text
    claire = Person(people.client(), "claire@example.test", PASSWORD, "Claire Dupuis", "secretary")
    step = await claire.login()
    assert step.json()["next"] == "mfa_setup"  # the invitation proved the address; MFA as everyone
    await claire.enrol_totp()
    practices = (await claire.get("/api/v1/me/practices")).json()
    assert practices == [{"id": doctor.account_id, "display_name": "Dr Agnès Morel"}]
    assert_problem(
        await claire.post(f"/api/v1/team/invitations/{token}/accept"), 409, "already_accepted"
    )
    team = (await doctor.get("/api/v1/me/practice/team")).json()
    assert [(m["status"], m["full_name"]) for m in team] == [("active", "Claire Dupuis")]
    # the token registers nobody else
    again = body("claire@example.test", token) | {"email": "claire2@example.test"}
    assert_problem(
        await anonymous.post("/api/v1/auth/register", json=again), 422, "invalid_invitation"
    )


async def test_an_existing_secretary_accepts_a_second_practice_and_sees_only_theirs(
    people: People,
) -> None:
    first, _ = await ready_practitioner(people, name="Dr Agnès Morel")
    second, _ = await ready_practitioner(people, name="Dr Bruno Lefort")
    other, _ = await ready_practitioner(people, name="Dr Chloé Martin")
    claire = await secretary_of(people, first)
    await invite(second, claire.email)
    token = invitation_token(people, claire.email)
    # someone else's invitation is nobody's business
    intruder = await secretary_of(people, other, full_name="Denis Intrus")
    assert_problem(
        await intruder.post(f"/api/v1/team/invitations/{token}/accept"), 404, "not_found"
    )
    accepted = await claire.post(f"/api/v1/team/invitations/{token}/accept")
    assert accepted.status_code == 200, accepted.text
    assert {p["display_name"] for p in accepted.json()} == {"Dr Agnès Morel", "Dr Bruno Lefort"}
    assert_problem(
        await claire.post(f"/api/v1/team/invitations/{token}/accept"), 409, "already_accepted"
    )

    assert (await claire.get(f"/api/v1/practices/{first.account_id}/agenda")).status_code == 200
    assert (await claire.get(f"/api/v1/practices/{second.account_id}/agenda")).status_code == 200
    assert_problem(
        await claire.get(f"/api/v1/practices/{other.account_id}/agenda"), 404, "not_found"
    )
    assert_problem(await claire.get(f"/api/v1/practices/{uuid.uuid4()}/agenda"), 404, "not_found")
    # a practitioner reads only their own practice through this route
    assert_problem(
        await first.get(f"/api/v1/practices/{second.account_id}/agenda"), 404, "not_found"
    )
    assert (await first.get(f"/api/v1/practices/{first.account_id}/agenda")).status_code == 200
    # a secretary is no patient, no practitioner
    assert_problem(await claire.get("/api/v1/me/appointments"), 403, "forbidden")
    assert_problem(await claire.get("/api/v1/me/agenda"), 403, "forbidden")
    assert_problem(
        await claire.post(
            "/api/v1/appointments",
            json={
                "practitioner_id": first.account_id,
                "visit_reason_id": str(uuid.uuid4()),
                "start": "2030-01-07T09:00:00+01:00",
            },
        ),
        403,
        "forbidden",
    )


async def test_removal_ends_access_at_once_sessions_included(people: People) -> None:
    doctor, _ = await ready_practitioner(people)
    other, _ = await ready_practitioner(people)
    claire = await secretary_of(people, doctor)
    (member,) = (await doctor.get("/api/v1/me/practice/team")).json()
    assert_problem(await other.delete(f"/api/v1/me/practice/team/{member['id']}"), 404, "not_found")
    assert (await claire.get(f"/api/v1/practices/{doctor.account_id}/agenda")).status_code == 200
    removed = await doctor.delete(f"/api/v1/me/practice/team/{member['id']}")
    assert removed.status_code == 204, removed.text
    assert_problem(await claire.get("/api/v1/me/practices"), 401, "not_authenticated")
    await claire.sign_in()
    assert (await claire.get("/api/v1/me/practices")).json() == []
    assert_problem(
        await claire.get(f"/api/v1/practices/{doctor.account_id}/agenda"), 404, "not_found"
    )
    assert (await doctor.get("/api/v1/me/practice/team")).json() == []
    # an invitation not yet accepted can be withdrawn; its link then registers nobody
    await invite(doctor, "late@example.test")
    token = invitation_token(people, "late@example.test")
    (pending,) = (await doctor.get("/api/v1/me/practice/team")).json()
    assert (await doctor.delete(f"/api/v1/me/practice/team/{pending['id']}")).status_code == 204
    anonymous = await people.anonymous()
    late = await anonymous.post(
        "/api/v1/auth/register",
        json={
            "email": "late@example.test",
            "password": PASSWORD,
            "full_name": "Lou Tard",
            "role": "secretary",
            "invitation": token,
        },
    )
    assert_problem(late, 422, "invalid_invitation")


def _subjects(people: People, to: str) -> list[str]:
    return [str(m["Subject"]) for m in outbox(people.settings) if m["To"] == to]


async def test_the_practitioner_is_told_who_joined_and_a_removed_member_is_told(
    people: People,
) -> None:
    """Whoever accepts an invitation reads the agenda from then on: the practitioner is told who
    (a mistyped or stolen address would otherwise open it unseen), both when the secretary
    registers with the invitation and when a signed-in one accepts; a removed member is told
    their access ended. No patient data in either."""
    first, _ = await ready_practitioner(people, name="Dr Agnès Morel")
    second, _ = await ready_practitioner(people, name="Dr Bruno Lefort")
    claire = await secretary_of(people, first, full_name="Claire Dupuis")
    joined = [s for s in _subjects(people, first.email) if "a rejoint" in s]
    assert joined == ["Claire Dupuis a rejoint votre agenda erdv"]
    (told,) = [
        m
        for m in outbox(people.settings)
        if m["To"] == first.email and str(m["Subject"]) == joined[0]
    ]
    body = told.get_body(preferencelist=("plain",))
    assert body is not None
    assert claire.email in body.get_content()
    assert "retirez-la de votre équipe" in body.get_content()

    await invite(second, claire.email)
    token = invitation_token(people, claire.email)
    assert (await claire.post(f"/api/v1/team/invitations/{token}/accept")).status_code == 200
    assert "Claire Dupuis a rejoint votre agenda erdv" in _subjects(people, second.email)

    (member,) = [m["id"] for m in (await first.get("/api/v1/me/practice/team")).json()]
    assert (await first.delete(f"/api/v1/me/practice/team/{member}")).status_code == 204
    assert "Vous ne travaillez plus dans l'agenda erdv de Dr Agnès Morel" in _subjects(
        people, claire.email
    )


async def test_an_invitation_lives_fourteen_days(people: People) -> None:
    """The team page says an invitation is valid 14 days: a minute before, it registers its
    invitee; a minute after, nobody."""
    assert INVITATION_DAYS == 14  # as the team page says (team.invite_intro)
    doctor, _ = await ready_practitioner(people, name="Dr Paul Garnier")
    anonymous = await people.anonymous()
    for email, late in (("early@example.test", False), ("late@example.test", True)):
        await invite(doctor, email)
        token = invitation_token(people, email)
        at = clock.now() + timedelta(days=INVITATION_DAYS) + timedelta(minutes=1 if late else -1)
        with clock.frozen(at):
            response = await anonymous.post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "password": PASSWORD,
                    "full_name": "Lucie Perrin",
                    "role": "secretary",
                    "invitation": token,
                },
            )
        if late:
            assert_problem(response, 422, "invalid_invitation")
        else:
            assert response.status_code == 202, response.text
