"""The back office: every ``/api/v1/admin/*`` route, mounted once (docs/api.md "Admin").

Admin routes compose the other domains' services; the admin package owns no table. Each theme
has its module (practitioners, OAuth clients, accounts, exports of the audit trail and the consent
log, the outbox's dead letters); this router gathers them so ``create_app`` mounts the back office
in one line and a reader finds it in one place.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.admin import accounts, audit, clients, consent_log, outbox, practitioners, webhooks

router = APIRouter()
for _theme in (practitioners, clients, webhooks, accounts, audit, consent_log, outbox):
    router.include_router(_theme.router)
