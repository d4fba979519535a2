"""The team's mails: the invitation, in the inviting practitioner's language; who joined, to the
practitioner; the end of a member's access, to the member. None holds patient data."""

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


def member_joined(to: str, language: Language, member: str, address: str) -> Mail:
    """To the practitioner, when someone accepts an invitation: from now on they read and change
    the practice's agenda, its patients' names and phone numbers included. An invitation sent to
    a mistyped or stolen address would otherwise open the agenda without the practitioner
    knowing; they can end it at once."""
    if language == "en":
        return Mail(
            to=to,
            subject=f"{member} joined your erdv agenda",
            body=(
                f"{member} ({address}) accepted your invitation and now works in your "
                "practice's agenda on erdv as a secretary: booking, moving and cancelling your "
                "patients' appointments.\n\n"
                "If you did not invite this person, remove them from your team (Team page): "
                "their access ends at once.\n"
            ),
        )
    return Mail(
        to=to,
        subject=f"{member} a rejoint votre agenda erdv",
        body=(
            f"{member} ({address}) a accepté votre invitation et travaille désormais dans "
            "l'agenda de votre cabinet sur erdv, comme secrétaire : prendre, déplacer et annuler "
            "les rendez-vous de vos patients.\n\n"
            "Si vous n'avez pas invité cette personne, retirez-la de votre équipe (page Équipe) : "
            "son accès prend fin aussitôt.\n"
        ),
    )


def member_removed(to: str, language: Language, practice: str) -> Mail:
    """To a member removed from a team: their access ended, and their open sessions with it."""
    if language == "en":
        return Mail(
            to=to,
            subject=f"You no longer work in {practice}'s erdv agenda",
            body=(
                f"{practice} removed you from their practice's team on erdv: you no longer have "
                "access to their agenda, and your open sessions were ended.\n"
            ),
        )
    return Mail(
        to=to,
        subject=f"Vous ne travaillez plus dans l'agenda erdv de {practice}",
        body=(
            f"{practice} vous a retiré(e) de l'équipe de son cabinet sur erdv : vous n'avez plus "
            "accès à son agenda, et vos sessions ouvertes ont été fermées.\n"
        ),
    )
