"""The ``erdv`` command, driven as a user would run it (a real subprocess, real settings)."""

from __future__ import annotations

import json
import os
import secrets
import socket
from pathlib import Path

import pytest

from app import __version__
from tests.helpers.cli import free_port, run_erdv


def test_version(cli_env: dict[str, str]) -> None:
    result = run_erdv("version", env=cli_env)
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_migrate_then_demo_is_idempotent(cli_env: dict[str, str]) -> None:
    migrated = run_erdv("migrate", env=cli_env)
    assert migrated.returncode == 0, migrated.stderr
    first = run_erdv("demo", env=cli_env)
    assert first.returncode == 0, first.stderr
    second = run_erdv("demo", env=cli_env)
    assert second.returncode == 0, second.stderr


def test_demo_is_refused_in_production(cli_env: dict[str, str]) -> None:
    env = cli_env | {
        "ERDV_ENV": "production",
        "ERDV_SECRET_KEY": secrets.token_urlsafe(32),
        "ERDV_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "ERDV_PUBLIC_URL": "https://erdv.example",
    }
    result = run_erdv("demo", env=env)
    assert result.returncode == 2
    assert "production" in result.stderr


def test_bad_configuration_is_a_clear_error(cli_env: dict[str, str]) -> None:
    result = run_erdv("migrate", env=cli_env | {"ERDV_ENV": "production"})
    assert result.returncode == 2
    assert "ERDV_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_purge_runs_every_retention_job(cli_env: dict[str, str]) -> None:
    assert run_erdv("migrate", env=cli_env).returncode == 0
    result = run_erdv("purge", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "audit-retention: removed 0 audit entries" in result.stdout
    assert "throttle-retention: forgot 0 throttle keys" in result.stdout


def test_reseal_after_a_key_rotation(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The rotation as docs/security.md tells it, on the demo's data: the new key current and the
    old one retired, ``erdv reseal`` seals everything again (then finds nothing), and a key set
    that cannot open the data is a clear error with exit status 1."""
    assert run_erdv("migrate", env=cli_env).returncode == 0
    assert run_erdv("demo", env=cli_env).returncode == 0
    secrets_file = json.loads((tmp_path / "var" / "secrets.json").read_text("utf-8"))
    new = secrets.token_urlsafe(32)
    rotating = cli_env | {
        "ERDV_ENCRYPTION_KEY": new,
        "ERDV_PREVIOUS_ENCRYPTION_KEYS": json.dumps([secrets_file["encryption_key"]]),
    }
    first = run_erdv("reseal", env=rotating)
    assert first.returncode == 0, first.stderr
    counts = dict(line.split(": ", 1) for line in first.stdout.splitlines())
    assert counts["totp_credential.secret"] != "0 resealed", first.stdout
    assert counts["appointment.visit_reason_ct"] != "0 resealed", first.stdout
    second = run_erdv("reseal", env=cli_env | {"ERDV_ENCRYPTION_KEY": new})
    assert second.returncode == 0, second.stderr
    assert set(dict(line.split(": ", 1) for line in second.stdout.splitlines()).values()) == {
        "0 resealed"
    }
    lost = run_erdv("reseal", env=cli_env | {"ERDV_ENCRYPTION_KEY": secrets.token_urlsafe(32)})
    assert lost.returncode == 1
    assert "no configured key opens" in lost.stderr
    assert "Traceback" not in lost.stderr


def test_admin_create_reads_the_password_on_stdin(cli_env: dict[str, str]) -> None:
    assert run_erdv("migrate", env=cli_env).returncode == 0
    created = run_erdv(
        "admin",
        "create",
        "--email",
        "Root@Example.test",
        env=cli_env,
        stdin="Velvet-Otter-Quarry-91\n",
    )
    assert created.returncode == 0, created.stderr
    assert "admin created" in created.stdout
    assert "Velvet" not in created.stdout + created.stderr
    again = run_erdv(
        "admin",
        "create",
        "--email",
        "root@example.test",
        env=cli_env,
        stdin="Velvet-Otter-Quarry-91\n",
    )
    assert again.returncode == 1
    weak = run_erdv(
        "admin", "create", "--email", "b@example.test", env=cli_env, stdin="password1234\n"
    )
    assert weak.returncode == 1
    assert "password" in weak.stderr.lower()


def test_demo_prints_the_demo_logins(cli_env: dict[str, str]) -> None:
    assert run_erdv("migrate", env=cli_env).returncode == 0
    first = run_erdv("demo", env=cli_env)
    assert "patient@demo.erdv.localhost" in first.stdout
    assert "TOTP secret" in first.stdout
    assert run_erdv("demo", env=cli_env).stdout == first.stdout


@pytest.mark.parametrize(
    ("workers", "given", "expected"),
    [(2, None, str(max(1, (os.cpu_count() or 1) // 2))), (1, None, None), (2, "3", "3")],
)
def test_serve_shares_the_hashing_threads_between_workers(
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    given: str | None,
    expected: str | None,
) -> None:
    """Several workers share the cores: together they hash no more passwords at once than there
    are cores, unless the operator said otherwise."""
    import uvicorn
    from typer.testing import CliRunner
    from uvicorn.supervisors import Multiprocess

    from app.cli import cli

    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ERDV_PASSWORD_HASH_THREADS", raising=False)
    if given is not None:
        monkeypatch.setenv("ERDV_PASSWORD_HASH_THREADS", given)
    seen: dict[str, str | None] = {}

    def started(*_args: object, **_kwargs: object) -> None:
        seen.update(threads=os.environ.get("ERDV_PASSWORD_HASH_THREADS"))

    monkeypatch.setattr(uvicorn, "run", started)
    monkeypatch.setattr(Multiprocess, "run", started)
    # a free port, not the default 8000 another server on this machine (``make run``) may hold
    port = str(free_port())
    result = CliRunner().invoke(cli, ["serve", "--port", port, "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    assert seen["threads"] == expected


def test_serve_on_a_taken_port_says_so(cli_env: dict[str, str]) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = str(other.getsockname()[1])
        result = run_erdv("serve", "--port", port, "--workers", "2", env=cli_env)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_practitioners_notify_queues_a_notice_for_each(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """``erdv practitioners notify``: the operator's notice (a change of sub-processors, a data
    breach) staged for every active practitioner; a body that cannot be read, an empty one or a
    subject on two lines is refused and stages nothing (tests/notifications/test_operator_notice.py
    follows the mails to the inboxes)."""
    assert run_erdv("migrate", env=cli_env).returncode == 0
    assert run_erdv("demo", env=cli_env).returncode == 0
    fr, en = tmp_path / "fr.txt", tmp_path / "en.txt"
    fr.write_text("Nous changeons d'hébergeur le 1er mars.\n", encoding="utf-8")
    en.write_text("We change hosts on 1 March.\n", encoding="utf-8")
    base = ["practitioners", "notify", "--subject-fr", "Hébergeur", "--subject-en", "Host"]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    for wrong in (
        [*base, "--body-fr", str(empty), "--body-en", str(en)],
        [*base, "--body-fr", str(tmp_path / "missing.txt"), "--body-en", str(en)],
        [
            "practitioners",
            "notify",
            "--subject-fr",
            "a\nb",
            "--subject-en",
            "Host",
            "--body-fr",
            str(fr),
            "--body-en",
            str(en),
        ],
    ):
        refused = run_erdv(*wrong, env=cli_env)
        assert refused.returncode == 2, (wrong, refused.stdout, refused.stderr)
    result = run_erdv(*base, "--body-fr", str(fr), "--body-en", str(en), env=cli_env)
    assert result.returncode == 0, result.stderr
    count = int(result.stdout.split("queued: ")[1].split()[0])
    assert count >= 1
    staged = run_erdv("outbox", "list", "--status", "pending", env=cli_env)
    assert staged.returncode == 0, staged.stderr
    # the demo leaves nothing pending: every message waiting is a notice
    assert f"pending={count} " in staged.stdout, staged.stdout
