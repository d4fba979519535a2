"""OAuth endpoints: metadata, authorize (consent page), token, revoke, introspect; the admin's
clients; the patient's authorized apps.

The protocol endpoints are thin: build the request after ``await request.form()``, hand it to the
Authlib server in a worker thread (``app.oauth.server``), turn its answer into a Starlette response.
Their errors are RFC 6749 JSON errors, not problem documents (that is what OAuth clients parse).
``/oauth/*`` responses carry ``Cache-Control: no-store`` (middleware, and Authlib's own headers).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import CsrfFailed
from app.accounts.models import Role, SessionState
from app.accounts.principal import Principal, keys_for
from app.accounts.views import actor_of, network_of
from app.audit.dependencies import Audit
from app.audit.service import AuditTrail
from app.auth.authenticator import CurrentPatient
from app.auth.scopes import ALL_SCOPES, GRANT_TYPES, scope_list
from app.auth.sessions import OptionalSession, deny
from app.core.access import PUBLIC
from app.core.crypto import constant_time_equal
from app.core.deps import AppSettings
from app.core.errors import NotAuthenticated
from app.core.logging import client_ip_var
from app.core.middleware import policy_with_form_target
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.core.settings import Settings
from app.oauth import pages, service
from app.oauth.adapters import (
    ACCESS_TOKEN_LIFETIME,
    CLIENT_AUTH_METHODS,
    REFRESH_FAMILY_LIFETIME,
    ErdvOAuth2Request,
    OAuthResponse,
    oauth_keys,
)
from app.oauth.schemas import (
    AuthorizedAppRead,
    ClientIdPath,
    ServerMetadata,
)
from app.oauth.server import ErdvAuthorizationServer
from app.oauth.store import Store
from app.throttle.dependencies import RequestThrottle
from app.throttle.service import Throttle

router = APIRouter(tags=["oauth"])
#: RFC 3986's reserved and unreserved characters, and '%' (the query is already encoded)
_URL_CHARACTERS = ":/?#[]@!$&'()*+,;=-._~%"
admin_router = APIRouter(prefix="/api/v1/admin/oauth/clients", tags=["admin"])
me_router = APIRouter(prefix="/api/v1/me/apps", tags=["oauth"])

_SESSION_ERRORS = ((401, "not_authenticated"), (401, "mfa_required"), (403, "csrf_failed"))
_ADMIN_ERRORS = (*_SESSION_ERRORS, (403, "forbidden"), (403, "insufficient_scope"))
_OAUTH_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "RFC 6749 §5.2 error (`invalid_request`, `invalid_grant`, ...)"},
    401: {"description": "`invalid_client` when the client authenticated with HTTP Basic"},
    429: {"description": "`rate_limited` (per client)"},
}
_FORM_BODY = {
    "requestBody": {
        "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
    }
}


def _server(db: DbSession, settings: Settings, audit: AuditTrail) -> ErdvAuthorizationServer:
    return ErdvAuthorizationServer(Store(db, audit, oauth_keys(settings)), settings)


def _form_items(form: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def _oauth_request(
    request: Request, form: list[tuple[str, str]] | None = None
) -> ErdvOAuth2Request:
    if form is None:
        form = _form_items(await request.form()) if request.method == "POST" else []
    return ErdvOAuth2Request(
        request.method,
        str(request.url),
        request.headers,
        list(request.query_params.multi_items()),
        form,
    )


def _to_response(answer: OAuthResponse, request: Request) -> Response:
    body, status_code = answer.body, answer.status
    if isinstance(body, dict):
        # RFC 6749 §5.2: 401 for invalid_client only when the client tried HTTP authentication
        if status_code == 401 and "authorization" not in request.headers:
            status_code = 400
        body = json.dumps(body)
    headers = [(k, v) for k, v in answer.headers if status_code == 401 or k != "WWW-Authenticate"]
    response = Response(content=body or b"", status_code=status_code)
    for name, value in headers:
        response.headers[name] = value
    return response


def _authorize_error(
    server: ErdvAuthorizationServer, error: OAuth2Error, status_code: int = 400
) -> Response:
    """Redirect only to a redirect URI already matched against the client (RFC 6749 §4.1.2.1);
    otherwise an error page."""
    if error.redirect_uri:
        location = server.error_redirect(error.redirect_uri, error.get_body())
        return Response(status_code=303, headers={"Location": location})
    description = error.get_error_description() or error.error
    return HTMLResponse(
        pages.error_page(
            "Le client ou son adresse de retour est inconnu ou invalide. " + description,
            "The client or its redirect URI is unknown or invalid. " + description,
        ),
        status_code=status_code,
    )


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    response_model=ServerMetadata,
    openapi_extra=PUBLIC,
)
async def server_metadata(settings: AppSettings) -> ServerMetadata:
    base = settings.public_url.rstrip("/")
    return ServerMetadata(
        issuer=base,
        authorization_endpoint=f"{base}/oauth/authorize",
        token_endpoint=f"{base}/oauth/token",
        revocation_endpoint=f"{base}/oauth/revoke",
        introspection_endpoint=f"{base}/oauth/introspect",
        scopes_supported=sorted(ALL_SCOPES),
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=sorted(GRANT_TYPES),
        token_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported=CLIENT_AUTH_METHODS,
        code_challenge_methods_supported=["S256"],
        authorization_response_iss_parameter_supported=True,
    )


@router.get(
    "/oauth/authorize",
    summary="Authorization endpoint: the consent page (RFC 6749 §4.1.1, PKCE S256 required)",
    response_class=HTMLResponse,
    responses={303: {"description": "error redirect to a registered redirect URI"}},
    openapi_extra=PUBLIC,
)
async def authorize_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    ctx: OptionalSession,
) -> Response:
    """Validates the request first (an unknown client or redirect URI is an error page, never a
    redirect); a visitor who is not signed in gets a page linking to the sign-in screen, which
    brings them back here; a signed-in patient sees the consent page."""
    server = _server(db, settings, audit)
    oauth_request = await _oauth_request(request)
    try:
        grant = await server.run(lambda: server.get_consent_grant(request=oauth_request))
    except OAuth2Error as error:
        return _authorize_error(server, error)
    if ctx is None or ctx.session.state != SessionState.FULL.value:
        # the query exactly as the client sent it: re-quoting it turned a '+' (a space, as most
        # clients write the one between scopes) into '%2B', one unknown scope after the sign-in;
        # only what a URL cannot hold (a stray space, a quote, non-ASCII) is escaped
        return_to = request.url.path + ("?" + request.url.query if request.url.query else "")
        return HTMLResponse(pages.login_page(quote(return_to, safe=_URL_CHARACTERS)))
    if ctx.account.role != Role.PATIENT.value:
        return HTMLResponse(
            pages.error_page(
                "Seul un compte patient peut autoriser une application.",
                "Only a patient account can authorize an application.",
            ),
            status_code=403,
        )
    redirect_uri = oauth_request.payload.redirect_uri or ""
    return HTMLResponse(
        pages.consent_page(
            client_name=grant.client.row.name,
            account_name=ctx.account.full_name,
            redirect_uri=redirect_uri,
            scopes=scope_list(grant.request.scope),
            params=list(request.query_params.multi_items()),
            csrf_token=keys_for(settings.secret_key_bytes).csrf_token(ctx.token),
            refresh_days=REFRESH_FAMILY_LIFETIME.days,
            access_minutes=int(ACCESS_TOKEN_LIFETIME.total_seconds() // 60),
        ),
        headers=_consent_page_policy(redirect_uri),
    )


def _consent_page_policy(redirect_uri: str) -> dict[str, str]:
    """The consent form posts here, and the answer's 303 takes the browser to the client: the
    page's ``form-action`` must allow that redirect URI's origin, or the browser stops at the
    redirect and the client never gets its code (``policy_with_form_target``). The URI was matched
    exactly against the client's registered ones before the page was built."""
    parts = urlsplit(redirect_uri)
    try:
        policy = policy_with_form_target(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return {}  # not a web origin: the site's own policy, and the browser's refusal
    return {"Content-Security-Policy": policy}


@router.post(
    "/oauth/authorize",
    summary="The patient's decision on the consent page: 303 to the client with code or error",
    status_code=303,
    response_class=Response,
    responses={
        303: {"description": "redirect with `code` (or `error=access_denied`), `state`, `iss`"},
        **problem_responses(*_SESSION_ERRORS),
    },
    openapi_extra=_FORM_BODY,
)
async def authorize_decision(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    ctx: OptionalSession,
) -> Response:
    """CSRF: the hidden ``csrf_token`` (or the ``X-CSRF-Token`` header) must be the session's token.
    Deny is the default: only ``decision=approve`` approves. Approving records the
    ``third-party-sharing`` consent for this client in the same transaction as the code."""
    if ctx is None:
        raise NotAuthenticated("Sign in first.")
    form = _form_items(await request.form())
    fields = dict(form)
    expected = keys_for(settings.secret_key_bytes).csrf_token(ctx.token)
    sent = fields.get("csrf_token") or request.headers.get("x-csrf-token", "")
    if not sent or not constant_time_equal(sent, expected):
        await deny(audit, actor_of(ctx.account), "csrf_failed", request)
        raise CsrfFailed("The consent form is stale or forged: reload it.")
    server = _server(db, settings, audit)
    if ctx.account.role != Role.PATIENT.value:
        return HTMLResponse(
            pages.error_page(
                "Seul un compte patient peut autoriser une application.",
                "Only a patient account can authorize an application.",
            ),
            status_code=403,
        )
    approved = fields.get("decision") == "approve"
    account = ctx.account
    principal = Principal(
        account_id=account.id,
        role=Role(account.role),
        display_name=account.full_name,
        session_id=ctx.session.id,
        actor=actor_of(account),
    )
    params = [(k, v) for k, v in form if k not in {"csrf_token", "decision"}]
    oauth_request = await _oauth_request(request, params)

    def decide() -> OAuthResponse:
        grant = server.get_consent_grant(request=oauth_request, end_user=principal)
        answer: OAuthResponse = server.create_authorization_response(
            request=oauth_request, grant_user=principal if approved else None, grant=grant
        )
        return answer

    try:
        answer = await server.run(decide)
    except OAuth2Error as error:
        return _authorize_error(server, error)
    if answer.status == 303:
        await service.record_authorization(
            db,
            audit,
            account_id=account.id,
            actor=principal.actor,
            client_id=oauth_request.payload.client_id,
            scope=oauth_request.scope or "",
            approved=approved and "code=" in (answer.location or ""),
        )
    return _to_response(answer, request)


def _unreadable_basic(request: Request) -> Response | None:
    """401 ``invalid_client`` (RFC 6749 §5.2) for HTTP Basic credentials that are not base64 of
    UTF-8 text, which Authlib's reader does not catch: a 500 before."""
    try:
        extract_basic_authorization(request.headers)
    except (UnicodeDecodeError, ValueError):
        body = {
            "error": "invalid_client",
            "error_description": "Unreadable HTTP Basic credentials.",
        }
        return Response(
            json.dumps(body),
            status_code=status.HTTP_401_UNAUTHORIZED,
            media_type="application/json",
            headers={"WWW-Authenticate": 'Basic realm="erdv"'},
        )
    return None


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The client's id and secret as Authlib reads them: HTTP Basic if sent, else the form."""
    client_id, secret = extract_basic_authorization(request.headers)
    if client_id:
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


@router.post(
    "/oauth/token",
    summary="Token endpoint: authorization_code (+ code_verifier), refresh_token, client_credentials",
    response_class=Response,
    responses=_OAUTH_JSON_ERRORS,
    openapi_extra={**PUBLIC, **_FORM_BODY},
)
async def token(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    throttle: RequestThrottle,
) -> Response:
    """Client authentication: ``client_secret_basic`` or ``client_secret_post``. Rate-limited per
    client (docs/charter.md "Incidents designed against")."""
    if (refused := _unreadable_basic(request)) is not None:
        return refused
    oauth_request = await _client_request(request, db, settings, throttle)
    server = _server(db, settings, audit)
    answer = await server.run(lambda: server.create_token_response(oauth_request))
    return _to_response(answer, request)


async def _client_request(
    request: Request, db: AsyncSession, settings: Settings, throttle: Throttle
) -> Any:
    """The form request of a client-authenticated endpoint, counted before any work against the
    authenticated client's rate limit, or else against the failed attempts' own buckets
    (``service.admit_client_request``)."""
    oauth_request = await _oauth_request(request)
    client_id, secret = _client_credentials(request, oauth_request.form)
    await service.admit_client_request(
        db,
        settings,
        throttle,
        client_id=client_id,
        client_secret=secret,
        network=network_of(
            client_ip_var.get() or (request.client.host if request.client else None)
        ),
    )
    return oauth_request


async def _endpoint_response(
    endpoint: str,
    request: Request,
    db: AsyncSession,
    settings: Settings,
    audit: AuditTrail,
    throttle: Throttle,
) -> Response:
    """Revocation (RFC 7009) and introspection (RFC 7662): Authlib endpoints behind client
    authentication and the client's rate limit."""
    if (refused := _unreadable_basic(request)) is not None:
        return refused
    oauth_request = await _client_request(request, db, settings, throttle)
    server = _server(db, settings, audit)
    answer = await server.run(lambda: server.create_endpoint_response(endpoint, oauth_request))
    return _to_response(answer, request)


@router.post(
    "/oauth/revoke",
    summary="Token revocation (RFC 7009): a refresh token revokes its whole grant",
    response_class=Response,
    responses=_OAUTH_JSON_ERRORS,
    openapi_extra={**PUBLIC, **_FORM_BODY},
)
async def revoke(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    throttle: RequestThrottle,
) -> Response:
    return await _endpoint_response("revocation", request, db, settings, audit, throttle)


@router.post(
    "/oauth/introspect",
    summary="Token introspection (RFC 7662), for a client's own tokens",
    response_class=Response,
    responses=_OAUTH_JSON_ERRORS,
    openapi_extra={**PUBLIC, **_FORM_BODY},
)
async def introspect(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    throttle: RequestThrottle,
) -> Response:
    return await _endpoint_response("introspection", request, db, settings, audit, throttle)


# --- the patient's apps ---


@me_router.get(
    "",
    summary="Applications I authorized, with their scopes and dates",
    response_model=list[AuthorizedAppRead],
    responses=problem_responses(*_ADMIN_ERRORS),
)
async def list_my_apps(patient: CurrentPatient, db: DbSession) -> list[AuthorizedAppRead]:
    return [
        AuthorizedAppRead(
            client_id=app.client_id,
            name=app.name,
            scopes=app.scopes,
            authorized_at=app.authorized_at,
            last_token_at=app.last_used_at,
        )
        for app in await service.authorized_apps(db, patient.account_id)
    ]


@me_router.delete(
    "/{client_id}",
    summary="Withdraw an application's access: consent withdrawn, its tokens revoked at once",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_ADMIN_ERRORS, (404, "not_found")),
)
async def withdraw_my_app(
    client_id: ClientIdPath, patient: CurrentPatient, db: DbSession, audit: Audit
) -> Response:
    await service.withdraw_app(
        db, audit, account_id=patient.account_id, actor=patient.actor, client_id=client_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
