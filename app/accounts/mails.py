"""The account lifecycle's mails, in the account's language (``account.language``: French by
default, English on request).

Each mail says what happened, what to do and what to do if it was not the reader; links carry their
token in the fragment (never sent to a server or in a ``Referer``). No mail holds a password, a code
or any health data (docs/security.md "Data protection").
"""

from __future__ import annotations

from typing import Literal

from app.core.messages import Mail

Language = Literal["fr", "en"]


def language_of(value: str | None) -> Language:
    """An account's language, French for anything unknown (the service's default)."""
    return "en" if value == "en" else "fr"


def verification(to: str, language: Language, link: str, hours: int) -> Mail:
    if language == "en":
        return Mail(
            to=to,
            subject="Confirm your email address",
            body=(
                "Welcome to erdv.\n\nConfirm your email address with this link "
                f"(valid {hours} hours, usable once):\n{link}\n\n"
                "If you did not create an account, ignore this message.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Confirmez votre adresse e-mail",
        body=(
            "Bienvenue sur erdv.\n\nConfirmez votre adresse e-mail avec ce lien "
            f"(valable {hours} heures, utilisable une fois) :\n{link}\n\n"
            "Si vous n'avez pas créé de compte, ignorez ce message.\n"
        ),
    )


def already_registered(to: str, language: Language, home: str) -> Mail:
    """To the holder of an address someone tried to register again (the API answers alike)."""
    if language == "en":
        return Mail(
            to=to,
            subject="Your erdv account",
            body=(
                "Someone (maybe you) tried to create an erdv account with this address, "
                "which already has one.\n\nIf it was you, sign in or reset your password: "
                f"{home}\n\nIf it was not you, you can ignore this message.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Votre compte erdv",
        body=(
            "Quelqu'un (peut-être vous) a essayé de créer un compte erdv avec cette adresse, "
            "qui en a déjà un.\n\nSi c'était vous, connectez-vous ou réinitialisez votre mot "
            f"de passe : {home}\n\nSinon, vous pouvez ignorer ce message.\n"
        ),
    )


def password_reset(to: str, language: Language, link: str, minutes: int) -> Mail:
    if language == "en":
        return Mail(
            to=to,
            subject="Reset your erdv password",
            body=(
                f"Use this link within {minutes} minutes to choose a new password "
                "(you will also need a code from your authenticator app or a recovery code):\n"
                f"{link}\n\n"
                "If you did not ask for this, ignore this message; your password is unchanged.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Réinitialisez votre mot de passe erdv",
        body=(
            f"Utilisez ce lien dans les {minutes} minutes pour choisir un nouveau mot de passe "
            "(il vous faudra aussi un code de votre application d'authentification ou un code "
            f"de secours) :\n{link}\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe n'a pas changé.\n"
        ),
    )
