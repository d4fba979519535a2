"""Consent: the registry synced into the database, decisions, and the gates built on them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.models import ConsentPurposeVersion
from app.consent.registry import Charter, CharterError
from app.consent.repository import ConsentRepository
from app.core import clock


async def sync_registry(session: AsyncSession, charter: Charter) -> int:
    """Record every current (purpose, version) not yet in the database; return how many were new.

    A version already recorded with another text hash means a text was edited without raising its
    version: erdv refuses to start rather than let earlier consents point at a text nobody saw.
    """
    repository = ConsentRepository(session)
    known = {(row.purpose_id, row.version): row for row in await repository.purpose_versions()}
    new: list[ConsentPurposeVersion] = []
    for purpose in charter.purposes:
        existing = known.get((purpose.id.value, purpose.version))
        if existing is not None:
            if (existing.text_sha256, existing.text_en_sha256) != (
                purpose.text_sha256,
                purpose.text_en_sha256,
            ):
                raise CharterError(
                    f"purposes/{purpose.id.value}.toml",
                    "text",
                    f"version {purpose.version} was recorded with another text; raise its version",
                )
            continue
        new.append(
            ConsentPurposeVersion(
                purpose_id=purpose.id.value,
                version=purpose.version,
                audience=purpose.audience.value,
                kind=purpose.kind.value,
                required_for=purpose.required_for.value if purpose.required_for else None,
                clause_ids=",".join(purpose.clause_ids),
                text_sha256=purpose.text_sha256,
                text_en_sha256=purpose.text_en_sha256,
                registered_at=clock.now(),
            )
        )
    if new:
        await repository.add_purpose_versions(new)
    return len(new)
