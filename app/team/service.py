"""The practice team (issue #25, docs/api.md "Practice team"): a practitioner invites a secretary
by mail, the invitee accepts (registering with the invitation, or signed in), and works in the
agendas of the practices they belong to, and no other.

Access is never cached: every request of a secretary checks the membership row
(``works_for``), so a removal ends it at once; the removed member's sessions end too.
Invitation tokens are stored as SHA-256 hashes (256-bit random tokens: a hash cannot be reversed,
no key needed) and expire after ``INVITATION_DAYS``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.hooks import Invitee
from app.accounts.mails import language_of
from app.accounts.models import Account, Role
from app.accounts.principal import Principal
from app.accounts.repository import AccountRepository
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import new_token
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.practice.repository import PracticeRepository
from app.practice.service import PracticeService
from app.team import mails
from app.team.errors import (
    AlreadyAccepted,
    AlreadyInvited,
    InvalidInvitation,
    InvitationNotFound,
    MemberNotFound,
)
from app.team.models import MemberStatus, TeamMember, TeamRole
from app.team.repository import TeamRepository

INVITATION_DAYS = 14


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MemberView:
    id: uuid.UUID
    email: str
    role: str
    status: str
    full_name: str | None
    invited_at: datetime
    accepted_at: datetime | None


def _view(row: Any) -> MemberView:
    return MemberView(
        id=row.id,
        email=row.email,
        role=row.role,
        status=row.status,
        full_name=row.full_name or None,
        invited_at=row.invited_at,
        accepted_at=row.accepted_at,
    )


class TeamService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        audit: AuditTrail,
        mail: MailQueue | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.audit = audit
        self.mail = mail
        self.repository = TeamRepository(session)

    async def invite(self, principal: Principal, email: str, role: TeamRole) -> MemberView:
        """A practitioner invites an address to the practice's team: 409 ``already_invited`` if it
        is already invited or a member (a new invitation replaces an expired one)."""
        practice = await PracticeService(self.session, self.settings, self.audit).my_practice(
            principal
        )
        now = clock.now()
        existing = await self.repository.by_email(practice.practice.id, email)
        if existing is not None:
            if existing.status == MemberStatus.ACTIVE.value or existing.expires_at > now:
                raise AlreadyInvited()
            await self.repository.delete(existing.id)
        token = new_token()
        member = TeamMember(
            practice_id=practice.practice.id,
            email=email,
            role=role.value,
            token_hash=token_hash(token),
            invited_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        await self.repository.add(member)
        await self.audit.record(
            AuditAction.TEAM_INVITED,
            actor=principal.actor,
            object_type="team_member",
            object_id=member.id,
            details={"role": role.value},
        )
        inviter = await AccountRepository(self.session).get(principal.account_id)
        link = f"{self.settings.public_url.rstrip('/')}/invitations/{token}"
        if self.mail is not None:
            self.mail.queue(
                mails.invitation(
                    email,
                    language_of(inviter.language if inviter else None),
                    practice.practice.display_name,
                    link,
                    INVITATION_DAYS,
                )
            )
        return MemberView(
            member.id, email, role.value, member.status, None, member.invited_at, None
        )

    async def team(self, principal: Principal) -> list[MemberView]:
        return [_view(r) for r in await self.repository.of_practice(principal.account_id)]

    async def remove(self, principal: Principal, member_id: uuid.UUID) -> None:
        """The member's access to this practice ends at once (it is checked on every request),
        and their sessions end: a removed secretary's open agenda tab stops with the next
        request. An invitation not yet accepted is withdrawn."""
        member = await self.repository.get(principal.account_id, member_id)
        if member is None:
            raise MemberNotFound()
        await self.repository.delete(member.id)
        ended = 0
        if member.account_id is not None:
            accounts = AccountRepository(self.session)
            ended = await accounts.delete_sessions(member.account_id)
            removed = await accounts.get(member.account_id)
            practice = await PracticeRepository(self.session).get(principal.account_id)
            if self.mail is not None and removed is not None and practice is not None:
                gone = mails.member_removed(
                    removed.email, language_of(removed.language), practice.display_name
                )
                self.mail.queue(replace(gone, recipient_id=str(removed.id), topic="team"))
        await self.audit.record(
            AuditAction.TEAM_REMOVED,
            actor=principal.actor,
            subject_id=member.account_id,
            object_type="team_member",
            object_id=member.id,
            details={"sessions_ended": ended},
        )

    async def accept(self, principal: Principal, token: str) -> list[dict[str, Any]]:
        """A signed-in secretary accepts an invitation to their own address: 404 for an unknown,
        expired or someone else's token, 409 ``already_accepted`` once it is accepted."""
        account = await AccountRepository(self.session).get(principal.account_id)
        member = await self.repository.by_token(token_hash(token), lock=True)
        if (
            member is None
            or account is None
            or member.email != account.email
            or (member.status == MemberStatus.INVITED.value and member.expires_at <= clock.now())
        ):
            raise InvitationNotFound()
        if member.status != MemberStatus.INVITED.value:
            raise AlreadyAccepted()
        if not await self.repository.accept(member.id, principal.account_id, clock.now()):
            raise AlreadyAccepted()  # accepted meanwhile
        await tell_the_practitioner(self.session, self.mail, member.practice_id, account)
        await self.audit.record(
            AuditAction.TEAM_JOINED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="team_member",
            object_id=member.id,
        )
        return await self.practices(principal)

    async def practices(self, principal: Principal) -> list[dict[str, Any]]:
        rows = await self.repository.practices_of(principal.account_id)
        return [{"id": r.id, "display_name": r.display_name} for r in rows]


async def redeem_at_registration(session: AsyncSession, invitee: Invitee) -> None:
    """Registration as a secretary (``accounts.invitation_redeemed``): the token must be a live
    invitation for this very address, else 422 ``invalid_invitation`` and the registration is
    rolled back; the new account joins the practice at once."""
    repository = TeamRepository(session)
    member = await repository.by_token(token_hash(invitee.token), lock=True)
    now = clock.now()
    if (
        member is None
        or member.email != invitee.email
        or member.status != MemberStatus.INVITED.value
        or member.expires_at <= now
    ):
        raise InvalidInvitation("This invitation is unknown, expired, used or for another address.")
    await repository.accept(member.id, invitee.account_id, now)
    joined = await AccountRepository(session).get(invitee.account_id)
    if joined is not None:
        await tell_the_practitioner(session, invitee.mail, member.practice_id, joined)
    await invitee.audit.record(
        AuditAction.TEAM_JOINED,
        actor=Actor.account(invitee.account_id, Role.SECRETARY.value),
        subject_id=invitee.account_id,
        object_type="team_member",
        object_id=member.id,
    )


async def tell_the_practitioner(
    session: AsyncSession, mail: MailQueue | None, practice_id: uuid.UUID, joined: Account
) -> None:
    """Who now works in the practice's agenda, mailed to its practitioner (``mails.member_joined``)
    with the joining."""
    practitioner = await AccountRepository(session).get(practice_id)
    if mail is None or practitioner is None:
        return
    told = mails.member_joined(
        practitioner.email, language_of(practitioner.language), joined.full_name, joined.email
    )
    mail.queue(replace(told, recipient_id=str(practitioner.id), topic="team"))


async def works_for(session: AsyncSession, account_id: uuid.UUID, practice_id: uuid.UUID) -> bool:
    """Whether the account is an active member of this open practice (checked on every request)."""
    return await TeamRepository(session).works_for(account_id, practice_id)
