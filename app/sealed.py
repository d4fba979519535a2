"""Every column erdv encrypts (composition root: each domain names the columns it seals and the
associated data it seals them with). ``erdv reseal`` walks this list after a key rotation; a test
fails if a table holds a sealed value in a column missing here (``tests/core/test_key_rotation.py``).
"""

from __future__ import annotations

from app.booking.holds import waitlist_aad
from app.booking.models import appointment_table, waitlist_table
from app.booking.views import visit_reason_aad
from app.core.repository import table_of
from app.core.sealing import SealedColumn
from app.mfa.models import TotpCredential, totp_aad
from app.outbox.models import outbox_table, payload_aad
from app.webhooks.models import endpoint_table, secret_aad

_totp = table_of(TotpCredential).c

SEALED: list[SealedColumn] = [
    # charter C7: the visit reason, sealed until it is erased after the visit
    SealedColumn(appointment_table.c.visit_reason_ct, appointment_table.c.id, visit_reason_aad),
    SealedColumn(waitlist_table.c.visit_reason_ct, waitlist_table.c.id, waitlist_aad),
    # TOTP seeds: read back at every code, so encrypted, not hashed (SECURITY.md "MFA")
    SealedColumn(_totp.secret, _totp.account_id, totp_aad),
    SealedColumn(_totp.pending_secret, _totp.account_id, totp_aad),
    # a message's content until it is delivered (names, times, links)
    SealedColumn(outbox_table.c.payload, outbox_table.c.id, payload_aad),
    # a webhook endpoint's signing secret (Standard Webhooks)
    SealedColumn(endpoint_table.c.secret_ct, endpoint_table.c.id, secret_aad),
]
