"""The compliance report: one line per charter clause, computed from the running system.

Each clause has a check that looks at what erdv actually is right now (the schema, the data, the
served files, the security headers, the settings, the audit chain), not at what the documentation
says. A check answers ``met`` or ``not_met`` with the evidence it saw; a clause that no program can
judge says ``manual`` and tells a human what to look at. The e-RDV badge (C14) is shown only when
every automated check is met.

Checks are cheap (a few indexed queries, a scan of ``static/``): the report is public. The audit
chain itself is not recomputed here (that is O(entries)); the daily ``audit-verify`` job records
its result in the trail, and C9 reads the latest one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import entry_table
from app.booking import closing
from app.booking import retention as booking_retention
from app.charter.model import Charter, Gate, PurposeId
from app.core import clock
from app.core.middleware import CONTENT_SECURITY_POLICY
from app.core.settings import Settings
from app.practice import service as practice_service

MET, NOT_MET, MANUAL = "met", "not_met", "manual"

#: Words that would betray a review, rating or paid-ranking feature in the schema (C1, C4, C5).
#: Matched against whole ``_``-separated words of table and column names.
_REVIEW_WORDS = frozenset(
    {"review", "reviews", "rating", "ratings", "star", "stars", "avis", "score", "testimonial"}
)
_PAID_WORDS = frozenset(
    {"sponsor", "sponsored", "promoted", "boost", "advert", "advertising", "ad", "ads", "featured"}
)
#: A column that could hold a visit reason in clear (C6, C7): only the encrypted one may exist.
_FREE_TEXT_REASON = frozenset({"motif", "symptom", "symptoms", "complaint", "free", "freetext"})
#: References to another origin in served files: any quoted or ``url(...)`` absolute or
#: protocol-relative URL (attributes, CSS, ES module imports, fetch calls), except XML namespaces.
_EXTERNAL_REF = re.compile(r"""(xmlns(?::\w+)?\s*=\s*)?["'(`]\s*((?:https?:)?//[^"'`)\s]+)""", re.I)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.I)
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
_INLINE_STYLE = re.compile(r"(<style\b|\sstyle\s*=)", re.I)
_STRICT_CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
}
#: The only routes that may hand out bulk data (C8): the data subject's own, the practitioner's
#: reversibility export, and the admin's legal registers. Anything else named like an export fails.
ALLOWED_EXPORT_ROUTES = frozenset(
    {
        "/api/v1/admin/audit",
        "/api/v1/admin/consent-log",
        "/api/v1/admin/practices/{practice_id}/export",
        # the practitioner's own agenda, in the calendar application they subscribe it to
        "/api/v1/calendar/{token}.ics",
        "/api/v1/me/export",
        "/api/v1/me/practice/export",
        "/api/v1/appointments/{appointment_id}.ics",
    }
)
AUDIT_VERIFY_MAX_AGE = timedelta(days=2)
REVERSIBILITY_EXPORT = "/api/v1/me/practice/export"
#: the same export of a closed practice, during the delay (``app.booking.closing``)
CLOSED_EXPORT = "/api/v1/admin/practices/{practice_id}/export"


@dataclass(frozen=True)
class Said:
    """Evidence in the two languages of the interface: the report is read by admins and by the
    public, in French or English (``GET /api/v1/charter/compliance?lang=``)."""

    en: str
    fr: str

    def in_language(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True)
class ClauseStatus:
    id: str
    status: str
    evidence: Said


@dataclass
class ReportInputs:
    session: AsyncSession
    settings: Settings
    charter: Charter
    metadata: sa.MetaData
    static_dir: Path
    route_paths: list[str]


Check = Callable[[ReportInputs], Awaitable[tuple[str, Said]]]


def _columns(metadata: sa.MetaData) -> Iterable[tuple[str, str]]:
    for table in metadata.sorted_tables:
        yield table.name, ""
        for column in table.columns:
            yield table.name, column.name


