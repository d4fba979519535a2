"""B12 and B13 (issue 29): two instances behind HAProxy against one, and the read replica against
the primary. ``bench.run`` calls these after its own server stopped; see bench/README.md.

Both compare two set-ups running side by side, measured in alternation (two rounds each, medians):
the machine's speed drifts between minutes, and a ratio of two figures taken minutes apart would
measure the drift.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench import cost, dataset
from bench.cluster import Cluster
from bench.haproxy import Haproxy
from bench.run import (
    BIN,
    BOOK_CONNECTIONS,
    DB,
    WORK,
    Run,
    Server,
    Slots,
    environment,
    erdv_env,
    erdv_server,
    latency,
    paced_delay,
    say,
    sh,
    slot_paths,
    url_of,
    wrk,
)

ROUNDS = 2


@dataclass(frozen=True)
class Behind:
    """A HAProxy in front of some instances, as ``wrk`` sees a server (``url``)."""

    proxy: Haproxy
    instances: list[Server]

    @property
    def url(self) -> str:
        return self.proxy.url

    def groups(self) -> list[int]:
        return [server.proc.pid for server in self.instances]  # each its own process group


def _behind(instances: list[Server], name: str) -> Behind:
    addresses = [f"127.0.0.1:{s.port}" for s in instances]
    if len(addresses) == 1:
        addresses *= 2  # the configuration names two servers: both lines at the one instance
    return Behind(Haproxy(addresses, WORK / f"{name}-haproxy.log").start(), instances)


def _bookings(
    target: Behind, slots: Slots, run: Run, name: str, rate: float | None = None
) -> dict[str, float]:
    """Bookings through ``target`` as fast as B1's 16 connections go, or, with ``rate``, at that
    arrival rate (each connection pausing between requests, the pause calibrated as B2's is);
    with the CPU the instances and PostgreSQL spent per booking, and the share of the machine
    left idle."""
    profile = run.profile
    env: dict[str, str] | None = None
    if rate:
        probe = [slots.booking_file(f"{name}-probe", int(rate * 5) + 200)]
        delay = paced_delay(
            target, "book.lua", probe, BOOK_CONNECTIONS, rate, max(3, profile.warmup)
        )
        env = {"BENCH_DELAY_MS": f"{delay:.2f}"}
    warm = slots.booking_file(f"{name}-warm", int(profile.warmup * 800) + 500)
    wrk(target, "book.lua", [warm], connections=BOOK_CONNECTIONS, seconds=profile.warmup, env=env)
    work = slots.booking_file(name, int(profile.duration * 800) + 1000)
    with cost.metered(target.groups()) as spent:
        load = wrk(
            target, "book.lua", [work], connections=BOOK_CONNECTIONS, seconds=profile.duration,
            env=env,
        )  # fmt: skip
    booked = load.count(201)
    return {
        "rps": booked / load.seconds,
        "app_cores": spent.app_seconds / load.seconds,
        "app_ms": 1000 * spent.app_seconds / max(1, booked),
        "db_ms": 1000 * spent.db_seconds / max(1, booked),
        "idle": spent.idle_share,
        # distinct free slots: anything but a 201 is a failure (a 409 would skew the CPU a booking)
        "errors": load.errors + load.requests - booked,
    }


def _alternating(
    setups: dict[str, Behind], measure: Callable[[str, Behind, int], dict[str, float]]
) -> dict[str, dict[str, float]]:
    """``measure`` each set-up ``ROUNDS`` times, in alternation (the order reversed every other
    round); the median of each figure."""
    rounds: dict[str, list[dict[str, float]]] = {key: [] for key in setups}
    for n in range(ROUNDS):
        order = list(setups.items())
        for key, target in order if n % 2 == 0 else order[::-1]:
            rounds[key].append(measure(key, target, n))
    return {
        key: {metric: statistics.median(r[metric] for r in results) for metric in results[0]}
        for key, results in rounds.items()
    }


def measure_instances(run: Run, slots: Slots) -> None:
    """B12: booking requests/s through HAProxy with two ``erdv serve --workers 1`` instances ÷ with
    one, as fast as they go; then the app CPU a booking costs each set-up at one arrival rate,
    half what the one instance took.

    The second figure is the scale-out's cost: shared state fought over, a lock held across
    instances, work done twice would each make two instances spend more per booking than one.
    It is read at the same arrival rate because CPU per booking depends on the load: a process
    whose event loop is saturated handles many requests a wake-up (7.7-8.6 ms of app CPU a
    booking, 2026-12-05), one with time to spare handles each alone (10.4-11.7 ms). At full
    speed one instance is saturated and each of two is not, so bookings per core at full speed
    compared the two loads, not the instances (bench/README.md, B12)."""
    say("B12 one instance behind HAProxy, then two, alternating: full speed, then paced")
    solo = [erdv_server(url_of(DB), 1, "b12-solo")]
    pair = [erdv_server(url_of(DB), 1, f"b12-pair{n}") for n in (1, 2)]
    proxies: list[Behind] = []
    try:
        proxies = [_behind(solo, "b12-solo"), _behind(pair, "b12-pair")]
        setups = {"one": proxies[0], "two": proxies[1]}
        full = _alternating(
            setups, lambda key, target, n: _bookings(target, slots, run, f"b12-{key}-{n}")
        )
        rate = full["one"]["rps"] / 2
        paced = _alternating(
            setups,
            lambda key, target, n: _bookings(target, slots, run, f"b12-{key}-paced-{n}", rate),
        )
        run.figures["instances"] = full | {"rate": rate, "paced": paced}
    finally:
        for behind in proxies:
            behind.proxy.stop()
        for server in solo + pair:
            server.stop()


def measure_replica(run: Run) -> None:
    """B13: slot-search p95 of anonymous reads served by a streaming replica ÷ by the primary: a
    throwaway primary and its ``pg_basebackup`` standby, one server reading from each."""
    profile = run.profile
    say("B13 slot search on a streaming replica against the primary, alternating")
    primary = Cluster(max_connections=100)
    standby: Cluster | None = None
    servers: list[Server] = []
    try:
        primary.start()
        primary.psql("CREATE DATABASE erdv")
        url = primary.database_url("erdv")
        env = erdv_env(url)
        sh(BIN / "erdv", "migrate", env=env)
        with environment(env):
            from app.core.settings import Settings

            workload = asyncio.run(
                dataset.build(url, Settings(), practitioners=profile.practitioners, patients=10)
            )
            asyncio.run(dataset.grow_history(url, 10_000))
        primary.psql("VACUUM ANALYZE", "erdv")
        standby = primary.standby()
        standby.start()
        standby.caught_up_with(primary, timeout=120)
        paths = slot_paths(workload, 1000, "b13-slots.txt")
        on_primary = erdv_server(url, 2, "b13-primary")
        servers.append(on_primary)
        replica = {"ERDV_DATABASE_REPLICA_URL": standby.database_url("erdv")}
        on_replica = erdv_server(url, 2, "b13-replica", replica)
        servers.append(on_replica)
        p95: dict[str, list[float]] = {"primary": [], "replica": []}
        for n in range(ROUNDS):
            order = [("primary", on_primary), ("replica", on_replica)]
            for key, server in order if n % 2 == 0 else order[::-1]:
                p95[key].append(latency(server, paths, profile, share=ROUNDS).p95)
        run.figures["replica"] = {
            f"{key}_p95_ms": statistics.median(values) for key, values in p95.items()
        }
    finally:
        for server in servers:
            server.stop()
        if standby is not None:
            standby.destroy()
        primary.destroy()
