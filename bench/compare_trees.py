"""B1 (or B11) for two source trees, served in turn against one database, in alternation.

``python -m bench.compare_trees before=/path/to/old/checkout after=. [--rounds 4] [--sqlite]``

Each round serves each tree (``erdv serve --workers 2`` with ``PYTHONPATH`` set to that tree),
runs B1's booking load on it, then pgbench's booking for its anchor; the order of the two trees
alternates between rounds. The machine's speed drifts by minutes here (bench/README.md "Results"),
so two whole ``make bench`` runs a few minutes apart can differ by more than a change does; this
puts the two trees side by side in time, on the same database, and compares medians. The database
is migrated by this tree (run it from the newer one). With ``--sqlite`` it is B11's harness: the
SQLite dataset of ``measure_sqlite`` and the raw ``sqlite3`` anchor, run for a few seconds after
each tree.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from collections.abc import Sequence

from bench import run as bench
from bench.ports import free_port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs=2, help="name=path, twice")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sqlite", action="store_true", help="B11's harness instead of B1's")
    args = parser.parse_args(argv)
    trees = [tuple(tree.split("=", 1)) for tree in args.trees]
    profile = bench.QUICK
    bench.WORK.mkdir(exist_ok=True)
    if args.sqlite:
        folder = bench.WORK / "sqlite-compare"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        path = folder / "erdv.db"
        url = f"sqlite+aiosqlite:///{path}"
        profile = bench.Profile("sqlite", 200, 2000, profile.warmup, profile.duration, 0, 0, 0, 0)
        workload = bench._populate(url, profile, 10_000)

        def anchor() -> float:
            return bench.sqlite_raw(path, 4, profile.practitioners)
    else:
        url = bench.url_of(bench.DB)
        workload = bench.fresh_database(bench.DB, profile, 10_000)

        def anchor() -> float:
            return bench.pgbench_booking(profile, bench.PGBENCH_CLIENTS, 4)[0]

    slots = bench.Slots(workload)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
    for round_ in range(args.rounds):
        for name, tree in trees if round_ % 2 == 0 else trees[::-1]:
            bench.fresh_mail_folder()
            port = free_port()
            env = bench.erdv_env(url) | {"PYTHONPATH": tree}
            argv_ = [str(bench.BIN / "erdv"), "serve", "--port", str(port), "--workers", "2"]
            server = bench.Server(argv_, env, port, f"b1-{name}")
            try:
                load = bench.booking_rate(server, slots, profile, f"b1-{name}-{round_}")
            finally:
                server.stop()
            tps = anchor()
            results[name].append((load.rps, tps))
            bench.say(f"{name} round {round_}: {load.rps:.0f} bookings/s, anchor {tps:.0f} tps")
    for name, figures in results.items():
        rates = [rps for rps, _ in figures]
        ratios = [rps / tps for rps, tps in figures]
        print(
            f"{name}: median {statistics.median(rates):.0f} bookings/s "
            f"({', '.join(f'{r:.0f}' for r in rates)}); median ratio to the anchor "
            f"{statistics.median(ratios):.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
