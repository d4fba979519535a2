"""Password policy, reset (token AND second factor) and change (SECURITY.md "Passwords")."""

from __future__ import annotations

import pytest

from app.accounts.errors import WeakPassword
from app.accounts.password_policy import check_password, rpps_with_check_digit, valid_rpps
from app.core import clock
from tests.factories import People, mail_token, outbox
from tests.helpers.problems import assert_problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "at least 12"),
        ("password1234", "common"),
        ("aaaaaaaaaaaaaaaaaaaaaaaa", "guess"),
        ("my-erdv-account-2031!", "service name"),
        ("Dominique-Lefevre-1984", "own email or name"),
        ("dlefevre.rocks.2031", "own email or name"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    with pytest.raises(WeakPassword) as raised:
        check_password(password, email="dlefevre@example.test", full_name="Dominique Lefèvre")
    assert why in raised.value.detail.lower() or why in raised.value.detail


@pytest.mark.parametrize(
    "password",
    [
        "Velvet-Otter-Quarry-91",
        "ß∂ƒ©˙∆˚¬…æ«‹›ﬁﬂ‡°·‚—±",  # any Unicode
        "correct horse battery staple but longer " * 3,  # 120 characters accepted as typed
    ],
)
def test_good_passwords_pass(password: str) -> None:
    check_password(password, email="dlefevre@example.test", full_name="Dominique Lefèvre")


def test_rpps_luhn() -> None:
    number = rpps_with_check_digit("1000000001")
    assert valid_rpps(number)
    assert not valid_rpps(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert not valid_rpps("1234")


async def test_register_refuses_weak_passwords_and_bad_rpps(people: People) -> None:
    client = people.client()
    weak = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "a@example.test",
            "password": "password1234",
            "full_name": "A B",
            "role": "patient",
        },
    )
    assert_problem(weak, 422, "weak_password")
    bad_rpps = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "b@example.test",
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "B C",
            "role": "practitioner",
            "rpps": "10000000010" if not valid_rpps("10000000010") else "10000000011",
        },
    )
    assert_problem(bad_rpps, 422, "validation_error")
    admin = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "c@example.test",
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "C",
            "role": "admin",
        },
    )
    assert_problem(admin, 422, "validation_error")
    extra = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "d@example.test",
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "D",
            "role": "patient",
            "is_admin": True,
        },
    )
    assert_problem(extra, 422, "validation_error")


