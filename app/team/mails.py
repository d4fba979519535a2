"""The team's mails: the invitation, in the inviting practitioner's language."""

from __future__ import annotations

from app.accounts.mails import Language
from app.core.messages import Mail


def invitation(to: str, language: Language, practice: str, link: str, days: int) -> Mail:
    """To the invited address: who invites, to do what, the link (valid ``days``), and what to do
    if it was not expected. No patient data."""
    if language == "en":
        return Mail(
            to=to,
            subject=f"{practice} invites you to their erdv agenda",
            body=(
                f"{practice} invites you to work in their practice's agenda on erdv as a "
                "secretary: booking, moving and cancelling their patients' appointments.\n\n"
                f"To accept, open this link within {days} days, then create your account or sign "
                f"in (with two-factor authentication, as everyone):\n{link}\n\n"
                "If you did not expect this invitation, ignore this mail: nothing happens "
                "without you.\n"
            ),
        )
    return Mail(
        to=to,
        subject=f"{practice} vous invite sur son agenda erdv",
        body=(
            f"{practice} vous invite à travailler dans l'agenda de son cabinet sur erdv, comme "
            "secrétaire : prendre, déplacer et annuler les rendez-vous de ses patients.\n\n"
            f"Pour accepter, ouvrez ce lien dans les {days} jours, puis créez votre compte ou "
            "connectez-vous (avec la double authentification, comme tout le monde) :\n"
            f"{link}\n\n"
            "Si vous n'attendiez pas cette invitation, ignorez ce message : rien ne se fait "
            "sans vous.\n"
        ),
    )
