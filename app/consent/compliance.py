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
from app.booking import service as booking_service
from app.consent.registry import Charter, Gate, PurposeId
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
        "/api/v1/me/practice/export",
        "/api/v1/appointments/{appointment_id}.ics",
    }
)
AUDIT_VERIFY_MAX_AGE = timedelta(days=2)
REVERSIBILITY_EXPORT = "/api/v1/me/practice/export"


@dataclass(frozen=True)
class ClauseStatus:
    id: str
    status: str
    evidence: str


@dataclass
class ComplianceContext:
    session: AsyncSession
    settings: Settings
    charter: Charter
    metadata: sa.MetaData
    static_dir: Path
    route_paths: list[str]


Check = Callable[[ComplianceContext], Awaitable[tuple[str, str]]]


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


async def _c1(ctx: ComplianceContext) -> tuple[str, str]:
    paid = _schema_matches(ctx.metadata, _PAID_WORDS)
    if paid or not _gates(ctx.charter, PurposeId.DEONTOLOGY, Gate.LISTING):
        return NOT_MET, f"paid-ranking fields {paid} or deontology not required for listing"
    return MANUAL, (
        "Automated part met: practitioners must accept the deontology commitment to be listed, and "
        "the schema has no paid-ranking field. A human should check that no paid offer changes "
        "access to care (pricing on the transparency page, contracts)."
    )


async def _c2(ctx: ComplianceContext) -> tuple[str, str]:
    if not _gates(ctx.charter, PurposeId.PROFILE_PUBLICATION, Gate.LISTING):
        return NOT_MET, "profile publication is not required for listing"
    return MET, "A profile is listed only once its practitioner granted profile-publication."


async def _c4(ctx: ComplianceContext) -> tuple[str, str]:
    problems: list[str] = []
    directives = {d.strip() for d in CONTENT_SECURITY_POLICY.split(";")}
    missing = _STRICT_CSP - directives
    if missing:
        problems.append(f"CSP lacks {sorted(missing)}")
    files = 0
    for path in sorted(ctx.static_dir.rglob("*")) if ctx.static_dir.is_dir() else []:
        if path.suffix not in {".html", ".js", ".mjs", ".css", ".svg"}:
            continue
        files += 1
        text = path.read_text("utf-8", errors="replace")
        name = path.relative_to(ctx.static_dir)
        if any(not match.group(1) for match in _EXTERNAL_REF.finditer(text)):
            problems.append(f"{name} references another origin")
        if path.suffix in {".html", ".svg"} and (
            _INLINE_SCRIPT.search(text) or _INLINE_HANDLER.search(text)
        ):
            problems.append(f"{name} has inline script")
        if path.suffix == ".html" and _INLINE_STYLE.search(text):
            problems.append(f"{name} has inline style")
    ads = _schema_matches(ctx.metadata, _PAID_WORDS)
    if ads:
        problems.append(f"advertising-like fields {ads}")
    if problems:
        return NOT_MET, "; ".join(problems)
    return MET, (
        f"CSP allows only 'self'; {files} served files reference no other origin and carry no "
        "inline script; no advertising field in the schema."
    )


async def _c5(ctx: ComplianceContext) -> tuple[str, str]:
    found = _schema_matches(ctx.metadata, _REVIEW_WORDS)
    if found:
        return NOT_MET, f"review or rating storage found: {found}"
    return MET, f"No review or rating table or column among {len(ctx.metadata.tables)} tables."


async def _c6(ctx: ComplianceContext) -> tuple[str, str]:
    found = _schema_matches(ctx.metadata, _FREE_TEXT_REASON)
    if found:
        return NOT_MET, f"free-text visit reason storage found: {found}"
    return MET, (
        "Visit reasons come from the practitioner's own list; no free-text reason column exists."
    )


async def _c8(ctx: ComplianceContext) -> tuple[str, str]:
    known = {p.value for p in PurposeId}
    offered = {p.id.value for p in ctx.charter.purposes}
    exports = sorted(
        path
        for path in ctx.route_paths
        if re.search(r"(export|analytics|stats|statistic|\.csv|\.ics|dump)", path, re.I)
        and path not in ALLOWED_EXPORT_ROUTES
    )
    if offered - known or exports:
        return NOT_MET, f"unexpected purposes {sorted(offered - known)} or exports {exports}"
    return MET, (
        f"Purposes are the closed list of {len(known)}; no analytics route; bulk exports are only "
        "the data subject's own, the practitioner's reversibility export and legal registers."
    )


