"""The ``erdv`` command in a subprocess, driven as a user would run it, and served processes."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.ports import free_port as free_port  # re-exported: the tests' servers use it
from tests.helpers.backends import TEST_SECRET, Backend

_MEASURED_CLI = (
    "import resource, sys\n"
    "from app.cli import cli\n"
    "try:\n"
    "    cli(sys.argv[1:])\n"
    "except SystemExit as done:\n"
    "    assert not done.code, done.code\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def backend_env(backend: Backend) -> dict[str, str]:
    return {
        **os.environ,
        "ERDV_DATABASE_URL": backend.url,
        "ERDV_SECRET_KEY": TEST_SECRET,
        "ERDV_ENCRYPTION_KEY": "x" * 43,
        "ERDV_ENV": "test",
    }


def cli_peak_rss_kib(backend: Backend, *args: str) -> int:
    """Run ``erdv ARGS`` in a fresh interpreter and return its peak resident memory (KiB).

    A fresh process per measurement, so the figure is that command's alone: exports are checked
    to stream by comparing a big export's peak with a small one's.
    """
    result = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [sys.executable, "-c", _MEASURED_CLI, *args],
        env=backend_env(backend),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(result.stderr.strip().splitlines()[-1])


def run_erdv(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``erdv ARGS`` in a fresh interpreter (``python -m app``), with ``env`` over this one's."""
    return subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [sys.executable, "-m", "app", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """End a served ``erdv`` gracefully (SIGTERM), and for good if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
