"""The password hasher's pool: hashes run beside the event loop, at a lower CPU priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from app.core.hashing import HASHING_NICENESS, PasswordHasher
from app.core.settings import Settings


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread niceness is a Linux feature")
async def test_hashing_threads_run_below_the_event_loop(settings: Settings) -> None:
    hasher = PasswordHasher(settings)
    try:
        loop_niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        stored = await hasher.hash("correct horse battery staple")
        assert await hasher.verify(stored, "correct horse battery staple")
        pool_niceness = await hasher._run(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
        assert pool_niceness == min(19, loop_niceness + HASHING_NICENESS)
        # the event loop's own thread keeps its priority
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_niceness
    finally:
        hasher.close()
