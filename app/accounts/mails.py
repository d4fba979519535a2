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


def account_deleted(to: str, language: Language, cancelled: int) -> Mail:
    """The last mail to an erased account's address: what went, what stays and why (GDPR art. 12
    and 17), so its holder knows the request was carried out."""
    if language == "en":
        ahead = (
            f"Your {cancelled} upcoming appointment(s) were cancelled and the practices told.\n\n"
            if cancelled
            else ""
        )
        return Mail(
            to=to,
            subject="Your erdv account is deleted",
            body=(
                "As you asked, your erdv account is deleted: your name, email address, phone, "
                "password, authenticator and sessions are gone, and no application can act for "
                f"you any more.\n\n{ahead}"
                "What the law asks us to keep names you no more: your past appointments stay in "
                "the practices' agendas without your name or contact details, and the proofs of "
                "your consent decisions and the access log keep an identifier that leads back to "
                "nobody.\n\nYou may create a new account with this address at any time.\n"
            ),
        )
    ahead = (
        f"Vos {cancelled} rendez-vous à venir ont été annulés et les cabinets prévenus.\n\n"
        if cancelled
        else ""
    )
    return Mail(
        to=to,
        subject="Votre compte erdv est supprimé",
        body=(
            "Comme vous l'avez demandé, votre compte erdv est supprimé : votre nom, votre adresse "
            "e-mail, votre téléphone, votre mot de passe, votre application d'authentification "
            "et vos sessions ont été effacés, et aucune application ne peut plus agir pour vous."
            f"\n\n{ahead}"
            "Ce que la loi nous demande de garder ne vous nomme plus : vos rendez-vous passés "
            "restent dans l'agenda des cabinets sans votre nom ni vos coordonnées, et les preuves "
            "de vos accords et le journal des accès gardent un identifiant qui ne mène à "
            "personne.\n\nVous pouvez créer un nouveau compte avec cette adresse quand vous "
            "le voulez.\n"
        ),
    )


def practice_closed(to: str, language: Language, cancelled: int, kept_days: int) -> Mail:
    """The last mail to a practitioner who closed the account (C12, the contract's clauses 5 and
    7): what went at once, what the platform keeps for how long and why, and how to get the
    export in that time."""
    if language == "en":
        ahead = (
            f"Your {cancelled} upcoming appointment(s) were cancelled and each patient told.\n\n"
            if cancelled
            else ""
        )
        return Mail(
            to=to,
            subject="Your erdv practice account is closed",
            body=(
                "As you asked, your erdv account is closed: your profile is out of the directory, "
                "and your email address, phone, RPPS number, password, authenticator and sessions "
                "are gone; your name stays only in each patient's history of their own visits."
                f"\n\n{ahead}"
                f"For {kept_days} days, the operator keeps your agenda so that it can still give "
                "you its export (agenda and patients' contact details) if you ask through the "
                "contact on the transparency page; then it deletes it. Each patient keeps the "
                "history of their own appointments.\n\nYou may create a new account with this "
                "address at any time.\n"
            ),
        )
    ahead = (
        f"Vos {cancelled} rendez-vous à venir ont été annulés et chaque patient prévenu.\n\n"
        if cancelled
        else ""
    )
    return Mail(
        to=to,
        subject="Votre compte professionnel erdv est fermé",
        body=(
            "Comme vous l'avez demandé, votre compte erdv est fermé : votre fiche est retirée de "
            "l'annuaire, et votre adresse e-mail, votre téléphone, votre numéro RPPS, votre mot "
            "de passe, votre application d'authentification et vos sessions ont été effacés ; "
            "votre nom ne reste que dans l'historique que chaque patient garde de ses rendez-vous."
            f"\n\n{ahead}"
            f"Pendant {kept_days} jours, l'exploitant garde votre agenda pour pouvoir encore vous "
            "en remettre l'export (agenda et coordonnées des patients) si vous le demandez au "
            "contact indiqué sur la page Transparence ; il le supprime ensuite. Chaque patient "
            "garde l'historique de ses propres rendez-vous.\n\nVous pouvez créer un nouveau "
            "compte avec cette adresse quand vous le voulez.\n"
        ),
    )


