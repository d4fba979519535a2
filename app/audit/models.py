"""The audit trail's tables and its closed vocabulary.

``audit_entry`` is append-only and hash-chained: entry *n* stores ``hash = SHA-256(prev_hash ||
canonical JSON of the entry)`` and a keyed ``mac = HMAC(audit key, hash)``. The plain chain detects
a changed, removed, inserted or reordered row; the MAC stops someone with database access (but not
the application's secret) from recomputing the chain after editing it (docs/security.md "Audit
trail"; charter C9). ``seq`` is gapless because the application, not a sequence, assigns it under a
writers' lock.

``audit_checkpoint`` records where a retention purge cut the chain (the last removed entry's ``seq``
and ``hash``), MAC'd with the same key, so that the remaining chain stays verifiable.

``audit_head`` pins the newest entry (``seq``, ``hash``, MAC'd) in one row rewritten in the
transaction of every append: the chain alone cannot tell that its newest entries were deleted (what
remains is a shorter valid chain), the head record can. Replaying an older head record is caught by
an anchor kept outside the database (``erdv audit anchor``; docs/security.md). On PostgreSQL,
triggers refuse UPDATE and DELETE on the trail except the retention purge (migration ``b3e1f0c7a9d2``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class AuditAction(StrEnum):
    """Everything erdv records. Closed: a new kind of event is added here, reviewed, and documented."""

    # accounts and authentication
    ACCOUNT_REGISTERED = "account.registered"
    ACCOUNT_EMAIL_VERIFIED = "account.email_verified"
    ACCOUNT_ADMIN_CREATED = "account.admin_created"
    ACCOUNT_SUSPENDED = "account.suspended"
    ACCOUNT_REINSTATED = "account.reinstated"
    ACCOUNT_PROFILE_UPDATED = "account.profile_updated"
    ACCOUNT_EXPORTED = "account.exported"
    ACCOUNT_DELETED = "account.deleted"
    ACCOUNT_EMAIL_CHANGE_REQUESTED = "account.email_change_requested"
    ACCOUNT_EMAIL_CHANGED = "account.email_changed"
    RELATIVE_ADDED = "relative.added"
    RELATIVE_UPDATED = "relative.updated"
    RELATIVE_REMOVED = "relative.removed"
    AUTH_LOGIN_SUCCEEDED = "auth.login_succeeded"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_THROTTLED = "auth.throttled"
    AUTH_MFA_ENROLLED = "auth.mfa_enrolled"
    AUTH_MFA_SUCCEEDED = "auth.mfa_succeeded"
    AUTH_MFA_FAILED = "auth.mfa_failed"
    AUTH_MFA_RESET = "auth.mfa_reset"
    AUTH_RECOVERY_CODE_USED = "auth.recovery_code_used"
    #: passkeys (``app.accounts.passkeys``): added, renamed, removed, and a correctly signed
    #: assertion whose signature counter went back (a cloned authenticator, WebAuthn L2 §6.1.1)
    AUTH_PASSKEY_ADDED = "auth.passkey_added"
    AUTH_PASSKEY_RENAMED = "auth.passkey_renamed"
    AUTH_PASSKEY_REMOVED = "auth.passkey_removed"
    AUTH_PASSKEY_CLONE_DETECTED = "auth.passkey_clone_detected"
    AUTH_REAUTHENTICATED = "auth.reauthenticated"
    AUTH_REAUTH_FAILED = "auth.reauth_failed"
    AUTH_LOGGED_OUT = "auth.logged_out"
    AUTH_SESSION_REVOKED = "auth.session_revoked"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"
    AUTH_PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"
    AUTH_PASSWORD_RESET = "auth.password_reset"
    # access control
    ACCESS_DENIED = "access.denied"
    ACCESS_NOT_FOUND_BURST = "access.not_found_burst"
    # consent
    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONSENT_LOG_EXPORTED = "consent.log_exported"
    CONSENT_PROOFS_PURGED = "retention.consent_proofs_purged"
    # practice
    PRACTICE_PROFILE_UPDATED = "practice.profile_updated"
    PRACTICE_APPROVED = "practice.approved"
    PRACTICE_SUSPENDED = "practice.suspended"
    PRACTICE_VISIT_REASON_CREATED = "practice.visit_reason_created"
    PRACTICE_VISIT_REASON_DELETED = "practice.visit_reason_deleted"
    PRACTICE_AVAILABILITY_UPDATED = "practice.availability_updated"
    PRACTICE_ABSENCE_CREATED = "practice.absence_created"
    PRACTICE_ABSENCE_DELETED = "practice.absence_deleted"
    PRACTICE_SITE_CREATED = "practice.site_created"
    PRACTICE_SITE_UPDATED = "practice.site_updated"
    PRACTICE_SITE_DELETED = "practice.site_deleted"
    PRACTICE_OVERRIDE_SET = "practice.override_set"
    PRACTICE_OVERRIDE_REMOVED = "practice.override_removed"
    PRACTICE_EXPORTED = "practice.exported"
    PRACTICE_CLOSED = "practice.closed"
    # appointments (subject: the patient)
    APPOINTMENT_BOOKED = "appointment.booked"
    #: the waiting list (``app.booking.waitlist``): a request, a slot offered and held, the hold
    #: ended unclaimed, the offer claimed (booked), the request left or ended by a booking
    WAITLIST_JOINED = "waitlist.joined"
    WAITLIST_OFFERED = "waitlist.offered"
    WAITLIST_OFFER_LAPSED = "waitlist.offer_lapsed"
    WAITLIST_CLAIMED = "waitlist.claimed"
    WAITLIST_LEFT = "waitlist.left"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_READ = "appointment.read"
    APPOINTMENTS_LISTED = "appointment.listed"
    APPOINTMENT_CALENDAR_EXPORTED = "appointment.calendar_exported"
    AGENDA_READ = "agenda.read"
    CALENDAR_FEED_CREATED = "calendar.feed_created"
    CALENDAR_FEED_REVOKED = "calendar.feed_revoked"
    CALENDAR_READ = "calendar.read"
    VISIT_REASONS_PURGED = "retention.visit_reasons_purged"
    APPOINTMENTS_ANONYMISED = "retention.appointments_anonymised"
    CLOSED_PRACTICES_PURGED = "retention.closed_practices_purged"
    # the practice team
    TEAM_INVITED = "team.invited"
    TEAM_JOINED = "team.joined"
    TEAM_REMOVED = "team.removed"
    APPOINTMENT_OUTCOME = "appointment.outcome_recorded"
    # OAuth
    OAUTH_CLIENT_CREATED = "oauth.client_created"
    OAUTH_CLIENT_ENABLED = "oauth.client_enabled"
    OAUTH_CLIENT_DISABLED = "oauth.client_disabled"
    OAUTH_AUTHORIZED = "oauth.authorized"
    OAUTH_DENIED = "oauth.denied"
    OAUTH_TOKEN_ISSUED = "oauth.token_issued"
    OAUTH_TOKEN_REFRESHED = "oauth.token_refreshed"
    OAUTH_TOKEN_REVOKED = "oauth.token_revoked"
    OAUTH_REFRESH_REUSE_DETECTED = "oauth.refresh_reuse_detected"
    OAUTH_CODE_REPLAY_DETECTED = "oauth.code_replay_detected"
    OAUTH_APP_WITHDRAWN = "oauth.app_withdrawn"
    #: an admin registered or removed a client's webhook endpoint (``app.webhooks``)
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    # the audit trail itself
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_PURGED = "audit.purged"
    OUTBOX_RETRIED = "outbox.retried"
    #: ``erdv reseal``: the encrypted columns sealed again with the current key (a rotation)
    KEYS_RESEALED = "keys.resealed"


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class ActorType(StrEnum):
    ACCOUNT = "account"  # a person, through the web app
    CLIENT = "client"  # a third-party platform (OAuth), possibly on a patient's behalf
    SYSTEM = "system"  # erdv itself: purges, scheduled jobs, the CLI
    ANONYMOUS = "anonymous"  # not (yet) authenticated: failed logins, registrations


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_subject_seq", "subject_id", "seq"),
        sa.Index("ix_audit_entry_at", "at"),
    )

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    id: uuid.UUID = Field(sa_type=sa.Uuid, unique=True)
    at: datetime = Field(sa_type=UTCDateTime)
    action: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    actor_type: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64)
    actor_role: str | None = Field(default=None, max_length=32)
    client_id: str | None = Field(default=None, max_length=64)
    subject_id: str | None = Field(default=None, max_length=64)
    object_type: str | None = Field(default=None, max_length=64)
    object_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    #: canonical JSON of small, non-sensitive facts (a reason code, a count); never health data
    details: str = Field(default="{}", sa_type=sa.Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: the last purged entry: the next remaining one must have seq = cut_seq + 1, prev_hash = cut_hash
    cut_seq: int = Field(sa_type=sa.BigInteger, unique=True)
    cut_hash: str = Field(max_length=64)
    purged_count: int = Field(sa_type=sa.BigInteger)
    mac: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The newest entry, pinned (one row, ``id = 1``): ``mac = HMAC(audit key, head:seq:hash)``."""

    __tablename__ = "audit_head"

    id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_type=sa.BigInteger)
    hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
