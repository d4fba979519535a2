"""Passkey routes (docs/api.md "Passkeys"; the contract in API.md "Interoperability").

- ``POST /api/v1/auth/passkeys/options`` then ``POST /api/v1/auth/passkeys``: register one (full
  session re-authenticated within the window).
- ``POST /api/v1/auth/mfa/passkey/options`` then ``POST /api/v1/auth/mfa/passkey``: the second
  factor of a partial session, as ``/mfa/verify`` with a code.
- ``POST /api/v1/auth/reauth/passkey/options`` then ``POST /api/v1/auth/reauth/passkey``: a
  re-authentication inside a full session, answered as ``/reauth``.
- ``POST /api/v1/auth/passkey/options`` then ``POST /api/v1/auth/passkey``: a sign-in without
  password (public); the options set the ``erdv_passkey`` cookie the challenge is bound to.
- ``GET /api/v1/me/passkeys``, ``GET``, ``PATCH`` and ``DELETE /api/v1/me/passkeys/{id}``.

Thin, as every router: who may call is in the signature, the service does the rest.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from app.accounts.dependencies import Auth, Passkeys
from app.accounts.passkeys import SIGN_IN_COOKIE, SIGN_IN_COOKIE_MAX_AGE, SIGN_IN_COOKIE_PATH
from app.accounts.schemas import MfaDone, Reauthenticated
from app.auth.authenticator import CurrentAccount, RecentlyAuthenticatedAccount
from app.auth.router import client_info, reauthenticated, signed_in
from app.auth.sessions import AnySession, FullSession, secure_cookies, session_token
from app.core.access import PUBLIC
from app.core.deps import AppSettings
from app.core.problems import problem_responses as _problems
from app.mfa.models import Passkey
from app.mfa.schemas import (
    CreationOptions,
    PasskeyCredential,
    PasskeyRead,
    PasskeyRegistration,
    PasskeyRename,
    RequestOptions,
)

_SESSION_ERRORS = ((401, "not_authenticated"), (403, "csrf_failed"))
_FULL_ERRORS = (*_SESSION_ERRORS, (401, "mfa_required"))
_ANSWER_ERRORS = ((400, "invalid_passkey"), (400, "unknown_passkey"), (429, "rate_limited"))

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1/me", tags=["me"])


def _read(passkey: Passkey) -> PasskeyRead:
    return PasskeyRead(
        id=passkey.id,
        name=passkey.name,
        transports=[t for t in (passkey.transports or "").split(",") if t],
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


@router.post(
    "/passkeys/options",
    summary="Start registering a passkey: WebAuthn creation options (recent re-authentication)",
    response_model=CreationOptions,
    responses=_problems(*_FULL_ERRORS, (403, "reauth_required"), (409, "too_many_passkeys")),
)
async def passkey_creation_options(
    principal: RecentlyAuthenticatedAccount, session: FullSession, passkeys: Passkeys
) -> CreationOptions:
    return CreationOptions.model_validate(await passkeys.registration_options(session))


@router.post(
    "/passkeys",
    status_code=status.HTTP_201_CREATED,
    summary="Register a passkey with the answer of navigator.credentials.create()",
    response_model=PasskeyRead,
    responses=_problems(
        *_FULL_ERRORS,
        (403, "reauth_required"),
        (400, "invalid_passkey"),
        (409, "passkey_already_registered"),
        (422, "validation_error"),
        (429, "rate_limited"),
    ),
)
async def register_passkey(
    body: PasskeyRegistration,
    principal: RecentlyAuthenticatedAccount,
    session: FullSession,
    passkeys: Passkeys,
) -> PasskeyRead:
    return _read(await passkeys.add_passkey(session, principal, body.credential, body.name))


@router.post(
    "/mfa/passkey/options",
    summary="Second factor with a passkey: WebAuthn request options for this account's passkeys",
    response_model=RequestOptions,
    responses=_problems(*_SESSION_ERRORS, (409, "no_passkey")),
)
async def second_factor_passkey_options(session: AnySession, passkeys: Passkeys) -> RequestOptions:
    return RequestOptions.model_validate(await passkeys.second_factor_options(session))


@router.post(
    "/mfa/passkey",
    summary="Second factor at login with a passkey; the session becomes full, its id rotated",
    response_model=MfaDone,
    responses=_problems(*_SESSION_ERRORS, *_ANSWER_ERRORS),
)
async def verify_passkey(
    body: PasskeyCredential,
    session: AnySession,
    request: Request,
    response: Response,
    passkeys: Passkeys,
    auth: Auth,
    settings: AppSettings,
) -> MfaDone:
    done = await passkeys.complete_second_factor(session, body.credential)
    return signed_in(done, request, response, auth, settings)


@router.post(
    "/reauth/passkey/options",
    summary="Re-authenticate with a passkey: WebAuthn request options for this account's passkeys",
    response_model=RequestOptions,
    responses=_problems(*_FULL_ERRORS, (409, "no_passkey")),
)
async def reauth_passkey_options(
    principal: CurrentAccount, session: FullSession, passkeys: Passkeys
) -> RequestOptions:
    return RequestOptions.model_validate(await passkeys.reauth_options(session))


@router.post(
    "/reauth/passkey",
    summary="Re-authenticate with a passkey (user verified) instead of the password and a code",
    description=(
        "As `/reauth`: 204 with the rotated session's CSRF token in the `X-CSRF-Token` header, or "
        "200 with it in the body too under `Prefer: return=representation`; sensitive operations "
        "are unlocked for 10 minutes."
    ),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        200: {"model": Reauthenticated, "description": "with `Prefer: return=representation`"},
        **_problems(*_FULL_ERRORS, *_ANSWER_ERRORS),
    },
)
async def reauthenticate_with_passkey(
    body: PasskeyCredential,
    principal: CurrentAccount,
    session: FullSession,
    request: Request,
    passkeys: Passkeys,
    settings: AppSettings,
) -> Response:
    done = await passkeys.reauthenticate_with_passkey(principal, session, body.credential)
    return reauthenticated(done, request, settings)


@router.post(
    "/passkey/options",
    openapi_extra=PUBLIC,
    summary="Sign in without password: WebAuthn request options for a discoverable passkey",
    description=(
        "Sets the `erdv_passkey` cookie (HttpOnly, SameSite=Strict, 5 minutes) the challenge is "
        "bound to: send the answer from the same browser."
    ),
    response_model=RequestOptions,
)
async def sign_in_passkey_options(
    request: Request, response: Response, passkeys: Passkeys, settings: AppSettings
) -> RequestOptions:
    cookie = passkeys.sign_in_cookie(request.cookies.get(SIGN_IN_COOKIE))
    options = await passkeys.sign_in_options(cookie)
    response.set_cookie(
        SIGN_IN_COOKIE,
        cookie,
        max_age=SIGN_IN_COOKIE_MAX_AGE,
        path=SIGN_IN_COOKIE_PATH,
        secure=secure_cookies(request, settings),
        httponly=True,
        samesite="strict",
    )
    return RequestOptions.model_validate(options)


@router.post(
    "/passkey",
    openapi_extra=PUBLIC,
    summary="Sign in without password with a discoverable passkey (user verified): a full session",
    response_model=MfaDone,
    responses=_problems(*_ANSWER_ERRORS, (403, "account_suspended")),
)
async def sign_in_with_passkey(
    body: PasskeyCredential,
    request: Request,
    response: Response,
    passkeys: Passkeys,
    auth: Auth,
    settings: AppSettings,
) -> MfaDone:
    done = await passkeys.sign_in(
        cookie=request.cookies.get(SIGN_IN_COOKIE),
        credential=body.credential,
        client=client_info(request),
        previous_token=session_token(request, settings),
    )
    response.delete_cookie(
        SIGN_IN_COOKIE,
        path=SIGN_IN_COOKIE_PATH,
        secure=secure_cookies(request, settings),
        httponly=True,
        samesite="strict",
    )
    return signed_in(done, request, response, auth, settings)


@me_router.get(
    "/passkeys",
    summary="My passkeys, oldest first",
    response_model=list[PasskeyRead],
    responses=_problems(*_FULL_ERRORS),
)
async def list_my_passkeys(principal: CurrentAccount, passkeys: Passkeys) -> list[PasskeyRead]:
    return [_read(p) for p in await passkeys.list_passkeys(principal)]


@me_router.get(
    "/passkeys/{passkey_id}",
    summary="One of my passkeys",
    response_model=PasskeyRead,
    responses=_problems(*_FULL_ERRORS, (404, "not_found"), (422, "validation_error")),
)
async def read_my_passkey(
    passkey_id: uuid.UUID, principal: CurrentAccount, passkeys: Passkeys
) -> PasskeyRead:
    return _read(await passkeys.passkey(principal, passkey_id))


@me_router.patch(
    "/passkeys/{passkey_id}",
    summary="Rename one of my passkeys",
    response_model=PasskeyRead,
    responses=_problems(*_FULL_ERRORS, (404, "not_found"), (422, "validation_error")),
)
async def rename_my_passkey(
    passkey_id: uuid.UUID, body: PasskeyRename, principal: CurrentAccount, passkeys: Passkeys
) -> PasskeyRead:
    return _read(await passkeys.rename_passkey(principal, passkey_id, body.name))


@me_router.delete(
    "/passkeys/{passkey_id}",
    summary="Remove one of my passkeys (recent re-authentication; never the last second factor)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems(
        *_FULL_ERRORS, (403, "reauth_required"), (404, "not_found"), (409, "last_factor")
    ),
)
async def remove_my_passkey(
    passkey_id: uuid.UUID, principal: RecentlyAuthenticatedAccount, passkeys: Passkeys
) -> Response:
    await passkeys.remove_passkey(principal, passkey_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
