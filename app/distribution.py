"""The Citus distribution plan: every table, sharded by practitioner, replicated, or kept on the
coordinator (docs/scaling.md "Citus distribution plan", issue 29).

A practice's directory entry, hours, reasons, sites, absences, appointments and their booking grid
live together on one shard, colocated with ``practice`` (whose ``id`` *is* the practitioner's): a
booking, a slot list and an agenda then touch one worker, and the booking grid's uniqueness
(``booking_cell``'s primary key) is enforced there. Small tables read with those (who the patient
is) are replicated to every worker (*reference* tables); the rest (sessions, audit trail, outbox,
throttles, consent records, OAuth) stays on the coordinator, where a request reaches it as today.

Citus asks of a distributed table that its primary key and every unique index include the
distribution column, and that joins between distributed tables be on that column; a foreign key
from a distributed table may only point at a colocated distributed table (on the distribution
column) or at a reference table. ``tests/scaleout/test_citus_ready.py`` checks the schema and the
booking path's statements against this plan, and fails on any breach (migration f7a9c1e3b5d7 put
the practitioner in the keys).
"""

from __future__ import annotations

from app.models import metadata

#: table -> its distribution column (the practitioner); all colocated with ``practice``
DISTRIBUTED: dict[str, str] = {
    "practice": "id",
    "practice_site": "practitioner_id",
    "visit_reason": "practitioner_id",
    "absence": "practitioner_id",
    "appointment": "practitioner_id",
    "booking_cell": "practitioner_id",
    "waitlist_entry": "practitioner_id",
    "waitlist_offer": "practitioner_id",
    "team_member": "practice_id",
    "calendar_feed": "practice_id",
}

#: replicated to every worker: read in the same statements as the distributed tables
REFERENCE: frozenset[str] = frozenset({"account", "relative"})

#: on the coordinator only: never in one statement with a distributed table
LOCAL: frozenset[str] = frozenset(
    {
        "account_token",
        "audit_checkpoint",
        "audit_entry",
        "audit_head",
        "auth_session",
        "consent_decision",
        "consent_purpose_version",
        "consent_state",
        "idempotency_key",
        "oauth_authorization_code",
        "oauth_client",
        "oauth_token",
        "outbox_message",
        "passkey",
        "readiness_probe",
        "recovery_code",
        "scheduled_job",
        "throttle_state",
        "totp_credential",
        "webauthn_challenge",
        "webhook_endpoint",
    }
)


def citus_statements() -> list[str]:
    """The statements that distribute a migrated erdv database on a Citus coordinator (after
    ``erdv migrate``, before traffic): reference tables first, then ``practice``, then the tables
    colocated with it."""
    out = [f"SELECT create_reference_table('{name}');" for name in sorted(REFERENCE)]
    out.append("SELECT create_distributed_table('practice', 'id');")
    out += [
        f"SELECT create_distributed_table('{name}', '{column}', colocate_with => 'practice');"
        for name, column in DISTRIBUTED.items()
        if name != "practice"
    ]
    return out


def unplanned() -> set[str]:
    """Tables of the schema the plan does not place (a new table must be placed)."""
    planned = set(DISTRIBUTED) | REFERENCE | LOCAL
    return set(metadata.tables) - planned
