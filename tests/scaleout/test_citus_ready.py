"""Citus readiness (issue 29): the schema and the booking path fit the distribution plan
(``app/distribution.py``, docs/scaling.md "Citus distribution plan").

No Citus server runs here, so the rules Citus enforces when a table is distributed are checked on
what erdv has: the tables' keys in the models (which ``tests/test_migrations.py`` holds equal to the
migrated schema), and the SQL the booking path really sends, captured on both databases and read
with sqlglot. Any breach fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlglot
from fastapi import FastAPI
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from app.core.settings import Settings
from app.distribution import DISTRIBUTED, LOCAL, REFERENCE, citus_statements, unplanned
from app.models import metadata
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, slots
from tests.helpers.cli import run_erdv
from tests.helpers.statements import counting


def schema_breaches() -> set[str]:
    """What Citus would refuse in the schema when distributing the plan's tables."""
    out: set[str] = set()
    for name, column in DISTRIBUTED.items():
        table = metadata.tables[name]
        if column not in table.primary_key.columns:
            out.add(f"{name}: primary key lacks {column}")
        uniques = [(ix.name, [c.name for c in ix.columns]) for ix in table.indexes if ix.unique] + [
            (uc.name, [c.name for c in uc.columns])
            for uc in table.constraints
            if isinstance(uc, sa.UniqueConstraint)
        ]
        for index, columns in uniques:
            if column not in columns:
                out.add(f"{name}: unique {index} lacks {column}")
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target in REFERENCE:
                continue
            pairs = {(c.name, e.column.name) for c, e in zip(fk.columns, fk.elements, strict=True)}
            if target not in DISTRIBUTED or (column, DISTRIBUTED[target]) not in pairs:
                out.add(f"{name}: foreign key {fk.name} to {target} is not on {column}")
    return out


def test_every_table_is_placed_and_erdv_citus_plan_prints_the_statements(
    cli_env: dict[str, str],
) -> None:
    assert unplanned() == set(), "place each new table in app/distribution.py"
    assert not (set(DISTRIBUTED) & (REFERENCE | LOCAL))
    assert not (REFERENCE & LOCAL)
    printed = run_erdv("citus-plan", env=cli_env)
    assert printed.returncode == 0, printed.stderr
    statements = printed.stdout.splitlines()
    assert statements == citus_statements()
    # reference tables, then practice, then what is colocated with it
    assert statements[: len(REFERENCE)] == [
        f"SELECT create_reference_table('{name}');" for name in sorted(REFERENCE)
    ]
    assert statements[len(REFERENCE)] == "SELECT create_distributed_table('practice', 'id');"
    colocated = statements[len(REFERENCE) + 1 :]
    assert len(colocated) == len(DISTRIBUTED) - 1
    assert all("colocate_with => 'practice'" in s for s in colocated)


def test_distributed_tables_key_on_the_practitioner() -> None:
    assert schema_breaches() == set()


# ---------------------------------------------------------------------------------------------
# the booking path's statements


def _table_of(scope: Scope, alias: str) -> str | None:
    """The table an alias names in ``scope`` or an enclosing one (correlated subqueries)."""
    here: Scope | None = scope
    while here is not None:
        source = here.sources.get(alias)
        if isinstance(source, exp.Table):
            return source.name
        if source is not None:
            return None  # a derived table: checked in its own scope
        here = here.parent
    return None


def _breaches(sql: str, dialect: str) -> set[str]:
    out: set[str] = set()
    for statement in sqlglot.parse(sql, read=dialect):
        if statement is None:
            continue
        for scope in traverse_scope(statement):
            out |= _scope_breaches(scope)
    return out


