"""Admin: approve, list, enable and disable OAuth clients (docs/api.md "OAuth 2")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.admin.common import ADMIN_NO_TOKEN
from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentAdmin, RecentlyAuthenticatedAdmin
from app.core.deps import AppSettings
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.oauth import service
from app.oauth.schemas import (
    ClientCreate,
    ClientCreated,
    ClientIdPath,
    ClientRead,
)


def _client_read(row: Any) -> ClientRead:
    return ClientRead(
        client_id=row.client_id,
        name=row.name,
        redirect_uris=row.redirect_uris,
        grant_types=row.grant_types,
        scopes=row.scopes,
        enabled=row.enabled,
        created_at=row.created_at,
    )


router = APIRouter(tags=["admin"])


@router.post(
    "/api/v1/admin/oauth/clients",
    summary="Register an OAuth client (disabled until enabled; the secret is shown once)",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
    responses=problem_responses(
        *ADMIN_NO_TOKEN, (403, "reauth_required"), (422, "validation_error")
    ),
)
async def create_client(
    body: ClientCreate,
    admin: RecentlyAuthenticatedAdmin,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
) -> ClientCreated:
    created = await service.create_client(
        db,
        audit,
        settings,
        actor=admin.actor,
        name=body.name,
        redirect_uris=body.redirect_uris,
        grant_types=list(body.grant_types),
        scopes=list(body.scopes),
    )
    return ClientCreated(
        client_id=created.client.client_id,
        client_secret=created.client_secret,
        enabled=created.client.enabled,
    )


@router.get(
    "/api/v1/admin/oauth/clients",
    summary="List OAuth clients (never their secrets)",
    response_model=list[ClientRead],
    responses=problem_responses(*ADMIN_NO_TOKEN),
)
async def list_clients(admin: CurrentAdmin, db: DbSession) -> list[ClientRead]:
    return [_client_read(row) for row in await service.list_clients(db)]


@router.post(
    "/api/v1/admin/oauth/clients/{client_id}/enable",
    summary="Enable an OAuth client",
    response_model=ClientRead,
    responses=problem_responses(*ADMIN_NO_TOKEN, (403, "reauth_required"), (404, "not_found")),
)
async def enable_client(
    client_id: ClientIdPath, admin: RecentlyAuthenticatedAdmin, db: DbSession, audit: Audit
) -> ClientRead:
    row = await service.set_client_enabled(
        db, audit, actor=admin.actor, client_id=client_id, enabled=True
    )
    return _client_read(row)


@router.post(
    "/api/v1/admin/oauth/clients/{client_id}/disable",
    summary="Disable an OAuth client and revoke all its tokens (no re-auth: an incident is urgent)",
    response_model=ClientRead,
    responses=problem_responses(*ADMIN_NO_TOKEN, (404, "not_found")),
)
async def disable_client(
    client_id: ClientIdPath, admin: CurrentAdmin, db: DbSession, audit: Audit
) -> ClientRead:
    row = await service.set_client_enabled(
        db, audit, actor=admin.actor, client_id=client_id, enabled=False
    )
    return _client_read(row)
