"""The authorization server's storage: async, on the event loop, in the request's transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountStatus
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.db import new_id
from app.oauth.adapters import (
    CODE_LIFETIME,
    MAX_TOKEN_LENGTH,
    REFRESH_FAMILY_LIFETIME,
    AuthorizationCode,
    Client,
    OAuthKeys,
    Token,
)
from app.oauth.models import OAuthAuthorizationCode, OAuthToken
from app.oauth.repository import OAuthRepository

# --- storage: async, on the event loop, in the request's transaction ---


class Store:
    """What Authlib's hooks need from the database, as coroutines on the request's session."""

    def __init__(self, session: AsyncSession, audit: AuditTrail, keys: OAuthKeys) -> None:
        self.session = session
        self.repository = OAuthRepository(session)
        self.audit = audit
        self.keys = keys

    async def client(self, client_id: str | None) -> Client | None:
        """Disabled clients do not exist as far as the protocol is concerned."""
        if not client_id or len(client_id) > 64:
            return None
        row = await self.repository.client(client_id)
        return Client(row, self.keys) if row is not None and row.enabled else None

    async def active_account(self, account_id: uuid.UUID) -> uuid.UUID | None:
        from app.accounts.models import Account

        account = await self.session.get(Account, account_id)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            return None
        return account_id

    async def save_code(
        self,
        code: str,
        client_id: str,
        account_id: uuid.UUID,
        redirect_uri: str,
        scope: str,
        challenge: str,
        method: str,
    ) -> None:
        now = clock.now()
        await self.repository.add_code(
            OAuthAuthorizationCode(
                id=new_id(),
                code_hash=self.keys.token_hash(code),
                client_id=client_id,
                account_id=account_id,
                redirect_uri=redirect_uri,
                scope=scope,
                code_challenge=challenge,
                code_challenge_method=method,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )

    async def use_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        if len(code) > MAX_TOKEN_LENGTH:
            return None
        row = await self.repository.code_by_hash(self.keys.token_hash(code))
        if row is None or row.client_id != client_id:
            return None
        now = clock.now()
        if row.used_at is not None or not await self.repository.claim_code(row.id, now):
            revoked = await self.repository.revoke_from_code(row.id, now)
            await self.audit.record(
                AuditAction.OAUTH_CODE_REPLAY_DETECTED,
                actor=Actor.client(client_id, on_behalf_of=row.account_id),
                outcome=AuditOutcome.DENIED,
                subject_id=row.account_id,
                object_type="oauth_code",
                object_id=row.id,
                details={"revoked_tokens": revoked},
            )
            return None
        if row.expires_at <= now:
            return None
        return AuthorizationCode(row)

    async def find_refresh_token(self, value: str) -> Token | None:
        if len(value) > MAX_TOKEN_LENGTH:
            return None
        row = await self.repository.token_by_refresh_hash(self.keys.token_hash(value))
        if row is None:
            return None
        if row.rotated_at is not None:
            await self.refresh_reused(row)
            return None
        now = clock.now()
        if row.revoked_at is not None or (row.refresh_expires_at or now) <= now:
            return None
        return Token(row, "refresh_token")

    async def refresh_reused(self, row: OAuthToken) -> None:
        """A spent refresh token came back: someone holds a copy. Revoke the whole family."""
        revoked = await self.repository.revoke_family(row.family_id, clock.now())
        await self.audit.record(
            AuditAction.OAUTH_REFRESH_REUSE_DETECTED,
            actor=Actor.client(row.client_id, on_behalf_of=row.account_id),
            outcome=AuditOutcome.DENIED,
            subject_id=row.account_id,
            object_type="oauth_token_family",
            object_id=row.family_id,
            details={"revoked_tokens": revoked},
        )

    async def spend_refresh_token(self, row: OAuthToken) -> bool:
        if await self.repository.rotate(row.id, clock.now()):
            return True
        await self.refresh_reused(row)
        return False

    async def find_any_token(self, value: str, hint: str | None) -> Token | None:
        if len(value) > MAX_TOKEN_LENGTH:
            return None
        digest = self.keys.token_hash(value)
        kinds = ["refresh_token", "access_token"]
        if hint == "access_token":
            kinds.reverse()
        for kind in kinds:
            if kind == "access_token":
                row = await self.repository.token_by_access_hash(digest)
            else:
                row = await self.repository.token_by_refresh_hash(digest)
            if row is not None:
                return Token(row, kind)
        return None

    async def revoke(self, token: Token) -> None:
        """RFC 7009 §2.1: revoking a refresh token revokes the grant (its family); revoking an
        access token revokes that token (and the refresh token issued with it)."""
        row, now = token.row, clock.now()
        if token.kind == "refresh_token":
            count = await self.repository.revoke_family(row.family_id, now)
        else:
            count = await self.repository.revoke_token(row.id, now)
        await self.audit.record(
            AuditAction.OAUTH_TOKEN_REVOKED,
            actor=Actor.client(row.client_id, on_behalf_of=row.account_id),
            subject_id=row.account_id,
            object_type="oauth_token",
            object_id=row.id,
            details={"kind": token.kind, "revoked_tokens": count},
        )

    async def save_token(
        self,
        token: dict[str, Any],
        client_id: str,
        grant_type: str,
        account_id: uuid.UUID | None,
        code: AuthorizationCode | None,
        parent: Token | None,
    ) -> None:
        now = clock.now()
        family_id = parent.row.family_id if parent is not None else new_id()
        family_started_at = parent.row.family_started_at if parent is not None else now
        refresh = token.get("refresh_token")
        row = OAuthToken(
            id=new_id(),
            client_id=client_id,
            account_id=account_id,
            access_hash=self.keys.token_hash(token["access_token"]),
            refresh_hash=self.keys.token_hash(refresh) if refresh else None,
            scope=token.get("scope", ""),
            grant_type=grant_type,
            family_id=family_id,
            family_started_at=family_started_at,
            code_id=code.row.id if code is not None else None,
            issued_at=now,
            access_expires_at=now + timedelta(seconds=int(token["expires_in"])),
            # absolute lifetime: rotation never extends the family (docs/security.md "OAuth 2
            # authorization server")
            refresh_expires_at=family_started_at + REFRESH_FAMILY_LIFETIME if refresh else None,
        )
        await self.repository.add_token(row)
        await self.audit.record(
            AuditAction.OAUTH_TOKEN_REFRESHED if parent else AuditAction.OAUTH_TOKEN_ISSUED,
            actor=Actor.client(client_id, on_behalf_of=account_id),
            subject_id=account_id,
            object_type="oauth_token",
            object_id=row.id,
            details={"grant_type": grant_type, "scope": row.scope},
        )
