"""OAuth services: clients, the resource-server check of Bearer tokens, and the patient's apps.

Services never commit and never raise ``HTTPException`` (docs/architecture.md "One transaction per
request", "Errors rendered once").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountStatus, Role
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.auth.scopes import ALL_SCOPES, CLIENT_CREDENTIALS_SCOPES, GRANT_TYPES
from app.auth.tokens import TokenGrant
from app.charter.registry import default_charter
from app.consent import service as consent
from app.core import clock
from app.core.crypto import constant_time_equal, new_token
from app.core.db import new_id
from app.core.settings import Settings
from app.oauth.adapters import CLIENT_SECRET_PREFIX, MAX_TOKEN_LENGTH, oauth_keys
from app.oauth.errors import AppNotFound, ClientNotFound, InvalidAccessToken, InvalidClientSettings
from app.oauth.models import OAuthClient
from app.oauth.repository import OAuthRepository
from app.throttle.service import Throttle

THIRD_PARTY_SHARING = "third-party-sharing"
CLIENT_ID_PREFIX = "erdv_client_"


# --- clients ---


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    #: shown once, never stored in clear
    client_secret: str


def _invalid(field: str, message: str) -> InvalidClientSettings:
    return InvalidClientSettings(message, errors=[{"field": field, "message": message}])


def _check_redirect_uri(uri: str) -> None:
    """Absolute https URIs (RFC 9700 §2.6) without fragment (RFC 6749 §3.1.2) and without
    userinfo (``user:pw@``: a credential in a URL, and a way to make a URI look like another
    host's); plain http only on a loopback address (RFC 8252 §7.3: a native app's own port)."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as error:
        raise _invalid("redirect_uris", "Each redirect URI must be a valid URL.") from error
    loopback = hostname in {"127.0.0.1", "localhost", "::1"}
    if "#" in uri or not hostname or parts.scheme not in {"https", "http"}:
        raise _invalid("redirect_uris", "Each redirect URI must be an absolute URL, no fragment.")
    if "@" in parts.netloc:
        raise _invalid("redirect_uris", "Redirect URIs must not carry a user name or password.")
    if parts.scheme == "http" and not loopback:
        raise _invalid("redirect_uris", "Redirect URIs must use https (plain http: loopback only).")


async def create_client(
    session: AsyncSession,
    audit: AuditTrail,
    settings: Settings,
    *,
    actor: Actor,
    name: str,
    redirect_uris: list[str],
    grant_types: list[str],
    scopes: list[str],
) -> NewClient:
    grants = sorted(set(grant_types))
    wanted = sorted(set(scopes))
    if not grants or not set(grants) <= GRANT_TYPES:
        raise _invalid("grant_types", f"Grant types must be among {sorted(GRANT_TYPES)}.")
    if not wanted or not set(wanted) <= ALL_SCOPES:
        raise _invalid("scopes", f"Scopes must be among {sorted(ALL_SCOPES)}.")
    if grants == ["client_credentials"] and not set(wanted) <= CLIENT_CREDENTIALS_SCOPES:
        raise _invalid("scopes", "client_credentials clients get practitioners:read, slots:read.")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise _invalid("grant_types", "refresh_token only comes with authorization_code.")
    if "authorization_code" in grants and not redirect_uris:
        raise _invalid("redirect_uris", "authorization_code needs at least one redirect URI.")
    for uri in redirect_uris:
        _check_redirect_uri(uri)
    secret = new_token(CLIENT_SECRET_PREFIX)
    now = clock.now()
    row = OAuthClient(
        id=new_id(),
        client_id=new_token(CLIENT_ID_PREFIX)[:40],
        name=name,
        secret_hash=oauth_keys(settings).secret_hash(secret),
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        grant_types=grants,
        scopes=wanted,
        enabled=False,  # an admin enables it after review (docs/security.md "OAuth 2 authorization server")
        created_at=now,
        updated_at=now,
    )
    await OAuthRepository(session).add_client(row)
    await audit.record(
        AuditAction.OAUTH_CLIENT_CREATED,
        actor=actor,
        object_type="oauth_client",
        object_id=row.client_id,
        details={"grants": " ".join(grants), "scopes": " ".join(wanted)},
    )
    return NewClient(row, secret)


