"""The consent page and the error pages of ``/oauth/authorize``.

Server-rendered, escaped HTML with no script and no inline style (the CSP allows neither), French
with the English text beside it (``lang="en"``). The pages share the front end's shell (skip link,
banner, ``main``, footer with the charter and transparency links) and its stylesheet, so a patient
recognises where they are. The consent page names the client, the account that is signed in, each
scope in plain words, how long access lasts and where the browser goes next; **deny** is the default
button (first in the form and focused, so Enter or Space denies), and approving needs the other one
(docs/security.md, "OAuth 2 authorization server").
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit

from app.auth.scopes import SCOPES


def _bi(fr: str, en: str) -> str:
    return f'{escape(fr)} <span lang="en">/ {escape(en)}</span>'


def _page(title_fr: str, title_en: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title_fr)} — erdv</title>\n"
        '<link rel="stylesheet" href="/static/style.css">\n<link rel="icon" href="data:,">\n'
        "</head>\n<body>\n"
        f'<a class="skip" href="#main">{_bi("Aller au contenu", "Skip to content")}</a>\n'
        '<header class="site"><p class="brand"><a href="/">erdv</a></p></header>\n'
        f'<main id="main" tabindex="-1">\n<h1>{_bi(title_fr, title_en)}</h1>\n{body}\n</main>\n'
        '<footer class="site"><ul>'
        f'<li><a href="/charter">{_bi("Charte e-RDV", "e-RDV charter")}</a></li>'
        f'<li><a href="/transparency">{_bi("Transparence", "Transparency")}</a></li>'
        "</ul></footer>\n</body>\n</html>\n"
    )


def consent_page(
    *,
    client_name: str,
    account_name: str,
    redirect_uri: str,
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
    # the redirect URI is a registered one by now (checked before this page is built)
    destination = escape(urlsplit(redirect_uri).netloc or redirect_uri)
    return _page(
        "Autoriser une application",
        "Authorize an application",
        f'<section class="confirm" aria-labelledby="request-title">\n'
        f'<h2 id="request-title"><span class="client-name">{name}</span> '
        f"{_bi('demande à accéder à votre compte erdv', 'asks to access your erdv account')}</h2>\n"
        f"<p>{_bi('Compte connecté :', 'Signed in as:')} <strong>{escape(account_name)}</strong></p>\n"
        f"<p>{_bi('Cette application pourra :', 'This application will be able to:')}</p>\n"
        f'<ul class="scopes">{items}</ul>\n'
        "<p>"
        + _bi(
            f"Durée : jusqu'à {refresh_days} jours, sauf si vous retirez l'accès avant "
            f"(chaque jeton d'accès dure {access_minutes} minutes).",
            f"Duration: up to {refresh_days} days unless you withdraw access earlier "
            f"(each access token lasts {access_minutes} minutes).",
        )
        + f"</p>\n<p>{_bi('Vous serez ensuite renvoyé vers', 'You will then go back to')} "
        f"<strong>{destination}</strong>.</p>\n<p>"
        + _bi(
            "Vous pourrez retirer cet accès à tout moment dans « Mes données », "
            "« Applications connectées ».",
            'You can withdraw this access at any time in "My data", "Connected apps".',
        )
        + "</p>\n"
        '<form method="post" action="/oauth/authorize">'
        f'{hidden}<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        '<div class="actions">'
        '<button type="submit" name="decision" value="deny" id="deny" autofocus>'
        f"{_bi('Refuser', 'Deny')}</button> "
        '<button type="submit" name="decision" value="approve" id="approve" class="secondary">'
        f"{_bi('Autoriser', 'Approve')}</button></div></form>\n</section>",
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
    """Not signed in: say so, and link to the sign-in page, which brings the patient back to this
    address afterwards (the front end accepts only ``/oauth/authorize`` as such a return path)."""
    sign_in = "/login?" + urlencode({"next": return_to})
    return _page(
        "Connexion requise",
        "Sign-in required",
        "<p>"
        + _bi(
            "Connectez-vous à erdv (mot de passe et code de votre application d'authentification) "
            "pour décider de cette demande ; vous reviendrez ensuite sur cette page.",
            "Sign in to erdv (password and authenticator code) to decide on this request; "
            "you will then come back to this page.",
        )
        + f'</p>\n<p><a class="button" href="{escape(sign_in)}">{_bi("Se connecter", "Sign in")}</a> '
        f'<a class="button secondary" href="{escape(return_to)}">{_bi("Réessayer", "Try again")}</a></p>',
    )
