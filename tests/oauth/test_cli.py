"""``erdv oauth create-client`` and ``erdv oauth enable`` (API.md "Admin", CLI equivalents)."""

from __future__ import annotations

import json

from tests.helpers.cli import run_erdv


def test_create_client_then_enable(cli_env: dict[str, str]) -> None:
    assert run_erdv("migrate", env=cli_env).returncode == 0
    created = run_erdv(
        "oauth", "create-client", "--name", "Agenda Plus",
        "--redirect-uri", "https://platform.example/cb",
        "--grant", "authorization_code", "--grant", "refresh_token",
        "--scope", "appointments:read", "--scope", "slots:read",
        env=cli_env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    data = json.loads(created.stdout)
    assert data["client_id"].startswith("erdv_client_")
    assert data["client_secret"].startswith("erdv_cs_")
    assert data["enabled"] is False
    enabled = run_erdv("oauth", "enable", data["client_id"], env=cli_env)
    assert enabled.returncode == 0, enabled.stderr
    missing = run_erdv("oauth", "enable", "erdv_client_nope", env=cli_env)
    assert missing.returncode == 1
    bad = run_erdv(
        "oauth", "create-client", "--name", "X", "--grant", "client_credentials",
        "--scope", "appointments:read", env=cli_env,
    )  # fmt: skip
    assert bad.returncode == 1