async def client_names(session: AsyncSession, client_ids: set[str]) -> dict[str, str]:
    """Display names of clients (a patient's access log names the application that acted)."""
    return await OAuthRepository(session).client_names(client_ids)


async def list_clients(session: AsyncSession) -> list[OAuthClient]:
    return list(await OAuthRepository(session).clients())


async def set_client_enabled(
    session: AsyncSession, audit: AuditTrail, *, actor: Actor, client_id: str, enabled: bool
) -> OAuthClient:
    """Disabling also revokes every token of the client: a disabled client can do nothing."""
    repository = OAuthRepository(session)
    now = clock.now()
    if len(client_id) > 64 or not await repository.set_client_enabled(client_id, enabled, now):
        raise ClientNotFound("No OAuth client has this id.")
    revoked = 0 if enabled else await repository.revoke_for_client(client_id, now)
    await audit.record(
        AuditAction.OAUTH_CLIENT_ENABLED if enabled else AuditAction.OAUTH_CLIENT_DISABLED,
        actor=actor,
        object_type="oauth_client",
        object_id=client_id,
        details={"revoked_tokens": revoked},
    )
    row = await repository.client(client_id)
    assert row is not None  # noqa: S101 - just updated in this transaction
    await session.refresh(row)
    return row


# --- resource server ---


