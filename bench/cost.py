"""B14: the cost model. CPU per request type, measured on this machine, turned into the cores of app
and database a national peak needs (bench/README.md "B14: the cost model").

The CPU is read from ``/proc`` (``utime + stime`` of every process), not from wall time: it is
what a request costs whatever else the machine does, and what a bigger machine would spend on it
too. The app's CPU is every process of the ``erdv serve`` process group (supervisor, workers, their
threads: argon2 and file writes included); the database's is every ``postgres`` process of the
server (backends, WAL writer, checkpointer). wrk's own CPU is counted in neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")

#: Doctolib's national peak: about 333 bookings a second (issue 29), and ten times that
PEAK_BOOKINGS_PER_S = 333.0
#: What comes with each booking at the peak (an assumption, stated in bench/README.md): a patient
#: signs in once (the password step, argon2), runs a few searches and looks at many slot lists
#: before booking one; bookings are a small share of the traffic, reads the rest.
MIX_PER_BOOKING = {"booking": 1.0, "login": 1.0, "search": 5.0, "slots": 20.0}
#: cores are sized for this share of busy time: headroom for bursts, a lost node and maintenance
UTILISATION = 0.6


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command, process group, CPU seconds) of ``pid``, or None if it is gone.

    The CPU includes that of the children it has reaped (``cutime``, ``cstime``): a PostgreSQL
    backend or a uvicorn worker that ends between two readings takes its CPU with it, and the
    postmaster or the supervisor that reaps it inherits it. Without them, a sum over the live
    processes went down when backends ended (the first run read a negative database share)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # after the command: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14)
    return name, int(fields[2]), sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICKS


def _all() -> Iterator[tuple[str, int, float]]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            yield stat


def cpu_seconds(groups: Iterable[int]) -> tuple[float, float]:
    """CPU seconds so far of the processes in these process groups, and of PostgreSQL's."""
    wanted = set(groups)
    app = db = 0.0
    for name, group, seconds in _all():
        if group in wanted:
            app += seconds
        elif name == "postgres":
            db += seconds
    return app, db


def _machine() -> tuple[int, int]:
    """(idle, total) jiffies of all the machine's cores so far (``/proc/stat``; iowait is idle)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks)


@dataclass
class Spent:
    app_seconds: float = 0.0
    db_seconds: float = 0.0
    #: the share of the machine's cores left idle meanwhile: whether the machine was the ceiling
    idle_share: float = 0.0


@contextmanager
def metered(groups: Iterable[int]) -> Iterator[Spent]:
    """The app's and the database's CPU seconds spent while the block runs."""
    groups = list(groups)
    spent = Spent()
    app, db = cpu_seconds(groups)
    idle, total = _machine()
    try:
        yield spent
    finally:
        app_after, db_after = cpu_seconds(groups)
        idle_after, total_after = _machine()
        spent.app_seconds, spent.db_seconds = app_after - app, db_after - db
        spent.idle_share = (idle_after - idle) / max(1, total_after - total)


def per_request(spent: Spent, requests: int) -> dict[str, float]:
    """Milliseconds of CPU a request, app and database."""
    n = max(1, requests)
    return {"app_ms": 1000 * spent.app_seconds / n, "db_ms": 1000 * spent.db_seconds / n}


def cores_needed(cpu: dict[str, dict[str, float]], bookings_per_s: float) -> dict[str, float]:
    """App and database cores for ``bookings_per_s`` with ``MIX_PER_BOOKING``'s reads, each core
    busy ``UTILISATION`` of the time."""
    app = db = 0.0
    for kind, per_booking in MIX_PER_BOOKING.items():
        rate = bookings_per_s * per_booking
        app += rate * cpu[kind]["app_ms"] / 1000
        db += rate * cpu[kind]["db_ms"] / 1000
    return {"app_cores": app / UTILISATION, "db_cores": db / UTILISATION}


def model(cpu: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The cost model's figures, for the JSON and the table."""
    return {
        "cpu_ms": cpu,
        "mix_per_booking": MIX_PER_BOOKING,
        "utilisation": UTILISATION,
        "peak": cores_needed(cpu, PEAK_BOOKINGS_PER_S),
        "peak_x10": cores_needed(cpu, 10 * PEAK_BOOKINGS_PER_S),
    }
