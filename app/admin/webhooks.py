"""Admin: a client's webhook endpoints (docs/api.md "Admin", docs/integrate.md "Webhooks").

Registering and removing need a recent re-authentication, as a client's secret does: the answer
carries a signing secret, and an endpoint decides where patients' appointment events go. Listing
shows no secret.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.admin.common import ADMIN_NO_TOKEN
from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentAdmin, RecentlyAuthenticatedAdmin
from app.core.deps import AppSettings
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.oauth.schemas import ClientIdPath
from app.webhooks import service
from app.webhooks.models import WebhookEndpoint, WebhookEvent
from app.webhooks.schemas import WebhookCreate, WebhookCreated, WebhookIdPath, WebhookRead

router = APIRouter(tags=["admin"])
_PATH = "/api/v1/admin/oauth/clients/{client_id}/webhooks"


def _read(row: WebhookEndpoint) -> WebhookRead:
    return WebhookRead(
        id=row.id,
        client_id=row.client_id,
        url=row.url,
        events=row.events,
        enabled=row.enabled,
        created_at=row.created_at,
    )


@router.post(
    _PATH,
    summary="Register a webhook endpoint for an OAuth client (the signing secret is shown once)",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(
        *ADMIN_NO_TOKEN,
        (403, "reauth_required"),
        (404, "not_found"),
        (422, "validation_error"),
        (422, "invalid_webhook_url"),
    ),
)
async def create_webhook(
    client_id: ClientIdPath,
    body: WebhookCreate,
    admin: RecentlyAuthenticatedAdmin,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
) -> WebhookCreated:
    created = await service.create_endpoint(
        db,
        audit,
        settings,
        actor=admin.actor,
        client_id=client_id,
        url=body.url,
        events=[WebhookEvent(e) for e in body.events],
    )
    return WebhookCreated(id=created.endpoint.id, secret=created.secret)


@router.get(
    _PATH,
    summary="List an OAuth client's webhook endpoints (never their secrets)",
    response_model=list[WebhookRead],
    responses=problem_responses(*ADMIN_NO_TOKEN, (404, "not_found"), (422, "validation_error")),
)
async def list_webhooks(
    client_id: ClientIdPath, admin: CurrentAdmin, db: DbSession
) -> list[WebhookRead]:
    return [_read(row) for row in await service.list_endpoints(db, client_id)]


@router.delete(
    _PATH + "/{webhook_id}",
    summary="Remove a webhook endpoint (what is queued for it is not sent)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *ADMIN_NO_TOKEN, (403, "reauth_required"), (404, "not_found"), (422, "validation_error")
    ),
)
async def delete_webhook(
    client_id: ClientIdPath,
    webhook_id: WebhookIdPath,
    admin: RecentlyAuthenticatedAdmin,
    db: DbSession,
    audit: Audit,
) -> Response:
    await service.delete_endpoint(
        db, audit, actor=admin.actor, client_id=client_id, endpoint_id=webhook_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
