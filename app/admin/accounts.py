"""Admin: suspend and reinstate accounts (docs/api.md "Admin")."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.accounts.dependencies import Administration
from app.accounts.models import AccountStatus
from app.accounts.schemas import (
    AccountAdminRead,
)
from app.admin.common import SESSION_CHANGE
from app.auth.authenticator import CurrentAdmin
from app.core.problems import problem_responses as _problems

router = APIRouter(tags=["admin"])


@router.post(
    "/api/v1/admin/accounts/{account_id}/suspend",
    summary="Suspend an account and end all its sessions",
    response_model=AccountAdminRead,
    responses=_problems(
        *SESSION_CHANGE, (403, "forbidden"), (404, "not_found"), (409, "cannot_suspend_self")
    ),
)
async def suspend_account(
    account_id: uuid.UUID, admin: CurrentAdmin, accounts: Administration
) -> AccountAdminRead:
    account = await accounts.set_status(admin, account_id, AccountStatus.SUSPENDED)
    return AccountAdminRead(id=account.id, role=account.role, status=AccountStatus.SUSPENDED.value)


@router.post(
    "/api/v1/admin/accounts/{account_id}/reinstate",
    summary="Reinstate a suspended account",
    response_model=AccountAdminRead,
    responses=_problems(
        *SESSION_CHANGE, (403, "forbidden"), (404, "not_found"), (409, "cannot_suspend_self")
    ),
)
async def reinstate_account(
    account_id: uuid.UUID, admin: CurrentAdmin, accounts: Administration
) -> AccountAdminRead:
    account = await accounts.set_status(admin, account_id, AccountStatus.ACTIVE)
    return AccountAdminRead(id=account.id, role=account.role, status=AccountStatus.ACTIVE.value)
