"""The read replica's lag bound (``app.core.replica``), decided from WAL positions and the moments
they were read: scripted positions and a hand-moved clock here; on a real streaming replica in
tests/scaleout/test_replica.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core import replica
from app.core.replica import ReplicaMonitor, lsn


class Script(ReplicaMonitor):
    """A monitor whose two statements answer what the test says, at the test's clock."""

    def __init__(self, **kwargs: Any) -> None:
        self.clock = 0.0
        self.primary_at: str | Exception = "0/100"
        self.replayed: str | None | Exception = "0/100"
        self.decisions: list[bool] = []
        super().__init__(
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            max_lag_seconds=kwargs.get("max_lag", 5.0),
            check_seconds=1.0,
            use_replica=self.decisions.append,
            now=lambda: self.clock,
        )

    async def _scalar(self, engine: Any, statement: sa.TextClause) -> str | None:
        answer = self.primary_at if statement is replica._PRIMARY_POSITION else self.replayed
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def tick(self, seconds: float = 1.0) -> float | None:
        self.clock += seconds
        return await self.check()


DOWN = OperationalError("connect", {}, ConnectionRefusedError("refused"))


def test_positions_order_as_postgresql_orders_them() -> None:
    assert lsn("0/FFFFFFFF") < lsn("1/0") < lsn("1/10") < lsn("16/B374D848")


async def test_a_replica_that_keeps_up_serves() -> None:
    monitor = Script()
    for step in range(10):
        monitor.primary_at = f"0/{0x100 + step:X}"
        monitor.replayed = monitor.primary_at
        assert await monitor.tick() == 0
    assert monitor.serving
    assert monitor.decisions == []


async def test_an_idle_primary_does_not_make_its_replica_late() -> None:
    monitor = Script()
    for _ in range(30):  # nothing written for 30 s: the positions do not move
        assert await monitor.tick() == 0
    assert monitor.serving


async def test_a_replica_stuck_behind_a_moving_primary_is_left_after_the_bound_then_rejoined() -> (
    None
):
    monitor = Script(max_lag=5.0)
    await monitor.tick()
    monitor.replayed = "0/100"  # replay stops here
    lags = []
    for step in range(1, 9):
        monitor.primary_at = f"0/{0x100 + step * 0x10:X}"
        lags.append(await monitor.tick())
    assert lags[:5] == [1, 2, 3, 4, 5]  # within the bound: still served by the replica
    assert monitor.decisions == [False]  # left once, past 5 s
    monitor.replayed = monitor.primary_at  # replay resumes and catches up
    assert await monitor.tick() == 0
    assert monitor.decisions == [False, True]


async def test_a_replica_a_little_behind_a_busy_primary_still_serves() -> None:
    monitor = Script(max_lag=5.0)
    for step in range(1, 20):
        monitor.primary_at = f"0/{0x100 + step * 0x10:X}"
        monitor.replayed = f"0/{0x100 + (step - 1) * 0x10:X}"  # one check behind, always
        # the first check knows no earlier position: a lag of at least 0 s
        assert await monitor.tick() == (0 if step == 1 else 1)
    assert monitor.serving
    assert monitor.decisions == []


async def test_an_unreachable_replica_is_left_at_once_and_rejoined_when_it_answers() -> None:
    monitor = Script()
    await monitor.tick()
    monitor.replayed = DOWN
    assert await monitor.tick() is None
    assert monitor.decisions == [False]
    monitor.replayed = monitor.primary_at
    assert await monitor.tick() == 0
    assert monitor.decisions == [False, True]


async def test_a_replica_pool_all_at_work_is_busy_not_down() -> None:
    monitor = Script()
    await monitor.tick()
    monitor.replayed = PoolTimeout("QueuePool limit of size 10 overflow 5 reached")
    for _ in range(5):
        assert await monitor.tick() is None
    assert monitor.serving
    assert monitor.decisions == []


async def test_a_primary_pool_all_at_work_changes_nothing() -> None:
    monitor = Script()
    monitor.primary_at = PoolTimeout("QueuePool limit of size 10 overflow 5 reached")
    assert await monitor.tick() is None
    assert monitor.serving


async def test_the_checks_outlive_a_failing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monitor = Script()
    calls = []

    async def failing() -> float | None:
        calls.append(1)
        if len(calls) == 3:
            raise asyncio.CancelledError  # the lifespan's end
        raise RuntimeError("a bug")

    monkeypatch.setattr(monitor, "check", failing)
    monkeypatch.setattr("app.core.replica.asyncio.sleep", _no_wait)
    with pytest.raises(asyncio.CancelledError):
        await monitor.run()
    assert len(calls) == 3


async def _no_wait(_seconds: float) -> None:
    return None


async def test_an_unreachable_primary_changes_nothing() -> None:
    monitor = Script()
    monitor.primary_at = DOWN
    monitor.replayed = DOWN
    for _ in range(10):
        assert await monitor.tick() is None
    assert monitor.serving
    assert monitor.decisions == []


async def test_a_replica_url_naming_a_primary_is_current() -> None:
    monitor = Script()
    monitor.replayed = None  # pg_last_wal_replay_lsn() is NULL outside recovery
    monitor.primary_at = "5/0"
    assert await monitor.tick() == 0
    assert monitor.serving


@pytest.mark.parametrize("behind", [7.0, 60.0])
async def test_a_replica_behind_every_position_remembered_is_at_least_that_late(
    behind: float,
) -> None:
    monitor = Script(max_lag=5.0)
    monitor.replayed = "0/1"  # before the first position ever read
    lag = None
    for step in range(int(behind)):
        monitor.primary_at = f"0/{0x100 + step:X}"
        lag = await monitor.tick()
    assert lag is not None
    assert lag >= min(behind - 1, 5.0 + 2 * 1.0) - 1e-9
    assert not monitor.serving
