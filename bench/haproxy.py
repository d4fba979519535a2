"""HAProxy (Debian's package) in front of erdv instances, run from ``deploy/haproxy.cfg`` itself.

The committed configuration takes its addresses from the environment; the tests and bench row B12
set them to free
loopback ports and start ``haproxy -db`` (foreground) in a process group of its own. Which
instance answered is read from HAProxy's statistics (``/;csv``), as an operator would.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "haproxy.cfg"


class HaproxyUnavailable(RuntimeError):
    """No ``haproxy`` binary on this machine."""


@dataclass
class Haproxy:
    instances: list[str]  # host:port of each erdv instance, in the config's order
    log: Path
    port: int = field(default_factory=free_port)
    stats_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Haproxy:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise HaproxyUnavailable("haproxy is not installed (Debian package: haproxy)")
        env = dict(os.environ)
        env |= {
            "ERDV_HAPROXY_BIND": f"127.0.0.1:{self.port}",
            "ERDV_HAPROXY_STATS": f"127.0.0.1:{self.stats_port}",
        }
        env |= {f"ERDV_INSTANCE_{n}": where for n, where in enumerate(self.instances, start=1)}
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - the system haproxy, our committed config
            [binary, "-db", "-f", str(CONFIG)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError, KeyError):
                # up, and every instance passed its health check (/readyz)
                if all(row["status"] == "UP" for row in self.servers().values()):
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"haproxy did not see every instance up:\n{self.log.read_text()}")

    def servers(self) -> dict[str, dict[str, str]]:
        """The statistics row of each server of the ``erdv`` backend, by name."""
        answer = httpx.get(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=5)
        answer.raise_for_status()
        rows = csv.DictReader(io.StringIO(answer.text.lstrip("# ")))
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == "erdv" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def answered(self) -> dict[str, int]:
        """How many 2xx, 4xx and 5xx answers each instance gave through the proxy so far."""
        return {
            name: sum(int(row[f"hrsp_{kind}"] or 0) for kind in ("2xx", "4xx", "5xx"))
            for name, row in self.servers().items()
        }

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