def _schema_matches(metadata: sa.MetaData, words: frozenset[str]) -> list[str]:
    return sorted(
        f"{table}.{column}" if column else table
        for table, column in _columns(metadata)
        if words & set((column or table).lower().split("_"))
    )


def _gates(charter: Charter, purpose: PurposeId, gate: Gate) -> bool:
    return any(p.id is purpose for p in charter.purposes_required_for(gate))


async def _c1(ctx: ReportInputs) -> tuple[str, Said]:
    paid = _schema_matches(ctx.metadata, _PAID_WORDS)
    if paid or not _gates(ctx.charter, PurposeId.DEONTOLOGY, Gate.LISTING):
        return NOT_MET, Said(
            f"paid-ranking fields {paid} or deontology not required for listing",
            f"champs de classement payant {paid}, ou déontologie non exigée pour être listé",
        )
    return MANUAL, Said(
        "Automated part met: practitioners must accept the deontology commitment to be listed, and "
        "the schema has no paid-ranking field. A human should check that no paid offer changes "
        "access to care (pricing on the transparency page, contracts).",
        "Partie automatique respectée : un professionnel doit accepter l'engagement déontologique "
        "pour être listé, et le schéma n'a aucun champ de classement payant. Une personne doit "
        "vérifier qu'aucune offre payante ne change l'accès aux soins (tarifs sur la page de "
        "transparence, contrats).",
    )


#: C2's presentation space: what the practitioner supplies and the profile publishes
PROFILE_FIELDS = ("profession", "specialty", "titles", "practice_mode")


async def _c2(ctx: ReportInputs) -> tuple[str, Said]:
    if not _gates(ctx.charter, PurposeId.PROFILE_PUBLICATION, Gate.LISTING):
        return NOT_MET, Said(
            "profile publication is not required for listing",
            "l'accord de publication du profil n'est pas exigé pour être listé",
        )
    practice = ctx.metadata.tables.get("practice")
    missing = [f for f in PROFILE_FIELDS if practice is None or f not in practice.c]
    if missing:
        return NOT_MET, Said(
            f"the profile cannot hold {missing}",
            f"le profil ne peut pas indiquer {missing}",
        )
    return MET, Said(
        "A profile is listed only once its practitioner granted profile-publication; it states "
        "the profession, specialty, titles and mode of practice the practitioner supplies, and "
        "each change is live at once and audited.",
        "Un profil n'est listé qu'une fois son professionnel d'accord pour le publier ; il "
        "indique la profession, la spécialité, les titres et le mode d'exercice que le "
        "professionnel renseigne, et chaque modification est immédiate et tracée.",
    )


async def _c4(ctx: ReportInputs) -> tuple[str, Said]:
    problems: list[Said] = []
    directives = {d.strip() for d in CONTENT_SECURITY_POLICY.split(";")}
    missing = sorted(_STRICT_CSP - directives)
    if missing:
        problems.append(Said(f"CSP lacks {missing}", f"il manque {missing} à la CSP"))
    files = 0
    for path in sorted(ctx.static_dir.rglob("*")) if ctx.static_dir.is_dir() else []:
        if path.suffix not in {".html", ".js", ".mjs", ".css", ".svg"}:
            continue
        files += 1
        text = path.read_text("utf-8", errors="replace")
        name = path.relative_to(ctx.static_dir)
        if any(not match.group(1) for match in _EXTERNAL_REF.finditer(text)):
            problems.append(
                Said(f"{name} references another origin", f"{name} renvoie à une autre origine")
            )
        if path.suffix in {".html", ".svg"} and (
            _INLINE_SCRIPT.search(text) or _INLINE_HANDLER.search(text)
        ):
            problems.append(Said(f"{name} has inline script", f"{name} a un script en ligne"))
        if path.suffix == ".html" and _INLINE_STYLE.search(text):
            problems.append(Said(f"{name} has inline style", f"{name} a un style en ligne"))
    ads = _schema_matches(ctx.metadata, _PAID_WORDS)
    if ads:
        problems.append(Said(f"advertising-like fields {ads}", f"champs publicitaires {ads}"))
    if problems:
        return NOT_MET, Said("; ".join(p.en for p in problems), " ; ".join(p.fr for p in problems))
    return MET, Said(
        f"CSP allows only 'self'; {files} served files reference no other origin and carry no "
        "inline script; no advertising field in the schema.",
        f"La CSP n'autorise que 'self' ; {files} fichiers servis ne renvoient à aucune autre "
        "origine et n'ont aucun script en ligne ; aucun champ publicitaire dans le schéma.",
    )