def account_suspended(to: str, language: Language, *, practitioner: bool) -> Mail:
    """An admin suspended the account (the practitioner contract's clause 7: the operator
    suspends access after informing the practitioner, and leaves them the means to export their
    data): what stops, and for a practitioner how to get the export (an admin gives it,
    ``GET /api/v1/admin/practices/{id}/export``)."""
    if language == "en":
        export = (
            "Your agenda and your patients' contact details remain yours: ask through the "
            "contact on the transparency page and the operator gives you their export (FHIR "
            "JSON), as long as the suspension lasts.\n\n"
            if practitioner
            else ""
        )
        return Mail(
            to=to,
            subject="Your erdv account is suspended",
            body=(
                "The operator of erdv has suspended your account: you cannot sign in, your "
                "sessions have ended and the applications you authorised no longer have access."
                f"\n\n{export}"
                "To know why, or to ask for the suspension to end, write to the contact on the "
                "transparency page. You will be told by mail when your account is reinstated.\n"
            ),
        )
    export = (
        "Votre agenda et les coordonnées de vos patients restent les vôtres : sur demande au "
        "contact indiqué sur la page Transparence, l'exploitant vous en remet l'export (FHIR "
        "JSON), tant que dure la suspension.\n\n"
        if practitioner
        else ""
    )
    return Mail(
        to=to,
        subject="Votre compte erdv est suspendu",
        body=(
            "L'exploitant d'erdv a suspendu votre compte : vous ne pouvez plus vous connecter, vos "
            "sessions sont terminées et les applications que vous aviez autorisées n'y ont plus "
            f"accès.\n\n{export}"
            "Pour en connaître la raison, ou demander la levée de la suspension, écrivez au "
            "contact indiqué sur la page Transparence. Un e-mail vous dira quand votre compte "
            "sera rétabli.\n"
        ),
    )


