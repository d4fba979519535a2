"""Shared by the tests of allowances: how many calls pass before the first 429."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.core.test_app import assert_problem


async def successes_before_429(
    call: Callable[[int], Awaitable[httpx.Response]], *, ok: int = 200, tries: int = 20
) -> int:
    """Calls ``call(0)``, ``call(1)``... answered ``ok`` before the first one refused as the
    contract words it: 429 ``rate_limited`` with a positive ``Retry-After``."""
    for n in range(tries):
        response = await call(n)
        if response.status_code == 429:
            assert_problem(response, 429, "rate_limited")
            assert int(response.headers["Retry-After"]) > 0
            return n
        assert response.status_code == ok, response.text
    raise AssertionError(f"never refused in {tries} calls")
