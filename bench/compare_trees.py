"""B1 for two source trees, served in turn against one database, in alternation.

``python -m bench.compare_trees before=/path/to/old/checkout after=. [--rounds 4]``

Each round serves each tree (``erdv serve --workers 2`` with ``PYTHONPATH`` set to that tree),
runs B1's booking load on it, then pgbench's booking for its anchor; the order of the two trees
alternates between rounds. The machine's speed drifts by minutes here (bench/README.md "Results"),
so two whole ``make bench`` runs a few minutes apart can differ by more than a change does; this
puts the two trees side by side in time, on the same database, and compares medians. The database
is migrated by this tree (run it from the newer one).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence

from bench import run as bench


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs=2, help="name=path, twice")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    trees = [tuple(tree.split("=", 1)) for tree in args.trees]
    profile = bench.QUICK
    bench.WORK.mkdir(exist_ok=True)
    workload = bench.fresh_database(bench.DB, profile, 10_000)
    slots = bench.Slots(workload)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
    for round_ in range(args.rounds):
        for name, tree in trees if round_ % 2 == 0 else trees[::-1]:
            port = bench.free_port()
            env = bench.erdv_env(bench.url_of(bench.DB)) | {"PYTHONPATH": tree}
            argv_ = [str(bench.BIN / "erdv"), "serve", "--port", str(port), "--workers", "2"]
            server = bench.Server(argv_, env, port, f"b1-{name}")
            try:
                load = bench.booking_rate(server, slots, profile, f"b1-{name}-{round_}")
            finally:
                server.stop()
            tps, _ = bench.pgbench_booking(profile, bench.PGBENCH_CLIENTS, 4)
            results[name].append((load.rps, tps))
            bench.say(f"{name} round {round_}: {load.rps:.0f} bookings/s, pgbench {tps:.0f} tps")
    for name, figures in results.items():
        rates = [rps for rps, _ in figures]
        ratios = [rps / tps for rps, tps in figures]
        print(
            f"{name}: median {statistics.median(rates):.0f} bookings/s "
            f"({', '.join(f'{r:.0f}' for r in rates)}); median ratio to pgbench "
            f"{statistics.median(ratios):.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
