from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core import clock


def test_now_is_aware_utc() -> None:
    assert clock.now().tzinfo is UTC


def test_frozen_clock_moves_only_when_told() -> None:
    at = datetime(2027, 3, 28, 1, 59, tzinfo=timezone(timedelta(hours=1)))
    with clock.frozen(at) as frozen:
        assert clock.now() == at
        frozen.advance(timedelta(minutes=2))
        assert clock.now() == datetime(2027, 3, 28, 1, 1, tzinfo=UTC)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"), clock.frozen(datetime(2027, 1, 1)):
        pass