async def test_forgot_answers_alike_and_mails_only_existing_accounts(people: People) -> None:
    patient = await people.signed_in()
    client = people.client()
    known = await client.post("/api/v1/auth/password/forgot", json={"email": patient.email})
    unknown = await client.post(
        "/api/v1/auth/password/forgot", json={"email": "nobody@example.test"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [
        m["To"] for m in outbox(people.settings) if "/reset-password#" in str(m.get_body())
    ] == [patient.email]
    body = outbox(people.settings)[-1].get_body(preferencelist=("plain",))
    assert body is not None
    assert patient.password not in body.get_content()
    assert "http://testserver/reset-password#token=" in body.get_content()


async def test_reset_needs_the_second_factor_and_ends_every_session(people: People) -> None:
    with clock.frozen(clock.now()):
        patient = await people.signed_in()
        other = people.client()
        await other.post(
            "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
        )
        await people.client().post("/api/v1/auth/password/forgot", json={"email": patient.email})
        token = mail_token(people.settings, patient.email, "reset-password")
        new = "Granite-Lantern-Meadow-48"
        anonymous = people.client()

        no_factor = await anonymous.post(
            "/api/v1/auth/password/reset", json={"token": token, "new_password": new}
        )
        assert_problem(no_factor, 400, "invalid_code")
        wrong = await anonymous.post(
            "/api/v1/auth/password/reset",
            json={"token": token, "new_password": new, "code": "000000"},
        )
        assert_problem(wrong, 400, "invalid_code")
        weak = await anonymous.post(
            "/api/v1/auth/password/reset",
            json={"token": token, "new_password": "password1234", "code": patient.code()},
        )
        assert_problem(weak, 422, "weak_password")
        bad_token = await anonymous.post(
            "/api/v1/auth/password/reset",
            json={"token": "erdv_pr_nope", "new_password": new, "code": patient.code()},
        )
        assert_problem(bad_token, 400, "invalid_token")
        # the old password still works until the reset succeeds
        assert (await patient.get("/api/v1/auth/session")).status_code == 200

        ok = await anonymous.post(
            "/api/v1/auth/password/reset",
            json={"token": token, "new_password": new, "recovery_code": patient.recovery_codes[0]},
        )
        assert ok.status_code == 204, ok.text
        assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")
        assert_problem(await other.get("/api/v1/auth/session"), 401, "not_authenticated")
        reused = await anonymous.post(
            "/api/v1/auth/password/reset",
            json={"token": token, "new_password": new, "recovery_code": patient.recovery_codes[1]},
        )
        assert_problem(reused, 400, "invalid_token")
        assert_problem(await patient.login(), 401, "invalid_credentials")
        patient.password = new
        assert (await patient.login()).status_code == 200


async def test_change_password_ends_the_other_sessions(people: People) -> None:
    patient = await people.signed_in()
    other = people.client()
    await other.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    wrong = await patient.post(
        "/api/v1/auth/password/change",
        json={"current_password": "nope-nope-nope", "new_password": "Granite-Lantern-Meadow-48"},
    )
    assert_problem(wrong, 401, "invalid_credentials")
    weak = await patient.post(
        "/api/v1/auth/password/change",
        json={"current_password": patient.password, "new_password": "password1234"},
    )
    assert_problem(weak, 422, "weak_password")
    ok = await patient.post(
        "/api/v1/auth/password/change",
        json={"current_password": patient.password, "new_password": "Granite-Lantern-Meadow-48"},
    )
    assert ok.status_code == 204
    assert (await patient.get("/api/v1/auth/session")).status_code == 200
    assert_problem(
        await other.post("/api/v1/auth/mfa/verify", json={"code": "123456"}),
        401,
        "not_authenticated",
    )


async def test_a_reset_link_dies_with_the_suspension_of_its_account(people: People) -> None:
    """Suspension ends sessions and OAuth tokens; a reset link mailed before it must not let its
    holder choose a new password for the suspended account (nor after reinstatement: the admin
    decided on the account as it was). The answer is the one for any dead link."""
    admin = await people.signed_in(role="admin")
    patient = await people.signed_in()
    await people.client().post("/api/v1/auth/password/forgot", json={"email": patient.email})
    token = mail_token(people.settings, patient.email, "reset-password")
    url = f"/api/v1/admin/accounts/{patient.account_id}"
    assert (await admin.post(f"{url}/suspend")).status_code == 200

    body = {"token": token, "new_password": "Granite-Lantern-Meadow-48", "code": patient.code()}
    reset = await people.client().post("/api/v1/auth/password/reset", json=body)
    assert_problem(reset, 400, "invalid_token")
    assert (await admin.post(f"{url}/reinstate")).status_code == 200
    again = await people.client().post("/api/v1/auth/password/reset", json=body)
    assert_problem(again, 400, "invalid_token")
    assert (await patient.login()).status_code == 200  # the password is the one it was


async def test_a_128_character_password_works_whole_and_only_whole(people: People) -> None:
    """SECURITY.md: at least 128 characters accepted, never truncated."""
    password = ("Quiet harbor lantern, " * 6 + "Ω" * 20)[:128]
    assert len(password) == 128
    person = await people.signed_in(password=password)
    assert (await person.post("/api/v1/auth/logout")).status_code == 204
    person.password = password[:127]
    assert_problem(await person.login(), 401, "invalid_credentials")
    person.password = password
    assert (await person.login()).status_code == 200
