"""A patient's export of their own data (GDPR art. 15 and 20), as JSON and as a FHIR R4 Bundle.

Both forms are read as another system would: the JSON with ``json``, the Bundle validated with
``fhir.resources`` (R4B models). Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import Counter

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.patient import Patient

from tests.factories import People
from tests.helpers.booking import book, grant, patient, ready_practitioner, soon, withdraw
from tests.helpers.fhir import bundle_resources, reference, resources_of
from tests.helpers.problems import assert_problem

REASON = "Renouvellement-ordonnance-qx7"
EXPORT = "/api/v1/me/export"


async def test_the_export_needs_a_fresh_reauth_and_is_a_patients(people: People) -> None:
    alice = await patient(people)
    assert_problem(await alice.get(EXPORT), 403, "reauth_required")
    doctor, _ = await ready_practitioner(people)
    assert (await doctor.reauth()).status_code == 204
    assert_problem(await doctor.get(EXPORT), 403, "forbidden")
    assert (await alice.reauth()).status_code == 204
    exported = await alice.get(EXPORT)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/json")
    assert exported.headers["content-disposition"].startswith('attachment; filename="erdv-export-')


async def test_the_json_export_holds_all_of_mine_and_nothing_of_others(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(
        people, reasons=[(REASON, 15)], name="Dr Lina Moreau"
    )
    alice = await patient(people)
    bob = await patient(people)
    kept = (await book(alice, doctor.account_id, reason, soon(24 * 60))).json()["id"]
    dropped = (await book(alice, doctor.account_id, reason, soon(26 * 60))).json()["id"]
    theirs = (await book(bob, doctor.account_id, reason, soon(28 * 60))).json()["id"]
    assert (await alice.post(f"/api/v1/appointments/{dropped}/cancel")).status_code == 200
    await grant(alice, "reminders-email")
    # the practitioner reads her appointment: a line of her access log
    assert (await doctor.get(f"/api/v1/appointments/{kept}")).status_code == 200

    assert (await alice.reauth()).status_code == 204
    response = await alice.get(EXPORT)
    assert response.status_code == 200, response.text
    data = json.loads(response.content)

    assert list(data) == [
        "account", "relatives", "appointments", "waitlist", "consents", "access_log"
    ]  # fmt: skip
    assert data["account"]["email"] == alice.email
    assert data["account"]["role"] == "patient"
    assert data["relatives"] == []
    status = {a["id"]: a["status"] for a in data["appointments"]}
    assert status == {kept: "booked", dropped: "cancelled"}
    assert theirs not in response.text
    (mine,) = [a for a in data["appointments"] if a["id"] == kept]
    # her own visit reason, while it is kept, and where and with whom
    assert (mine["visit_reason"], mine["practitioner_name"]) == (REASON, "Dr Lina Moreau")
    granted = [c for c in data["consents"] if c["purpose_id"] == "reminders-email"]
    assert [c["decision"] for c in granted] == ["grant"]
    assert len(granted[0]["receipt_sha256"]) == 64
    read = [line for line in data["access_log"] if line["action"] == "appointment.read"]
    assert [(line["actor_name"], line["actor_role"]) for line in read] == [
        ("Dr Lina Moreau", "practitioner")
    ]
    # nothing of Bob's, not even his name
    assert bob.email not in response.text

    # the export itself is in her access log from now on
    log = (await alice.get("/api/v1/me/access-log")).json()
    assert log[0]["action"] == "account.exported"


async def test_the_fhir_export_is_a_valid_r4_bundle_of_the_same_data(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(REASON, 15)])
    alice = await patient(people)
    booked = (await book(alice, doctor.account_id, reason, soon(24 * 60))).json()["id"]
    assert (await doctor.get(f"/api/v1/appointments/{booked}")).status_code == 200
    # reminders granted, then withdrawn: no Consent of that purpose may read as in force
    await grant(alice, "reminders-email")
    await withdraw(alice, "reminders-email")
    assert (await alice.reauth()).status_code == 204
    plain = json.loads((await alice.get(EXPORT)).content)

    response = await alice.get(EXPORT, params={"format": "fhir"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "collection"
    resources = bundle_resources(bundle)
    kinds = Counter(r.get_resource_type() for r in resources)
    assert kinds["Patient"] == 1
    assert kinds["Appointment"] == len(plain["appointments"]) == 1
    assert kinds["Consent"] == len(plain["consents"]) > 0
    # the access log as it was when this second export began: the first export is in it
    assert kinds["AuditEvent"] == len(plain["access_log"]) + 1
    (person,) = resources_of(bundle, Patient)
    assert person.id == alice.account_id
    assert {t.value for t in person.telecom or []} >= {alice.email}
    (appointment,) = resources_of(bundle, Appointment)
    assert (appointment.id, appointment.status) == (booked, "booked")
    actors = {reference(p.actor) for p in appointment.participant}
    # the patient by the bundle's own entry (urn:uuid), the practitioner outside it
    assert actors == {f"urn:uuid:{alice.account_id}", f"Practitioner/{doctor.account_id}"}
    assert [c.text for c in appointment.reasonCode or []] == [REASON]
    consents = resources_of(bundle, Consent)
    assert all(reference(c.patient) == f"urn:uuid:{alice.account_id}" for c in consents)
    by_receipt = {c["receipt_sha256"]: c for c in plain["consents"]}
    status_of: dict[tuple[str, str], str | None] = {}
    for c in consents:
        assert c.identifier, c
        receipt = by_receipt[c.identifier[0].value]
        status_of[(receipt["purpose_id"], receipt["decision"])] = c.status
    assert status_of[("reminders-email", "grant")] == "inactive"
    assert status_of[("reminders-email", "withdraw")] == "inactive"
    assert status_of[("privacy-notice", "grant")] == "active"
    events = resources_of(bundle, AuditEvent)
    assert any(
        e.subtype and e.subtype[0].code == "appointment.read" and e.outcome == "0" for e in events
    )
    assert len({entry.fullUrl for entry in bundle.entry or []}) == len(resources)
