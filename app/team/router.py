"""Team routes: the practitioner's team, the secretary's invitations and practices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.auth.authenticator import Authenticator, CurrentPractitioner
from app.core.problems import problem_responses
from app.team.dependencies import Team
from app.team.models import TeamRole
from app.team.schemas import InvitationIn, MemberRead, PracticeRef
from app.team.service import MemberView

router = APIRouter(tags=["practice team"])
CurrentSecretary = Annotated[Principal, Depends(Authenticator(Role.SECRETARY))]
_AUTH = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))
_CHANGE = (*_AUTH, (403, "csrf_failed"))
Token = Annotated[str, Path(max_length=256)]


def _member(view: MemberView) -> MemberRead:
    return MemberRead.model_validate(view, from_attributes=True)


@router.post(
    "/api/v1/me/practice/team",
    status_code=status.HTTP_201_CREATED,
    summary="Invite a secretary to the practice's team (a mail with the invitation link)",
    response_model=MemberRead,
    responses=problem_responses(*_CHANGE, (409, "already_invited"), (422, "validation_error")),
)
async def invite_member(
    body: InvitationIn, practitioner: CurrentPractitioner, team: Team
) -> MemberRead:
    return _member(await team.invite(practitioner, body.email, TeamRole(body.role)))


@router.get(
    "/api/v1/me/practice/team",
    summary="The practice's team: invitations and members",
    response_model=list[MemberRead],
    responses=problem_responses(*_AUTH),
)
async def list_team(practitioner: CurrentPractitioner, team: Team) -> list[MemberRead]:
    return [_member(v) for v in await team.team(practitioner)]


@router.delete(
    "/api/v1/me/practice/team/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member (their access ends at once, sessions included) or an invitation",
    responses=problem_responses(*_CHANGE, (404, "not_found")),
)
async def remove_member(
    member_id: uuid.UUID, practitioner: CurrentPractitioner, team: Team
) -> Response:
    await team.remove(practitioner, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/team/invitations/{token}/accept",
    summary="Accept an invitation to your own address (a signed-in secretary)",
    response_model=list[PracticeRef],
    responses=problem_responses(*_CHANGE, (404, "not_found"), (409, "already_accepted")),
)
async def accept_invitation(
    token: Token, secretary: CurrentSecretary, team: Team
) -> list[PracticeRef]:
    return [PracticeRef(**p) for p in await team.accept(secretary, token)]


@router.get(
    "/api/v1/me/practices",
    summary="The practices the secretary works for",
    response_model=list[PracticeRef],
    responses=problem_responses(*_AUTH),
)
async def my_practices(secretary: CurrentSecretary, team: Team) -> list[PracticeRef]:
    return [PracticeRef(**p) for p in await team.practices(secretary)]