def account_reinstated(to: str, language: Language) -> Mail:
    """The suspension ended: the holder may sign in again."""
    if language == "en":
        return Mail(
            to=to,
            subject="Your erdv account is reinstated",
            body=(
                "The operator of erdv has reinstated your account: you can sign in again, with "
                "your password and your authenticator. Applications you had authorised must be "
                "authorised again.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Votre compte erdv est rétabli",
        body=(
            "L'exploitant d'erdv a rétabli votre compte : vous pouvez de nouveau vous connecter, "
            "avec votre mot de passe et votre application d'authentification. Les applications "
            "que vous aviez autorisées doivent l'être de nouveau.\n"
        ),
    )


def confirm_new_email(to: str, language: Language, link: str, hours: int) -> Mail:
    """To the new address: the link that makes it the account's."""
    if language == "en":
        return Mail(
            to=to,
            subject="Confirm your new erdv address",
            body=(
                f"To use this address for your erdv account, open this link within {hours} "
                f"hours:\n{link}\n\nIf you did not ask for this, ignore this message: nothing "
                "changes.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Confirmez votre nouvelle adresse erdv",
        body=(
            "Pour utiliser cette adresse pour votre compte erdv, ouvrez ce lien dans les "
            f"{hours} heures :\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message : "
            "rien ne change.\n"
        ),
    )


def email_change_requested(to: str, language: Language, new_email: str) -> Mail:
    """To the current address, when a change is asked: its holder can react if it was not them."""
    if language == "en":
        return Mail(
            to=to,
            subject="A change of your erdv address was asked",
            body=(
                f"Someone signed in to your erdv account asked to use {new_email} instead of "
                "this address. The change happens only once the link sent there is opened.\n\n"
                "If it was not you, change your password now and end your other sessions "
                "(Security page).\n"
            ),
        )
    return Mail(
        to=to,
        subject="Un changement de votre adresse erdv a été demandé",
        body=(
            f"Quelqu'un connecté à votre compte erdv a demandé d'utiliser {new_email} à la "
            "place de cette adresse. Le changement n'a lieu qu'une fois ouvert le lien envoyé "
            "à cette nouvelle adresse.\n\nSi ce n'était pas vous, changez tout de suite votre "
            "mot de passe et fermez vos autres sessions (page Sécurité).\n"
        ),
    )


def email_changed(to: str, language: Language, new_email: str) -> Mail:
    """To the former address, once the change is made."""
    if language == "en":
        return Mail(
            to=to,
            subject="Your erdv address has changed",
            body=(
                f"Your erdv account now uses {new_email}; this address is no longer linked to "
                "it.\n\nIf it was not you, write to the data protection officer (Transparency "
                "page) at once.\n"
            ),
        )
    return Mail(
        to=to,
        subject="Votre adresse erdv a changé",
        body=(
            f"Votre compte erdv utilise désormais {new_email} ; cette adresse n'y est plus "
            "liée.\n\nSi ce n'était pas vous, écrivez tout de suite au délégué à la protection "
            "des données (page Transparence).\n"
        ),
    )


def address_taken(to: str, language: Language, home: str) -> Mail:
    """To the holder of an address another account asked to move to (the API answers alike)."""
    if language == "en":
        return Mail(
            to=to,
            subject="Your erdv account",
            body=(
                "Someone asked to move another erdv account to this address, which already has "
                f"one. Nothing changed.\n\nYour account: {home}\n"
            ),
        )
    return Mail(
        to=to,
        subject="Votre compte erdv",
        body=(
            "Quelqu'un a demandé d'utiliser cette adresse pour un autre compte erdv, alors "
            f"qu'elle en a déjà un. Rien n'a changé.\n\nVotre compte : {home}\n"
        ),
    )


def rpps_claimed(to: str, language: Language, home: str) -> Mail:
    """To the practitioner whose RPPS number someone tried to register another account with."""
    if language == "en":
        return Mail(
            to=to,
            subject="Your RPPS number on erdv",
            body=(
                "Someone tried to create another erdv account with your RPPS number. No account "
                "was created.\n\nIf it was you, sign in with your account: "
                f"{home}\n\nIf it was not, write to the data protection officer (Transparency "
                "page).\n"
            ),
        )
    return Mail(
        to=to,
        subject="Votre numéro RPPS sur erdv",
        body=(
            "Quelqu'un a essayé de créer un autre compte erdv avec votre numéro RPPS. Aucun "
            f"compte n'a été créé.\n\nSi c'était vous, connectez-vous avec votre compte : {home}"
            "\n\nSinon, écrivez au délégué à la protection des données (page Transparence).\n"
        ),
    )


#: what happened to a passkey, said in the mail to its holder (``passkey_changed``)
PasskeyEvent = Literal["added", "renamed", "removed"]

_PASSKEY_SUBJECTS: dict[Language, dict[PasskeyEvent, str]] = {
    "en": {
        "added": "A passkey was added to your erdv account",
        "renamed": "A passkey of your erdv account was renamed",
        "removed": "A passkey was removed from your erdv account",
    },
    "fr": {
        "added": "Une clé d'accès a été ajoutée à votre compte erdv",
        "renamed": "Une clé d'accès de votre compte erdv a été renommée",
        "removed": "Une clé d'accès a été retirée de votre compte erdv",
    },
}


def passkey_changed(to: str, language: Language, event: PasskeyEvent, name: str) -> Mail:
    """To the account holder, on every change of their passkeys (NIST SP 800-63B §6.1.2.1: the
    subscriber is told of every authenticator bound or removed). A refused copy of a passkey has
    its own mail (``passkey_copy_refused``)."""
    if language == "en":
        what = {
            "added": f"The passkey \u201c{name}\u201d can now sign in to your account.",
            "renamed": f"One of your passkeys is now called \u201c{name}\u201d.",
            "removed": f"The passkey \u201c{name}\u201d can no longer sign in to your account.",
        }[event]
        return Mail(
            to=to,
            subject=_PASSKEY_SUBJECTS["en"][event],
            body=(
                f"{what}\n\nIf it was not you, change your password, remove the passkeys you do "
                "not recognise and end your other sessions (Security page).\n"
            ),
        )
    quoi = {
        "added": f"La clé d'accès « {name} » peut désormais ouvrir votre compte.",
        "renamed": f"Une de vos clés d'accès s'appelle désormais « {name} ».",
        "removed": f"La clé d'accès « {name} » ne peut plus ouvrir votre compte.",
    }[event]
    return Mail(
        to=to,
        subject=_PASSKEY_SUBJECTS["fr"][event],
        body=(
            f"{quoi}\n\nSi ce n'était pas vous, changez votre mot de passe, retirez les clés "
            "d'accès que vous ne reconnaissez pas et fermez vos autres sessions (page Sécurité).\n"
        ),
    )


def passkey_copy_refused(to: str, language: Language, name: str) -> Mail:
    """To the account holder, when a correctly signed assertion of their passkey ``name`` came
    with a signature counter that did not grow (WebAuthn L2 §6.1.1): two copies of its private key
    may exist, and the sign-in was refused. Only the holder can tell whether that was them; the
    advice is the same as for any change they did not make (NIST SP 800-63B §6.1.2.1)."""
    if language == "en":
        return Mail(
            to=to,
            subject="A sign-in with a copy of your passkey was refused",
            body=(
                f"A sign-in to your erdv account with the passkey \u201c{name}\u201d was "
                "refused: its signature counter shows that a copy of it may exist.\n\n"
                "If you did not just try to sign in with it, remove this passkey, change your "
                "password and end your other sessions (Security page).\n"
            ),
        )
    return Mail(
        to=to,
        subject="Une connexion avec une copie de votre clé d'accès a été refusée",
        body=(
            f"Une connexion à votre compte erdv avec la clé d'accès « {name} » a été refusée : "
            "son compteur de signatures indique qu'une copie de cette clé peut exister.\n\n"
            "Si vous n'avez pas essayé de vous connecter avec elle à l'instant, retirez cette clé "
            "d'accès, changez votre mot de passe et fermez vos autres sessions (page Sécurité).\n"
        ),
    )
