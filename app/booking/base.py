"""The booking services' common ground: the request's collaborators, the audit recorder that cannot
be left out, and an appointment as its caller may see it (visit reasons decrypted for the patient
and the practitioner only)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import AuditTrail
from app.booking.notices import APPOINTMENT_NOTICE, Change, notice
from app.booking.repository import BookingRepository
from app.booking.rows import AppointmentRow, Noticed
from app.booking.views import AppointmentView, changes_until, visit_reason_aad, zone_named
from app.core.crypto import ColumnCipher, DecryptionError
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.schedule.timegrid import in_zone
from app.throttle.service import Throttle


class BookingBase:
    """What every booking service holds: the request's session and its collaborators."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        audit: AuditTrail,
        throttle: Throttle | None = None,
        mail: MailQueue | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.audit = audit
        self.throttle = throttle
        self.mail = mail
        self.repository = BookingRepository(session)
        # one cipher per key set and process (ColumnCipher.from_settings): nothing derived per request
        self.cipher = ColumnCipher.from_settings(settings)

    async def _record(self, action: AuditAction, **kwargs: Any) -> None:
        # Mandatory (docs/security.md "Audit trail"): a channel that reads personal data without
        # a recorder cannot be
        # built, so none can forget the patient's access log (charter C9).
        await self.audit.record(action, **kwargs)

    def _reason(self, row: AppointmentRow) -> tuple[uuid.UUID, str] | None:
        if row.visit_reason_ct is None:
            return None
        try:
            data = json.loads(
                self.cipher.decrypt(row.visit_reason_ct, associated_data=visit_reason_aad(row.id))
            )
        except DecryptionError:
            return None
        return uuid.UUID(data["id"]), str(data["label"])

    def announce(self, change: Change, row: Noticed, *, by: str, **now: Any) -> None:
        """Stage the notice of ``change`` (``app.booking.notices``) in this transaction. ``now``
        overrides what the change altered (``start``, ``end``, ``sequence``)."""
        data = self._notice(change, row, by=by, **now)
        if self.mail is not None and data is not None:
            self.mail.write_at_commit(APPOINTMENT_NOTICE, data)

    async def announce_at_once(self, change: Change, row: Noticed, *, by: str, **now: Any) -> None:
        """``announce``, its messages written now: for a change whose later steps erase what they
        read (an account's erasure, ``MailQueue.write_now``)."""
        data = self._notice(change, row, by=by, **now)
        if self.mail is not None and data is not None:
            await self.mail.write_now(APPOINTMENT_NOTICE, data)

    def _notice(
        self, change: Change, row: Noticed, *, by: str, **now: Any
    ) -> dict[str, Any] | None:
        contact = getattr(row, "contact_email", None)
        if row.patient_id is None and not contact:  # anonymised, or no address: nobody to tell
            return None
        values: dict[str, Any] = {
            "start": row.start_at,
            "end": row.end_at,
            "sequence": row.sequence,
        } | now
        return notice(
            change,
            appointment_id=row.id,
            patient_id=row.patient_id,
            practitioner_id=row.practitioner_id,
            by=by,
            relative_name=getattr(row, "relative_name", None),
            contact_email=contact if row.patient_id is None else None,
            **values,
        )

    def _view(self, row: AppointmentRow, *, with_reason: bool = True) -> AppointmentView:
        tz = zone_named(row.timezone)
        reason = self._reason(row) if with_reason else None
        return AppointmentView(
            id=row.id,
            practitioner_id=row.practitioner_id,
            patient_id=row.patient_id,
            visit_reason_id=reason[0] if reason else None,
            visit_reason=reason[1] if reason else None,
            start=in_zone(row.start_at, tz),
            end=in_zone(row.end_at, tz),
            status=row.status,
            channel=row.channel,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
            # the agenda's rows are the practitioner's own: no name or address to repeat
            practitioner_name=getattr(row, "display_name", ""),
            address=getattr(row, "address", ""),
            city=getattr(row, "city", ""),
            timezone=row.timezone,
            changes_until=changes_until(row, tz),
            relative_id=row.relative_id,
            relative_name=getattr(row, "relative_name", None),
            site_id=row.site_id,
        )

    def _view_for(self, principal: Principal, row: AppointmentRow) -> AppointmentView:
        """The appointment as ``principal`` may see it: the visit reason is for the patient and
        the practitioner (charter C6, C7), never for a third-party application, whatever its
        scopes (the consent page describes ``appointments:read`` as practitioner, date and time);
        nor whom a visit is for among the patient's relatives (a child's name was never part of
        what an application was allowed to read)."""
        view = self._view(row, with_reason=not principal.via_token)
        if principal.via_token:
            view = dataclasses.replace(view, relative_id=None, relative_name=None)
        return view
