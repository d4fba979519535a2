"""Demo practices for ``erdv demo``: approved, listed practitioners of several professions in Paris
and Lyon, with visit reasons, opening hours and a few bookings for the demo patient.

Idempotent: a practitioner that already has visit reasons is left alone, and the demo patient gets
bookings only while they have none. The extra practitioners get random passwords nobody knows (they
exist to be found and booked); nothing secret is printed.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Role
from app.accounts.password_policy import rpps_with_check_digit
from app.accounts.principal import Principal
from app.accounts.repository import AccountRepository
from app.audit.service import Actor, AuditTrail
from app.booking.appointments import AppointmentService
from app.booking.directory import DirectoryService
from app.charter.model import Gate
from app.charter.registry import default_charter
from app.consent.service import Decision, decide, missing_purposes
from app.core import clock
from app.core.hashing import PasswordHasher
from app.core.settings import Settings
from app.demo.report import DemoReport
from app.practice.models import PracticeStatus, Site, VisitReason
from app.practice.profile import postcode_in, search_key
from app.practice.repository import PracticeRepository
from app.practice.service import MAIN_SITE_LABEL, ensure_all

DEMO_PATIENT = "patient@demo.erdv.localhost"


# (email, name, profession, specialty, city, address, [(reason, minutes)])
DEMO_PRACTICES = (
    (
        "practitioner@demo.erdv.localhost",
        "Dr Alix Bernard",
        "medecin",
        "medecine-generale",
        "Paris",
        "12 rue de Rivoli, 75004 Paris",
        [("Consultation", 20), ("Renouvellement d'ordonnance", 15)],
    ),
    (
        "gyneco.paris@demo.erdv.localhost",
        "Dr Claire Moreau",
        "medecin",
        "gynecologie-medicale",
        "Paris",
        "8 boulevard Voltaire, 75011 Paris",
        [("Consultation de suivi", 30), ("Première consultation", 45)],
    ),
    (
        "sagefemme.paris@demo.erdv.localhost",
        "Inès Lefèvre",
        "sage-femme",
        None,
        "Paris",
        "3 rue Oberkampf, 75011 Paris",
        [("Suivi de grossesse", 30), ("Rééducation périnéale", 30)],
    ),
    (
        "pediatre.lyon@demo.erdv.localhost",
        "Dr Hugo Garnier",
        "medecin",
        "pediatrie",
        "Lyon",
        "20 rue de la République, 69002 Lyon",
        [("Consultation enfant", 20), ("Vaccination", 15)],
    ),
    (
        "kine.lyon@demo.erdv.localhost",
        "Léa Fontaine",
        "masseur-kinesitherapeute",
        None,
        "Lyon",
        "5 quai Saint-Antoine, 69002 Lyon",
        [("Séance de rééducation", 30)],
    ),
    (
        "dentiste.lyon@demo.erdv.localhost",
        "Dr Nadia Roux",
        "chirurgien-dentiste",
        "chirurgie-dentaire",
        "Lyon",
        "14 cours Lafayette, 69003 Lyon",
        [("Contrôle", 30), ("Détartrage", 30)],
    ),
)


async def seed_demo_practices(
    session: AsyncSession, settings: Settings, report: DemoReport
) -> None:
    accounts = AccountRepository(session)
    practices = PracticeRepository(session)
    audit = AuditTrail.for_settings(session, settings)
    hasher = PasswordHasher(settings)
    report.add("Demo practitioners (listed, bookable):")
    try:
        for number, (email, name, profession, specialty, city, address, reasons) in enumerate(
            DEMO_PRACTICES
        ):
            account = await accounts.by_email(email)
            if account is None:
                now = clock.now()
                account = await accounts.add(
                    Account(
                        email=email,
                        role=Role.PRACTITIONER.value,
                        full_name=name,
                        rpps=rpps_with_check_digit(f"10000001{number:02d}"),
                        password_hash=await hasher.hash(secrets.token_urlsafe(24)),
                        email_verified_at=now,
                        password_changed_at=now,
                        created_at=now,
                    )
                )
            await ensure_all(session, account.id)
            if not await practices.visit_reasons(account.id):
                ids = []
                for label, minutes in reasons:
                    reason = VisitReason(
                        practitioner_id=account.id,
                        label=label,
                        duration_minutes=minutes,
                        created_at=clock.now(),
                    )
                    await practices.add_visit_reason(reason)
                    ids.append(str(reason.id))
                site = Site(
                    practitioner_id=account.id,
                    label=MAIN_SITE_LABEL,
                    address=address,
                    city=city,
                    city_key=search_key(city),
                    postcode=postcode_in(address),
                    created_at=clock.now(),
                )
                await practices.add_site(site)
                weekly = [
                    {
                        "weekday": d,
                        "start": start,
                        "end": end,
                        "visit_reason_ids": ids,
                        "site_id": str(site.id),
                    }
                    for d in range(5)
                    for start, end in (("09:00", "12:00"), ("14:00", "18:00"))
                ]
                await practices.update(
                    account.id,
                    display_name=name,
                    search_name=search_key(name),
                    profession=profession,
                    specialty=specialty,
                    city=city,
                    city_key=search_key(city),
                    address=address,
                    convention_sector="1",
                    fees="Tarifs conventionnés, secteur 1",
                    min_notice_minutes=60,
                    max_horizon_days=60,
                    cancel_deadline_minutes=1440,
                    status=PracticeStatus.APPROVED.value,
                    weekly=json.dumps(weekly),
                    site_zones=json.dumps({str(site.id): site.timezone}),
                    updated_at=clock.now(),
                )
            for purpose_id in await missing_purposes(session, account.id, Gate.LISTING):
                await decide(
                    session,
                    audit,
                    account_id=account.id,
                    audience="practitioner",
                    actor=Actor.account(account.id, Role.PRACTITIONER.value),
                    purpose_id=purpose_id,
                    purpose_version=default_charter().purpose(purpose_id).version,
                    decision=Decision.GRANT,
                )
            report.add(f"  {name:<22} {profession:<26} {city}")
        await _demo_bookings(session, settings, audit, report)
    finally:
        hasher.close()


async def _demo_bookings(
    session: AsyncSession, settings: Settings, audit: AuditTrail, report: DemoReport
) -> None:
    patient = await AccountRepository(session).by_email(DEMO_PATIENT)
    if patient is None:
        return
    for purpose_id in await missing_purposes(session, patient.id, Gate.BOOKING):
        await decide(
            session,
            audit,
            account_id=patient.id,
            audience="patient",
            actor=Actor.account(patient.id, Role.PATIENT.value),
            purpose_id=purpose_id,
            purpose_version=default_charter().purpose(purpose_id).version,
            decision=Decision.GRANT,
        )
    principal = Principal(
        account_id=patient.id,
        role=Role.PATIENT,
        display_name=patient.full_name,
        session_id=None,
        actor=Actor.account(patient.id, Role.PATIENT.value),
    )
    service = AppointmentService(session, settings, audit)
    directory = DirectoryService(session, settings, audit)
    if await service.my_appointments(principal, upcoming=True):
        return await _report(service, principal, report)
    booked = 0
    for email, *_ in DEMO_PRACTICES[:2]:
        practitioner = await AccountRepository(session).by_email(email)
        if practitioner is None:
            continue
        start = clock.now() + timedelta(days=2)
        free = (
            await directory.slots(practitioner.id, start, start + timedelta(days=7), None)
        ).as_slots()
        if free:
            await service.book(
                principal,
                practitioner_id=practitioner.id,
                visit_reason_id=uuid.UUID(free[0].visit_reason_id),
                start=free[0].start,
                idempotency_key=None,
            )
            booked += 1
    await _report(service, principal, report)


async def _report(service: AppointmentService, principal: Principal, report: DemoReport) -> None:
    """The same line on every run (the seed is idempotent, and so is what it prints)."""
    upcoming = await service.my_appointments(principal, upcoming=True)
    report.add(f"  {DEMO_PATIENT} has {len(upcoming)} upcoming demo appointment(s)")
