"""The consent page and the error pages of ``/oauth/authorize``.

Server-rendered, escaped HTML with no script and no inline style (the CSP allows neither), French with
the English text beside it (``lang="en"``). The consent page names the client, each scope in plain
words and how long access lasts; **deny** is the default button (first in the form, and what Enter
submits), and approving needs a click on the other one (SECURITY.md, "OAuth 2 authorization server").
"""

from __future__ import annotations

from html import escape

from app.oauth.scopes import SCOPES


def _bi(fr: str, en: str) -> str:
    return f'{escape(fr)} <span lang="en">/ {escape(en)}</span>'


def _page(title_fr: str, title_en: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title_fr)} — erdv</title>\n"
        '<link rel="stylesheet" href="/static/style.css">\n<link rel="icon" href="data:,">\n'
        "</head>\n<body>\n"
        '<header><p class="brand"><a href="/">erdv</a></p></header>\n'
        f'<main id="main">\n<h1>{_bi(title_fr, title_en)}</h1>\n{body}\n</main>\n</body>\n</html>\n'
    )


def consent_page(
    *,
    client_name: str,
    scopes: list[str],
    params: list[tuple[str, str]],
    csrf_token: str,
    refresh_days: int,
    access_minutes: int,
) -> str:
    items = "".join(
        f"<li>{_bi(SCOPES[s].fr, SCOPES[s].en)} <code>{escape(s)}</code></li>" for s in scopes
    )
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in params
        if name not in {"csrf_token", "decision"}
    )
    name = escape(client_name)
    return _page(
        "Autoriser une application",
        "Authorize an application",
        f'<p><strong class="client-name">{name}</strong> '
        f"{_bi('demande à accéder à votre compte erdv :', 'asks to access your erdv account:')}</p>\n"
        f'<ul class="scopes">{items}</ul>\n'
        "<p>"
        + _bi(
            f"Durée : jusqu'à {refresh_days} jours, sauf si vous retirez l'accès avant "
            f"(chaque jeton d'accès dure {access_minutes} minutes).",
            f"Duration: up to {refresh_days} days unless you withdraw access earlier "
            f"(each access token lasts {access_minutes} minutes).",
        )
        + "</p>\n<p>"
        + _bi(
            "Vous pourrez retirer cet accès à tout moment dans « Mes applications ».",
            'You can withdraw this access at any time in "My applications".',
        )
        + "</p>\n"
        '<form method="post" action="/oauth/authorize">'
        f'{hidden}<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        '<button type="submit" name="decision" value="deny" autofocus>'
        f"{_bi('Refuser', 'Deny')}</button> "
        '<button type="submit" name="decision" value="approve">'
        f"{_bi('Autoriser', 'Approve')}</button></form>",
    )


def error_page(fr: str, en: str) -> str:
    """Shown instead of a redirect when the client or its redirect URI cannot be trusted
    (RFC 6749 §4.1.2.1: never redirect to an unverified URI)."""
    return _page(
        "Demande d'autorisation invalide",
        "Invalid authorization request",
        f"<p>{_bi(fr, en)}</p>",
    )


def login_page(return_to: str) -> str:
    """Not signed in: say so, and link to the sign-in page; come back to this address afterwards."""
    return _page(
        "Connexion requise",
        "Sign-in required",
        "<p>"
        + _bi(
            "Connectez-vous à erdv (mot de passe et code de votre application d'authentification), "
            "puis revenez à cette page pour décider.",
            "Sign in to erdv (password and authenticator code), then come back to this page "
            "to decide.",
        )
        + f'</p>\n<p><a href="/">{_bi("Se connecter", "Sign in")}</a> · '
        f'<a href="{escape(return_to)}">{_bi("Réessayer", "Try again")}</a></p>',
    )