async def authenticate_bearer(
    session: AsyncSession, settings: Settings, throttle: Throttle, token: str
) -> TokenGrant:
    """RFC 6750 §3.1: unknown, expired or revoked → 401 ``invalid_token``; so is a token whose client
    was disabled or whose patient was suspended. Each use counts against the client's rate limit."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidAccessToken()
    found = await OAuthRepository(session).token_with_owner(oauth_keys(settings).token_hash(token))
    if found is None:
        raise InvalidAccessToken()
    row, client, account = found
    if row.revoked_at is not None or row.access_expires_at <= clock.now() or not client.enabled:
        raise InvalidAccessToken()
    if row.account_id is not None and (
        account is None or account.status != AccountStatus.ACTIVE.value
    ):
        raise InvalidAccessToken()
    await throttle.hit(f"api:client:{client.client_id}", throttle.policies.api_client)
    return TokenGrant(
        token_id=row.id,
        client_id=client.client_id,
        client_name=client.name,
        scopes=frozenset(row.scope.split()),
        account_id=row.account_id,
        role=Role(account.role) if account is not None else None,
        display_name=account.full_name if account is not None else None,
        expires_at=row.access_expires_at,
    )


async def admit_client_request(
    session: AsyncSession,
    settings: Settings,
    throttle: Throttle,
    *,
    client_id: str | None,
    client_secret: str | None,
    network: str,
) -> None:
    """Count a request to ``/oauth/token``, ``/revoke`` or ``/introspect`` before any work.

    The per-client allowance (docs/charter.md "Incidents designed against") is spent only by
    requests that authenticate as that client: a ``client_id`` is public, so counting what merely
    *claims* it let anyone lock a real client out (docs/security.md "OAuth 2 authorization server").
    A request that fails client authentication is counted instead in buckets of its own, per client
    address and per claimed id, with growing delays (429 once they are spent); the real client's
    requests never consult them. Authlib authenticates the client again and answers
    ``invalid_client`` itself: this check only decides which allowance pays.
    """
    row = (
        await OAuthRepository(session).client(client_id)
        if client_id and len(client_id) <= 64
        else None
    )
    if (
        row is not None
        and row.enabled
        and client_secret
        and len(client_secret) <= MAX_TOKEN_LENGTH
        and constant_time_equal(oauth_keys(settings).secret_hash(client_secret), row.secret_hash)
    ):
        await throttle.hit(f"oauth-token:client:{row.client_id}", throttle.policies.oauth_token)
        return
    policies = throttle.policies
    failures = [(f"oauth-auth:ip:{network}", policies.ip)]
    if client_id:
        claimed = client_id[:64]
        failures.append((f"oauth-auth:client:{claimed}", policies.account))
    await throttle.check(*(key for key, _ in failures))
    for key, policy in failures:
        await throttle.failure(key, policy)


async def revoke_account_tokens(
    session: AsyncSession, account_id: uuid.UUID, client_id: str | None = None
) -> int:
    """Every OAuth token acting for this account (suspension, password change or reset, withdrawal:
    docs/security.md "Sessions")."""
    return await OAuthRepository(session).revoke_for_account(account_id, clock.now(), client_id)


# --- the consent screen and the patient's apps ---


async def record_authorization(
    session: AsyncSession,
    audit: AuditTrail,
    *,
    account_id: uuid.UUID,
    actor: Actor,
    client_id: str,
    scope: str,
    approved: bool,
) -> None:
    """Approving records the ``third-party-sharing`` consent for this client (docs/charter.md
    "Consent purposes"; GDPR Art. 7: who, when, which text version) in the same transaction as the
    code."""
    if approved:
        await _decide_sharing(
            session, audit, account_id, actor, client_id, consent.Decision.GRANT, "oauth-consent"
        )
    await audit.record(
        AuditAction.OAUTH_AUTHORIZED if approved else AuditAction.OAUTH_DENIED,
        actor=actor,
        subject_id=account_id,
        object_type="oauth_client",
        object_id=client_id,
        details={"scope": scope},
    )


@dataclass(frozen=True)
class AuthorizedApp:
    client_id: str
    name: str
    scopes: list[str]
    authorized_at: datetime
    last_used_at: datetime | None


async def authorized_apps(session: AsyncSession, account_id: uuid.UUID) -> list[AuthorizedApp]:
    """Clients whose ``third-party-sharing`` consent is currently granted, with the scopes the
    patient approved (and any a live token still carries) and the dates of the consent and of the
    last token issued (none yet if the client has not redeemed its code)."""
    lines = await consent.current_consents(session, account_id, "patient")
    repository = OAuthRepository(session)
    issued = {cid: last for cid, _first, last in await repository.authorizations(account_id)}
    now = clock.now()
    apps: list[AuthorizedApp] = []
    for line in lines:
        if line.purpose_id != THIRD_PARTY_SHARING or line.status != "granted" or not line.scope:
            continue
        client = await repository.client(line.scope)
        if client is None or line.decided_at is None:
            continue
        approved = await repository.last_approved_scope(account_id, client.client_id)
        live = await repository.live_scopes(account_id, client.client_id, now)
        apps.append(
            AuthorizedApp(
                client_id=client.client_id,
                name=client.name,
                scopes=sorted(set(approved.split()) | live),
                authorized_at=line.decided_at,
                last_used_at=issued.get(client.client_id),
            )
        )
    return apps


async def withdraw_app(
    session: AsyncSession, audit: AuditTrail, *, account_id: uuid.UUID, actor: Actor, client_id: str
) -> None:
    """Withdrawal is as easy as the grant (GDPR Art. 7(3)): one call withdraws the consent and
    revokes every token of that client for this patient, at once."""
    current = [a for a in await authorized_apps(session, account_id) if a.client_id == client_id]
    if not current:
        raise AppNotFound("You have not authorized this application.")
    await _decide_sharing(
        session, audit, account_id, actor, client_id, consent.Decision.WITHDRAW, "web"
    )
    revoked = await revoke_account_tokens(session, account_id, client_id)
    await audit.record(
        AuditAction.OAUTH_APP_WITHDRAWN,
        actor=actor,
        subject_id=account_id,
        object_type="oauth_client",
        object_id=client_id,
        details={"revoked_tokens": revoked},
    )


async def _decide_sharing(
    session: AsyncSession,
    audit: AuditTrail,
    account_id: uuid.UUID,
    actor: Actor,
    client_id: str,
    decision: consent.Decision,
    channel: str,
) -> None:
    """The patient's ``third-party-sharing`` decision about one client, at the current version of
    the purpose's text (the consent is per client: its ``scope``)."""
    purpose = default_charter().purpose(THIRD_PARTY_SHARING)
    await consent.decide(
        session,
        audit,
        account_id=account_id,
        audience="patient",
        actor=actor,
        purpose_id=THIRD_PARTY_SHARING,
        purpose_version=purpose.version,
        decision=decision,
        scope=client_id,
        channel=channel,
    )