async def _c9(ctx: ComplianceContext) -> tuple[str, str]:
    row = (
        await ctx.session.execute(
            sa.select(entry_table.c.at, entry_table.c.details)
            .where(entry_table.c.action == "audit.verified")
            .order_by(entry_table.c.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return NOT_MET, "the audit chain has not been verified yet (daily audit-verify job)"
    if '"ok":true' not in str(row.details):
        return NOT_MET, f"the last audit verification ({row.at.isoformat()}) found a broken chain"
    if clock.now() - row.at > AUDIT_VERIFY_MAX_AGE:
        return NOT_MET, f"the last audit verification is too old ({row.at.isoformat()})"
    return MET, (
        "MFA is mandatory for every account; TOTP seeds and visit reasons are encrypted at rest; "
        f"the tamper-evident audit trail verified at {row.at.isoformat()}."
    )


async def _c10(ctx: ComplianceContext) -> tuple[str, str]:
    s = ctx.settings
    if not s.financing.strip() or not s.operator_name.strip():
        return NOT_MET, "the transparency page lacks the operator or the financing statement"
    if s.is_production and "demo" in s.operator_name.lower():
        return NOT_MET, "the transparency page still names the demo operator"
    return MET, "The /transparency page states the operator, the DPO, the host and the financing."


async def _c11(ctx: ComplianceContext) -> tuple[str, str]:
    if not _gates(ctx.charter, PurposeId.PRACTITIONER_CONTRACT, Gate.LISTING):
        return NOT_MET, "the practitioner contract is not required for listing"
    return MET, "Practitioners accept the versioned contract before they can be listed or booked."


async def _c3(ctx: ComplianceContext) -> tuple[str, str]:
    found = await practice_service.directory_check(ctx.session)
    if found.without_directory_link:
        return NOT_MET, f"{found.without_directory_link} listed practitioners have no RPPS link"
    return MET, (
        f"All {found.listed} listed practitioners link to the official directory by their "
        "RPPS number (checked with its Luhn digit at registration)."
    )


async def _c7(ctx: ComplianceContext) -> tuple[str, str]:
    kept = await booking_service.kept_visit_reasons(ctx.session, ctx.settings)
    if kept:
        return NOT_MET, f"{kept} visit reasons are kept past their grace or after a cancellation"
    return MET, (
        f"No visit reason is kept past the appointment + {ctx.settings.visit_reason_grace_hours} h "
        "(the hourly retention job) or after a cancellation."
    )


async def _c12(ctx: ComplianceContext) -> tuple[str, str]:
    if REVERSIBILITY_EXPORT not in ctx.route_paths:
        return NOT_MET, "the practitioner's reversibility export is not served"
    return MET, (
        f"{REVERSIBILITY_EXPORT} gives the agenda and patient contacts as a FHIR-shaped JSON "
        "Bundle, to the practitioner, at any time."
    )


async def _c13(ctx: ComplianceContext) -> tuple[str, str]:
    found = await practice_service.directory_check(ctx.session)
    if found.off_the_list:
        return NOT_MET, f"{found.off_the_list} listed profiles use a profession off the fixed list"
    return MET, (
        "Professions and specialties come from one fixed list and search filters on them "
        f"exactly; all {found.listed} listed profiles use it."
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


async def report(ctx: ComplianceContext) -> list[ClauseStatus]:
    """Every clause in charter order; C14 (the badge) last, from the others."""
    lines: list[ClauseStatus] = []
    for clause in ctx.charter.clauses:
        if clause.id == "C14":
            continue
        check = _CHECKS.get(clause.id)
        if check is None:
            status, evidence = NOT_MET, "this clause has no check"
        else:
            status, evidence = await check(ctx)
        lines.append(ClauseStatus(clause.id, status, evidence))
    failing = [line.id for line in lines if line.status == NOT_MET]
    badge = (
        ClauseStatus("C14", MET, "Every automated check is met: the e-RDV badge may be shown.")
        if not failing
        else ClauseStatus("C14", NOT_MET, f"Badge withheld: {', '.join(failing)} not met.")
    )
    return [*lines, badge]
