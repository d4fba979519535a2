"""``/api/v1/me/notifications``: the messages sent to me, and the practitioner's switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentAccount, CurrentPractitioner
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.notifications.schemas import NotificationRead, NotificationSettings
from app.notifications.service import NotificationService

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])

_AUTH = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))
_UNSAFE = (*_AUTH, (403, "csrf_failed"))


def _service(db: DbSession, audit: Audit) -> NotificationService:
    return NotificationService(db, audit)


Notifications = Annotated[NotificationService, Depends(_service)]


@router.get(
    "",
    summary="Messages sent to me: kind, channel, status and dates, never their text",
    response_model=list[NotificationRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_notifications(
    caller: CurrentAccount, notifications: Notifications
) -> list[NotificationRead]:
    return [
        NotificationRead(
            id=row.id,
            kind=row.topic or "account",
            channel=row.channel,
            status=row.status,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )
        for row in await notifications.mine(caller)
    ]


@router.get(
    "/settings",
    summary="My notification settings (practitioners): a mail for each booking by a patient",
    response_model=NotificationSettings,
    responses=problem_responses(*_AUTH),
)
async def read_my_notification_settings(
    practitioner: CurrentPractitioner, notifications: Notifications
) -> NotificationSettings:
    return NotificationSettings(new_booking_mail=await notifications.new_booking_mail(practitioner))


@router.put(
    "",
    summary="Turn the mail for each booking and cancellation by a patient on or off (audited)",
    response_model=NotificationSettings,
    responses=problem_responses(*_UNSAFE, (422, "validation_error")),
)
async def update_my_notification_settings(
    body: NotificationSettings, practitioner: CurrentPractitioner, notifications: Notifications
) -> NotificationSettings:
    on = await notifications.set_new_booking_mail(practitioner, body.new_booking_mail)
    return NotificationSettings(new_booking_mail=on)