async def _c5(ctx: ReportInputs) -> tuple[str, Said]:
    found = _schema_matches(ctx.metadata, _REVIEW_WORDS)
    if found:
        return NOT_MET, Said(
            f"review or rating storage found: {found}",
            f"stockage d'avis ou de notes trouvé : {found}",
        )
    tables = len(ctx.metadata.tables)
    return MET, Said(
        f"No review or rating table or column among {tables} tables.",
        f"Aucune table ni colonne d'avis ou de notes parmi {tables} tables.",
    )


async def _c6(ctx: ReportInputs) -> tuple[str, Said]:
    found = _schema_matches(ctx.metadata, _FREE_TEXT_REASON)
    if found:
        return NOT_MET, Said(
            f"free-text visit reason storage found: {found}",
            f"stockage d'un motif en texte libre trouvé : {found}",
        )
    mixed = (await practice_service.directory_check(ctx.session)).asking_and_generic
    if mixed:
        return NOT_MET, Said(
            f"{mixed} practices offer their generic reason beside reasons to pick",
            f"{mixed} cabinets proposent leur motif générique à côté de motifs à choisir",
        )
    return MET, Said(
        "Visit reasons come from the practitioner's own list, asked only if the practitioner "
        "wants one (otherwise one generic reason alone, which says nothing of why); no "
        "free-text reason column exists.",
        "Les motifs viennent de la liste du professionnel, demandés seulement s'il le souhaite "
        "(sinon un motif générique seul, qui ne dit rien de la raison) ; aucune colonne de motif "
        "en texte libre n'existe.",
    )


async def _c8(ctx: ReportInputs) -> tuple[str, Said]:
    known = {p.value for p in PurposeId}
    offered = {p.id.value for p in ctx.charter.purposes}
    exports = sorted(
        path
        for path in ctx.route_paths
        if re.search(r"(export|analytics|stats|statistic|\.csv|\.ics|dump)", path, re.I)
        and path not in ALLOWED_EXPORT_ROUTES
    )
    if offered - known or exports:
        unexpected = sorted(offered - known)
        return NOT_MET, Said(
            f"unexpected purposes {unexpected} or exports {exports}",
            f"finalités {unexpected} ou exports {exports} inattendus",
        )
    return MET, Said(
        f"Purposes are the closed list of {len(known)}; no analytics route; bulk exports are only "
        "the data subject's own, the practitioner's reversibility export and legal registers.",
        f"Les finalités sont la liste fermée de {len(known)} ; aucune route statistique ; les "
        "seuls exports en masse sont ceux de la personne concernée, l'export de réversibilité du "
        "professionnel et les registres légaux.",
    )


