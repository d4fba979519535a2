"""Issue 20: the data dir (secrets, SQLite database, the outbox with its reset links) is private:
the directory 0700 and its files 0600, including what an older erdv left world-readable."""

from __future__ import annotations

import stat
from pathlib import Path

from app.core.settings import Settings
from tests.factories import People, outbox
from tests.helpers.cli import run_erdv


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_cli_makes_the_data_dir_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    (data / "outbox").mkdir(parents=True, mode=0o755)
    old = data / "outbox" / "old.eml"
    old.write_text("a reset link")
    old.chmod(0o644)
    env = {
        "ERDV_DATA_DIR": str(data),
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'erdv.db'}",
        "ERDV_ENV": "development",
    }
    for command in ("migrate", "demo"):
        done = run_erdv(command, env=env)
        assert done.returncode == 0, done.stderr
    assert _mode(data) == 0o700
    assert _mode(data / "outbox") == 0o700
    assert _mode(old) == 0o600
    for path in data.iterdir():
        if path.is_file():
            assert _mode(path) == 0o600, path
    assert (data / "erdv.db").exists()
    assert (data / "secrets.json").exists()


async def test_mails_written_by_the_server_are_private(people: People, settings: Settings) -> None:
    await people.registered()
    assert outbox(settings)
    assert _mode(settings.outbox_dir) == 0o700
    for path in settings.outbox_dir.glob("*.eml"):
        assert _mode(path) == 0o600, path
