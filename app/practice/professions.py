"""The fixed list of professions and specialties profiles use (charter C13).

A profile names one profession and, where the profession has specialties, exactly one of them, by
id. Search filters on these ids by equality: a search for a gynaecology specialty matches physicians
with that specialty and nothing else, so a midwife (profession ``sage-femme``) can never appear in it,
however her profile is worded. Ids are stable; labels are French because the directory is French.
Specialty ids are unique across professions, so a specialty alone also names its profession.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Specialty:
    id: str
    label: str


@dataclass(frozen=True)
class Profession:
    id: str
    label: str
    specialties: tuple[Specialty, ...] = ()


PROFESSIONS: Final[tuple[Profession, ...]] = (
    Profession(
        "medecin",
        "Médecin",
        (
            Specialty("medecine-generale", "Médecine générale"),
            Specialty("gynecologie-medicale", "Gynécologie médicale"),
            Specialty("gynecologie-obstetrique", "Gynécologie obstétrique"),
            Specialty("pediatrie", "Pédiatrie"),
            Specialty("dermatologie", "Dermatologie et vénéréologie"),
            Specialty("psychiatrie", "Psychiatrie"),
            Specialty("ophtalmologie", "Ophtalmologie"),
            Specialty("cardiologie", "Cardiologie et maladies vasculaires"),
        ),
    ),
    Profession("sage-femme", "Sage-femme"),
    Profession(
        "chirurgien-dentiste",
        "Chirurgien-dentiste",
        (
            Specialty("chirurgie-dentaire", "Chirurgie dentaire (omnipratique)"),
            Specialty("orthopedie-dento-faciale", "Orthopédie dento-faciale"),
        ),
    ),
    Profession("masseur-kinesitherapeute", "Masseur-kinésithérapeute"),
    Profession("infirmier", "Infirmier"),
    Profession("orthophoniste", "Orthophoniste"),
    Profession("pedicure-podologue", "Pédicure-podologue"),
)

_BY_ID: Final = {p.id: p for p in PROFESSIONS}
#: specialty id -> profession id
SPECIALTY_PROFESSION: Final = {s.id: p.id for p in PROFESSIONS for s in p.specialties}


def profession(profession_id: str) -> Profession | None:
    return _BY_ID.get(profession_id)


def check_pair(profession_id: str | None, specialty_id: str | None) -> str | None:
    """Why (profession, specialty) is not a valid pair, or None when it is.

    A profession with specialties needs one of its own; a profession without any takes none.
    """
    if profession_id is None:
        return "a specialty needs a profession" if specialty_id is not None else None
    found = _BY_ID.get(profession_id)
    if found is None:
        return f"unknown profession {profession_id!r}"
    ids = {s.id for s in found.specialties}
    if not ids:
        return f"{profession_id!r} has no specialties" if specialty_id is not None else None
    if specialty_id is None:
        return f"{profession_id!r} needs a specialty, one of: {', '.join(sorted(ids))}"
    if specialty_id not in ids:
        return f"{specialty_id!r} is not a specialty of {profession_id!r}"
    return None


def specialty_label(specialty_id: str) -> str | None:
    owner = _BY_ID.get(SPECIALTY_PROFESSION.get(specialty_id, ""))
    return (
        next((s.label for s in owner.specialties if s.id == specialty_id), None) if owner else None
    )