def _scope_breaches(scope: Scope) -> set[str]:
    """Within one SELECT: a local table beside a distributed one, or two distributed tables (its
    own, or an enclosing query's that it correlates with) not equated on the practitioner."""
    own = {
        alias: source.name
        for alias, source in scope.sources.items()
        if isinstance(source, exp.Table)
    }
    distributed = {alias for alias, name in own.items() if name in DISTRIBUTED}
    local = {name for name in own.values() if name in LOCAL}
    out = {f"{sorted(local)} read with distributed {own[a]}" for a in distributed if local}
    # distributed tables of enclosing queries this one refers to (correlation)
    outer = {
        column.table
        for column in scope.external_columns
        if column.table and (_table_of(scope, column.table) or "") in DISTRIBUTED
    }
    members = distributed | outer
    if len(members) < 2:
        return out
    parent = {alias: alias for alias in members}

    def find(alias: str) -> str:
        while parent[alias] != alias:
            alias = parent[alias]
        return alias

    for eq in scope.expression.find_all(exp.EQ):
        left, right = eq.left, eq.right
        if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
            continue
        if left.table not in members or right.table not in members:
            continue
        lt, rt = _table_of(scope, left.table), _table_of(scope, right.table)
        if lt and rt and left.name == DISTRIBUTED[lt] and right.name == DISTRIBUTED[rt]:
            parent[find(left.table)] = find(right.table)
    if len({find(alias) for alias in members}) > 1:
        names = sorted(_table_of(scope, a) or a for a in members)
        out.add(f"{' and '.join(names)} joined across practitioners")
    return out


async def test_the_booking_path_never_joins_across_practitioners(
    app: FastAPI, people: People, settings: Settings
) -> None:
    """Search, profile, slots, booking, the patient's list, a move, the agenda and a
    cancellation, as users send them, each statement read against the plan."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    anyone = people.client()
    start = datetime.now(UTC) + timedelta(days=2)
    window = (start, start + timedelta(days=7))
    with counting(app) as sent:
        assert (
            await anyone.get("/api/v1/practitioners", params={"city": "Paris"})
        ).status_code == 200
        assert (await anyone.get(f"/api/v1/practitioners/{doctor.account_id}")).status_code == 200
        free = await slots(anyone, doctor.account_id, *window)
        await slots(alice, doctor.account_id, *window)
        booked = await book(alice, doctor.account_id, reason, free[0]["start"])
        assert booked.status_code == 201, booked.text
        appointment = booked.json()["id"]
        assert (await alice.get("/api/v1/me/appointments")).status_code == 200
        moved = await alice.post(
            f"/api/v1/appointments/{appointment}/reschedule", json={"start": free[4]["start"]}
        )
        assert moved.status_code == 200, moved.text
        agenda = await doctor.get(
            "/api/v1/me/agenda",
            params={"from": window[0].isoformat(), "to": window[1].isoformat()},
        )
        assert agenda.status_code == 200, agenda.text
        cancelled = await alice.post(f"/api/v1/appointments/{appointment}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    dialect = "sqlite" if settings.is_sqlite else "postgres"
    found: dict[str, str] = {}
    for sql in sent.statements:
        found |= dict.fromkeys(_breaches(sql, dialect), sql)
    assert found == {}, "the booking path breaks the distribution plan"


def test_the_check_sees_a_join_across_practitioners_and_a_local_table() -> None:
    """The reader is not blind: joins it must refuse, and the colocated ones it must accept."""
    across = "SELECT a.id FROM appointment AS a JOIN visit_reason AS r ON r.id = a.visit_reason_id"
    assert _breaches(across, "postgres") == {
        "appointment and visit_reason joined across practitioners"
    }
    colocated = (
        "SELECT a.id FROM appointment AS a JOIN visit_reason AS r"
        " ON r.practitioner_id = a.practitioner_id AND r.id = a.visit_reason_id"
    )
    assert _breaches(colocated, "postgres") == set()
    correlated = (
        "SELECT p.id FROM practice AS p WHERE EXISTS (SELECT 1 FROM practice_site AS s"
        " WHERE s.practitioner_id = p.id AND s.city_key = 'paris')"
    )
    assert _breaches(correlated, "postgres") == set()
    uncorrelated = (
        "SELECT p.id FROM practice AS p WHERE EXISTS (SELECT 1 FROM practice_site AS s"
        " WHERE s.id = p.id)"
    )
    assert _breaches(uncorrelated, "postgres") == {
        "practice and practice_site joined across practitioners"
    }
    with_local = (
        "SELECT a.id FROM appointment AS a JOIN auth_session AS s ON s.account_id = a.patient_id"
    )
    assert _breaches(with_local, "postgres") == {
        "['auth_session'] read with distributed appointment"
    }
    with_reference = "SELECT a.id FROM appointment AS a JOIN account AS p ON p.id = a.patient_id"
    assert _breaches(with_reference, "postgres") == set()