async def _c9(ctx: ReportInputs) -> tuple[str, Said]:
    row = (
        await ctx.session.execute(
            sa.select(entry_table.c.at, entry_table.c.details)
            .where(entry_table.c.action == "audit.verified")
            .order_by(entry_table.c.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return NOT_MET, Said(
            "the audit chain has not been verified yet (daily audit-verify job)",
            "la chaîne d'audit n'a pas encore été vérifiée (tâche quotidienne audit-verify)",
        )
    at = row.at.isoformat()
    if '"ok":true' not in str(row.details):
        return NOT_MET, Said(
            f"the last audit verification ({at}) found a broken chain",
            f"la dernière vérification de l'audit ({at}) a trouvé une chaîne rompue",
        )
    if clock.now() - row.at > AUDIT_VERIFY_MAX_AGE:
        return NOT_MET, Said(
            f"the last audit verification is too old ({at})",
            f"la dernière vérification de l'audit est trop ancienne ({at})",
        )
    return MET, Said(
        "MFA is mandatory for every account; TOTP seeds and visit reasons are encrypted at rest; "
        f"the tamper-evident audit trail verified at {at}.",
        "La double authentification est obligatoire pour tous ; les secrets TOTP et les motifs "
        f"sont chiffrés au repos ; la piste d'audit infalsifiable a été vérifiée le {at}.",
    )


async def _c10(ctx: ReportInputs) -> tuple[str, Said]:
    s = ctx.settings
    if not s.financing.strip() or not s.operator_name.strip():
        return NOT_MET, Said(
            "the transparency page lacks the operator or the financing statement",
            "la page de transparence ne nomme pas l'opérateur ou son financement",
        )
    if not s.price.strip() or not any(line.strip() for line in s.subprocessors):
        return NOT_MET, Said(
            "the transparency page lacks the price or the list of sub-processors",
            "la page de transparence ne donne pas le prix ou la liste des sous-traitants",
        )
    if s.is_production and "demo" in s.operator_name.lower():
        return NOT_MET, Said(
            "the transparency page still names the demo operator",
            "la page de transparence nomme encore l'opérateur de démonstration",
        )
    demo = Settings.model_fields
    if s.is_production and (
        s.price == demo["price"].default
        or s.subprocessors == demo["subprocessors"].get_default(call_default_factory=True)
    ):
        return NOT_MET, Said(
            "the transparency page still gives the demo's price or sub-processors",
            "la page de transparence donne encore le prix ou les sous-traitants de la démonstration",
        )
    return MET, Said(
        "The /transparency page states the operator, the DPO, the host, the financing, the "
        "price and the sub-processors.",
        "La page /transparency nomme l'opérateur, le DPO, l'hébergeur, le financement, le prix "
        "et les sous-traitants.",
    )


async def _c11(ctx: ReportInputs) -> tuple[str, Said]:
    if not _gates(ctx.charter, PurposeId.PRACTITIONER_CONTRACT, Gate.LISTING):
        return NOT_MET, Said(
            "the practitioner contract is not required for listing",
            "le contrat praticien n'est pas exigé pour être listé",
        )
    return MET, Said(
        "Practitioners accept the versioned contract before they can be listed or booked.",
        "Les professionnels acceptent le contrat versionné avant d'être listés ou réservables.",
    )


async def _c3(ctx: ReportInputs) -> tuple[str, Said]:
    found = await practice_service.directory_check(ctx.session)
    if found.without_directory_link:
        n = found.without_directory_link
        return NOT_MET, Said(
            f"{n} listed practitioners have no RPPS link",
            f"{n} professionnels listés n'ont pas de lien RPPS",
        )
    return MET, Said(
        f"All {found.listed} listed practitioners link to the official directory by their "
        "RPPS number (checked with its Luhn digit at registration).",
        f"Les {found.listed} professionnels listés renvoient à l'annuaire officiel par leur "
        "numéro RPPS (clé de Luhn vérifiée à l'inscription).",
    )


async def _c7(ctx: ReportInputs) -> tuple[str, Said]:
    kept = await booking_retention.kept_visit_reasons(ctx.session, ctx.settings)
    if kept:
        return NOT_MET, Said(
            f"{kept} visit reasons are kept past their grace or after a cancellation",
            f"{kept} motifs sont gardés au-delà du délai ou après une annulation",
        )
    lengths = await booking_retention.kept_lengths(ctx.session, ctx.settings)
    if lengths:
        return NOT_MET, Said(
            f"{lengths} past visits still keep their length, which can name the reason",
            f"{lengths} rendez-vous passés gardent leur durée, qui peut nommer le motif",
        )
    hours = ctx.settings.visit_reason_grace_hours
    return MET, Said(
        f"No visit reason is kept past the appointment + {hours} h "
        "(the hourly retention job) or after a cancellation, nor the visit's length.",
        f"Aucun motif n'est gardé au-delà du rendez-vous + {hours} h "
        "(tâche de rétention horaire) ni après une annulation, ni la durée du rendez-vous.",
    )


async def _c12(ctx: ReportInputs) -> tuple[str, Said]:
    if REVERSIBILITY_EXPORT not in ctx.route_paths or CLOSED_EXPORT not in ctx.route_paths:
        return NOT_MET, Said(
            "the practitioner's reversibility export is not served",
            "l'export de réversibilité du professionnel n'est pas servi",
        )
    listed = (await practice_service.directory_check(ctx.session)).closed
    if listed:
        return NOT_MET, Said(
            f"{listed} closed practices are still listed",
            f"{listed} cabinets fermés sont encore listés",
        )
    overdue = await closing.overdue_closed_practices(ctx.session, ctx.settings)
    days = ctx.settings.practice_closing_days
    if overdue:
        return NOT_MET, Said(
            f"{overdue} closed practices keep their data past {days} days",
            f"{overdue} cabinets fermés gardent leurs données au-delà de {days} jours",
        )
    return MET, Said(
        f"{REVERSIBILITY_EXPORT} gives the agenda and patient contacts as a FHIR-shaped JSON "
        "Bundle, to the practitioner, at any time; a closed practice leaves the directory at "
        f"once, and what was kept on its behalf goes {days} days later (the export is still "
        "possible meanwhile, on request).",
        f"{REVERSIBILITY_EXPORT} donne à tout moment au professionnel son agenda et les "
        "coordonnées de ses patients (Bundle JSON de forme FHIR) ; un cabinet fermé quitte "
        f"l'annuaire aussitôt, et ce qui était gardé pour son compte part {days} jours plus tard "
        "(l'export reste possible entre-temps, sur demande).",
    )


async def _c13(ctx: ReportInputs) -> tuple[str, Said]:
    found = await practice_service.directory_check(ctx.session)
    if found.off_the_list:
        n = found.off_the_list
        return NOT_MET, Said(
            f"{n} listed profiles use a profession off the fixed list",
            f"{n} profils listés utilisent une profession hors de la liste fixe",
        )
    return MET, Said(
        "Professions and specialties come from one fixed list and search filters on them "
        f"exactly; all {found.listed} listed profiles use it.",
        "Professions et spécialités viennent d'une liste fixe et la recherche les filtre "
        f"exactement ; les {found.listed} profils listés l'utilisent.",
    )


_CHECKS: dict[str, Check] = {
    "C1": _c1,
    "C2": _c2,
    "C3": _c3,
    "C4": _c4,
    "C5": _c5,
    "C6": _c6,
    "C7": _c7,
    "C8": _c8,
    "C9": _c9,
    "C10": _c10,
    "C11": _c11,
    "C12": _c12,
    "C13": _c13,
}


async def report(ctx: ReportInputs) -> list[ClauseStatus]:
    """Every clause in charter order; C14 (the badge) last, from the others."""
    lines: list[ClauseStatus] = []
    for clause in ctx.charter.clauses:
        if clause.id == "C14":
            continue
        check = _CHECKS.get(clause.id)
        if check is None:
            status, evidence = NOT_MET, Said("this clause has no check", "aucun contrôle")
        else:
            status, evidence = await check(ctx)
        lines.append(ClauseStatus(clause.id, status, evidence))
    failing = [line.id for line in lines if line.status == NOT_MET]
    clauses = ", ".join(failing)
    badge = (
        ClauseStatus(
            "C14",
            MET,
            Said(
                "Every automated check is met: the e-RDV badge may be shown.",
                "Tous les contrôles automatiques sont respectés : le badge e-RDV peut être "
                "affiché.",
            ),
        )
        if not failing
        else ClauseStatus(
            "C14",
            NOT_MET,
            Said(
                f"Badge withheld: {clauses} not met.",
                f"Badge retenu : {clauses} non respecté(s).",
            ),
        )
    )
    return [*lines, badge]
