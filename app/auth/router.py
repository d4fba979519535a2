"""``/api/v1/auth`` (docs/api.md "Accounts, sessions and MFA"), ``/api/v1/me/sessions`` and admin accounts.

Routers are thin: authenticate, call one service method, set or clear the cookie, return a schema.
Failed attempts keep their throttle counter and audit entry although the request answers with an
error (``RecordedFailure`` in ``app.core.errors``).
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts import mails
from app.accounts.dependencies import Auth, Passwords
from app.accounts.devices import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, DEVICE_COOKIE_PATH
from app.accounts.models import Account, Role, SessionState
from app.accounts.principal import BrowserSession, keys_for, session_cookie_name
from app.accounts.schemas import (
    AccountProfile,
    AccountRead,
    AccountUpdate,
    Activated,
    ChangePassword,
    CodeIn,
    EmailChange,
    EmailChangeAsked,
    Forgot,
    Login,
    LoginStep,
    MfaDone,
    MfaVerify,
    Reauth,
    Reauthenticated,
    Register,
    Reset,
    SessionInfo,
    SessionProbe,
    SessionRead,
    TotpSetup,
    VerifyEmail,
)
from app.accounts.service import AuthService
from app.accounts.views import ClientInfo, IssuedSession, MfaCompleted, Reauthentication
from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentAccount, RecentlyAuthenticatedAccount
from app.auth.sessions import (
    AnySession,
    FullSession,
    OptionalSession,
    enforce_csrf,
    secure_cookies,
    session_token,
)
from app.core.access import PUBLIC
from app.core.deps import AppSettings
from app.core.errors import NotAuthenticated
from app.core.logging import client_ip_var
from app.core.problems import problem_responses as _problems
from app.core.schemas import Status
from app.core.settings import Settings

CSRF_HEADER = "X-CSRF-Token"


_SESSION_ERRORS = ((401, "not_authenticated"), (403, "csrf_failed"))
_FULL_ERRORS = (*_SESSION_ERRORS, (401, "mfa_required"))

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1/me", tags=["me"])
admin_router = APIRouter(prefix="/api/v1/admin/accounts", tags=["admin"])


def client_info(request: Request) -> ClientInfo:
    ip = client_ip_var.get() or (request.client.host if request.client else None)
    return ClientInfo(ip=ip, user_agent=request.headers.get("user-agent"))


def set_session_cookie(
    response: Response, request: Request, settings: Settings, issued: IssuedSession
) -> None:
    """HttpOnly, SameSite=Lax, Path=/; Secure, and named with the ``__Host-`` prefix, over HTTPS and
    always in production (docs/api.md "Who may call";
    ``app.accounts.principal.SECURE_SESSION_COOKIE``)."""
    secure = secure_cookies(request, settings)
    response.set_cookie(
        session_cookie_name(secure),
        issued.token,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def set_device_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    """The device cookie of a completed login (``app.accounts.devices``): sent back to the
    login steps only, never readable by scripts."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path=DEVICE_COOKIE_PATH,
        secure=secure_cookies(request, settings),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    secure = secure_cookies(request, settings)
    response.delete_cookie(
        session_cookie_name(secure),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def _account(account: Account) -> AccountRead:
    return AccountRead(
        id=account.id, email=account.email, role=account.role, full_name=account.full_name
    )


@router.post(
    "/register",
    openapi_extra=PUBLIC,
    summary="Create a patient or practitioner account (202 whether or not the email is taken)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Status,
    responses=_problems(
        (422, "validation_error"),
        (422, "weak_password"),
        (422, "invalid_invitation"),
        (429, "rate_limited"),
    ),
)
async def register(body: Register, auth: Auth, request: Request) -> Status:
    await auth.register(
        client=client_info(request),
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        role=Role(body.role),
        phone=body.phone,
        rpps=body.rpps,
        language=body.language,
        invitation=body.invitation,
    )
    return Status(status="check_email")


@router.post(
    "/verify-email",
    openapi_extra=PUBLIC,
    summary="Confirm an email address with the mailed single-use token",
    response_model=Status,
    responses=_problems((400, "invalid_token")),
)
async def verify_email(body: VerifyEmail, auth: Auth) -> Status:
    await auth.verify_email(body.token)
    return Status(status="verified")


@router.post(
    "/confirm-email",
    openapi_extra=PUBLIC,
    summary="Make the new address of a change the account's, with the link mailed to it",
    response_model=Status,
    responses=_problems((400, "invalid_token"), (409, "email_taken")),
)
async def confirm_email_change(body: VerifyEmail, auth: Auth) -> Status:
    await auth.confirm_email_change(body.token)
    return Status(status="email_changed")


@router.post(
    "/login",
    openapi_extra=PUBLIC,
    summary="Password step: opens a partial session that still needs the second factor",
    response_model=LoginStep,
    responses=_problems(
        (401, "invalid_credentials"),
        (403, "email_not_verified"),
        (403, "account_suspended"),
        (429, "rate_limited"),
    ),
)
async def login(
    body: Login, request: Request, response: Response, auth: Auth, settings: AppSettings
) -> LoginStep:
    issued = await auth.login(
        email=body.email,
        password=body.password,
        client=client_info(request),
        previous_token=session_token(request, settings),
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    set_session_cookie(response, request, settings, issued)
    return LoginStep(next=issued.state.value, csrf_token=issued.csrf_token)


@router.post(
    "/mfa/totp/setup",
    summary="Start TOTP enrolment: a new secret, its otpauth:// URI and QR code",
    response_model=TotpSetup,
    responses=_problems(*_SESSION_ERRORS, (403, "reauth_required")),
)
async def setup_totp(session: AnySession, auth: Auth) -> TotpSetup:
    enrolment = await auth.begin_totp_setup(session)
    return TotpSetup(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post(
    "/mfa/totp/activate",
    summary="Confirm enrolment with one valid code: 10 recovery codes, shown once; session is full",
    response_model=Activated,
    responses=_problems(*_SESSION_ERRORS, (400, "invalid_code"), (429, "rate_limited")),
)
async def activate_totp(
    body: CodeIn,
    session: AnySession,
    request: Request,
    response: Response,
    auth: Auth,
    settings: AppSettings,
) -> Activated:
    activation = await auth.activate_totp(session, body.code)
    set_session_cookie(response, request, settings, activation.session)
    device = auth.device_cookie(session.account, request.cookies.get(DEVICE_COOKIE))
    set_device_cookie(response, request, settings, device)
    return Activated(
        recovery_codes=activation.recovery_codes, csrf_token=activation.session.csrf_token
    )


@router.post(
    "/mfa/verify",
    summary="Second factor at login (TOTP code or recovery code); the session id is rotated",
    response_model=MfaDone,
    responses=_problems(*_SESSION_ERRORS, (400, "invalid_code"), (429, "rate_limited")),
)
async def verify_mfa(
    body: MfaVerify,
    session: AnySession,
    request: Request,
    response: Response,
    auth: Auth,
    settings: AppSettings,
) -> MfaDone:
    done = await auth.verify_mfa(session, code=body.code, recovery_code=body.recovery_code)
    return signed_in(done, request, response, auth, settings)


def signed_in(
    done: MfaCompleted, request: Request, response: Response, auth: Auth, settings: Settings
) -> MfaDone:
    """A completed second factor (a code here, a passkey in ``app.auth.passkeys``): the full
    session's cookie, the device cookie that spares this browser later delays, and the answer."""
    set_session_cookie(response, request, settings, done.session)
    device = auth.device_cookie(done.account, request.cookies.get(DEVICE_COOKIE))
    set_device_cookie(response, request, settings, device)
    return MfaDone(account=_account(done.account), csrf_token=done.session.csrf_token)


@router.get(
    "/session",
    summary="The current full session, with its CSRF token",
    response_model=SessionInfo,
    responses=_problems((401, "not_authenticated")),
)
async def get_session(ctx: OptionalSession, auth: Auth, settings: AppSettings) -> SessionInfo:
    info = _session_info(ctx, auth, settings)
    if info is None:
        raise NotAuthenticated("No full session.")
    return info


@router.get(
    "/session/probe",
    summary="Whether this browser is signed in (200 either way), with the session if it is",
    response_model=SessionProbe,
    openapi_extra=PUBLIC,
)
async def probe_session(ctx: OptionalSession, auth: Auth, settings: AppSettings) -> SessionProbe:
    info = _session_info(ctx, auth, settings)
    pending = None
    if ctx is not None and ctx.session.state in _PENDING_STEPS:
        pending = LoginStep(
            next=_PENDING_STEPS[ctx.session.state],
            csrf_token=keys_for(settings.secret_key_bytes).csrf_token(ctx.token),
        )
    return SessionProbe(signed_in=info is not None, session=info, pending=pending)


#: a partial session's state, as the login names the step it waits for
_PENDING_STEPS: dict[str, Literal["mfa_setup", "mfa"]] = {
    SessionState.MFA_SETUP.value: "mfa_setup",
    SessionState.MFA.value: "mfa",
}


def _session_info(
    ctx: BrowserSession | None, auth: AuthService, settings: Settings
) -> SessionInfo | None:
    if ctx is None or ctx.session.authenticated_at is None or ctx.session.state != "full":
        return None
    return SessionInfo(
        account=_account(ctx.account),
        mfa=True,
        authenticated_at=ctx.session.authenticated_at,
        reauthenticated_at=ctx.session.reauthenticated_at,
        reauth_seconds_left=auth.reauth_seconds_left(ctx),
        csrf_token=keys_for(settings.secret_key_bytes).csrf_token(ctx.token),
    )


@router.post(
    "/logout",
    summary="End this session server-side and clear the cookie",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems((403, "csrf_failed")),
)
async def logout(
    request: Request, ctx: OptionalSession, auth: Auth, settings: AppSettings, audit: Audit
) -> Response:
    if ctx is not None:
        await enforce_csrf(request, ctx, settings, audit)
        await auth.logout(ctx)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request, settings)
    return response


@router.post(
    "/reauth",
    summary="Confirm password and a TOTP code again; unlocks sensitive operations for 10 minutes",
    description=(
        "Answers 204 with the rotated session's CSRF token in the `X-CSRF-Token` header. With "
        "`Prefer: return=representation` (RFC 7240) it answers 200 with the token in the body too, "
        "and says until when sensitive operations are unlocked."
    ),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        200: {
            "model": Reauthenticated,
            "description": "with `Prefer: return=representation`",
        },
        **_problems(
            *_FULL_ERRORS,
            (401, "invalid_credentials"),
            (400, "invalid_code"),
            (429, "rate_limited"),
        ),
    },
)
async def reauthenticate(
    body: Reauth,
    principal: CurrentAccount,
    session: FullSession,
    request: Request,
    auth: Auth,
    settings: AppSettings,
) -> Response:
    done = await auth.reauthenticate(principal, session, password=body.password, code=body.code)
    return reauthenticated(done, request, settings)


def reauthenticated(done: Reauthentication, request: Request, settings: Settings) -> Response:
    """The answer of a re-authentication (password and code, or a passkey): see ``/reauth``."""
    issued = done.session
    headers = {CSRF_HEADER: issued.csrf_token, "Vary": "Prefer"}
    response: Response
    if _wants_representation(request):
        representation = Reauthenticated(
            csrf_token=issued.csrf_token,
            reauthenticated_at=done.at,
            valid_until=done.valid_until,
        )
        response = JSONResponse(
            representation.model_dump(mode="json"),
            headers={**headers, "Preference-Applied": "return=representation"},
        )
    else:
        # the contract's answer: 204, the rotated session's CSRF token in a header
        response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
    set_session_cookie(response, request, settings, issued)
    return response


def _wants_representation(request: Request) -> bool:
    """RFC 7240 §4.2: ``Prefer: return=representation`` (one of possibly several preferences)."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            if preference.split(";")[0].strip().lower().replace(" ", "") == "return=representation":
                return True
    return False


@router.post(
    "/password/forgot",
    openapi_extra=PUBLIC,
    summary="Mail a reset link if the account exists (202 always)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Status,
    responses=_problems((429, "rate_limited")),
)
async def forgot_password(body: Forgot, request: Request, passwords: Passwords) -> Status:
    await passwords.forgot_password(
        email=body.email,
        client=client_info(request),
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    return Status(status="check_email")


@router.post(
    "/password/reset",
    openapi_extra=PUBLIC,
    summary="New password with the mailed token AND a TOTP or recovery code; ends every session",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems(
        (400, "invalid_token"), (400, "invalid_code"), (422, "weak_password"), (429, "rate_limited")
    ),
)
async def reset_password(
    body: Reset, request: Request, passwords: Passwords, settings: AppSettings
) -> Response:
    await passwords.reset_password(
        token=body.token,
        new_password=body.new_password,
        code=body.code,
        recovery_code=body.recovery_code,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request, settings)
    return response


@router.post(
    "/password/change",
    summary="Change the password (current one required); ends the other sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems(
        *_FULL_ERRORS, (401, "invalid_credentials"), (422, "weak_password"), (429, "rate_limited")
    ),
)
async def change_password(
    body: ChangePassword, principal: CurrentAccount, session: FullSession, passwords: Passwords
) -> Response:
    await passwords.change_password(
        principal, session, current=body.current_password, new=body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _profile(account: Account) -> AccountProfile:
    return AccountProfile(
        id=account.id,
        email=account.email,
        full_name=account.full_name,
        phone=account.phone,
        language=mails.language_of(account.language),
        role=account.role,
    )


@me_router.get(
    "",
    summary="My account: name, email, phone and the language of my mails",
    response_model=AccountProfile,
    responses=_problems(*_FULL_ERRORS),
)
async def read_my_account(principal: CurrentAccount, auth: Auth) -> AccountProfile:
    return _profile(await auth.account(principal))


@me_router.patch(
    "",
    summary="Change my name, phone (stored as E.164) or language; only the fields sent change",
    response_model=AccountProfile,
    responses=_problems(*_FULL_ERRORS, (422, "validation_error")),
)
async def update_my_account(
    body: AccountUpdate, principal: CurrentAccount, auth: Auth
) -> AccountProfile:
    return _profile(await auth.update_profile(principal, body.changes()))


@me_router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Move my account to another address: a link to it confirms, the current one is told",
    response_model=EmailChangeAsked,
    responses=_problems(*_FULL_ERRORS, (403, "reauth_required"), (422, "validation_error")),
)
async def change_my_email(
    body: EmailChange, principal: RecentlyAuthenticatedAccount, auth: Auth
) -> EmailChangeAsked:
    await auth.request_email_change(principal, body.email)
    return EmailChangeAsked(email=body.email)


@me_router.get(
    "/sessions",
    summary="My sessions, newest first",
    response_model=list[SessionRead],
    responses=_problems(*_FULL_ERRORS),
)
async def list_my_sessions(principal: CurrentAccount, auth: Auth) -> list[SessionRead]:
    rows = await auth.list_sessions(principal)
    return [
        SessionRead(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            authenticated_at=row.authenticated_at,
            user_agent=row.user_agent,
            ip=row.ip,
            current=row.id == principal.session_id,
        )
        for row in rows
    ]


@me_router.delete(
    "/sessions/{session_id}",
    summary="End one of my sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_problems(*_FULL_ERRORS, (404, "not_found")),
)
async def end_my_session(session_id: uuid.UUID, principal: CurrentAccount, auth: Auth) -> Response:
    await auth.revoke_session(principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
