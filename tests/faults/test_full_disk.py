"""A full disk makes /readyz 503 and bookings 503, and both recover once space is back (issue 21,
item 6).

The outside test filled the disk under SQLite: bookings answered 503 (good) while ``/readyz``,
which only read, kept saying 200. Here the database lives on a small tmpfs that the test fills
up. Mounting needs root (CI runs as root); elsewhere the test is skipped, and ``ERDV_REQUIRE_FAULTS=1``
makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from bench.cluster import REQUIRE_ENV
from tests.faults.conftest import Served, build_world, free_slots, patient_headers, serve


@pytest.fixture
def small_disk() -> Iterator[Path]:
    mountpoint = Path(tempfile.mkdtemp(prefix="erdv-disk-"))
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mountpoint)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(mountpoint, ignore_errors=True)
        reason = f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason} (and {REQUIRE_ENV}=1)")
        pytest.skip(reason)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)  # noqa: S603, S607
        shutil.rmtree(mountpoint, ignore_errors=True)


def _fill(folder: Path) -> Path:
    """Write until the file system says no more (ENOSPC).

    Unbuffered: a buffered file kept the part of the last block that did not fit, and its close
    raised ENOSPC again, out of the test's hands, whenever the free space was not a whole number
    of blocks (a schema change that moved the database's size was enough)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * (1 << 16))
    return filler


async def test_full_disk_makes_readyz_and_bookings_503_until_space_is_back(
    small_disk: Path, keys: Settings, sqlite_template: Path, servers: list[Served]
) -> None:
    database = small_disk / "erdv.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    world = await build_world(url, keys, practitioners=2, patients=4)
    served = serve(servers, url, small_disk / "data", workers=1)
    slots = free_slots(world, 400)
    headers = patient_headers(world.patients[0])
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        assert (await client.get("/readyz")).status_code == 200
        filler = _fill(small_disk)
        ready = await client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["code"] == "database_unavailable"
        for body in slots[:20]:  # whatever the WAL still had room for, writes soon stop
            booking = await client.post("/api/v1/appointments", json=body, headers=headers)
            assert booking.status_code in (201, 503), booking.text
        assert booking.status_code == 503
        assert (await client.get("/healthz")).status_code == 200  # the process itself is fine

        filler.unlink()
        assert (await client.get("/readyz")).status_code == 200
        again = await client.post("/api/v1/appointments", json=slots[-1], headers=headers)
        assert again.status_code == 201, again.text
