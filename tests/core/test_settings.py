"""Typed settings: production refuses weak or missing secrets; development generates and keeps them."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.settings import Settings, SettingsError
from tests.helpers.cli import run_erdv

STRONG = secrets.token_urlsafe(32)
OTHER = secrets.token_urlsafe(32)


def test_production_refuses_missing_secrets(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ERDV_SECRET_KEY"):
        Settings(env="production", data_dir=tmp_path, public_url="https://erdv.example")


@pytest.mark.parametrize("weak", ["changeme", "short", ""])
def test_production_refuses_weak_secrets(tmp_path: Path, weak: str) -> None:
    with pytest.raises(SettingsError):
        Settings(
            env="production",
            data_dir=tmp_path,
            secret_key=weak,
            encryption_key=STRONG,
            public_url="https://erdv.example",
        )


@pytest.mark.parametrize(
    "weak",
    [
        "a" * 43,
        "correcthorsebattery" * 3,
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij",
        "changeme-changeme-changeme-changeme-changeme",
    ],
)
@pytest.mark.parametrize("which", ["secret_key", "encryption_key"])
def test_production_refuses_low_entropy_secrets(tmp_path: Path, weak: str, which: str) -> None:
    """Issue 20: 43 times ``a`` or a repeated word passed the length check."""
    keys = {"secret_key": STRONG, "encryption_key": OTHER} | {which: weak}
    with pytest.raises(SettingsError, match=f"ERDV_{which.upper()}"):
        Settings(
            env="production",
            data_dir=tmp_path,
            public_url="https://erdv.example",
            secret_key=keys["secret_key"],
            encryption_key=keys["encryption_key"],
        )


def test_production_refuses_the_same_value_for_both_keys(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="different"):
        Settings(
            env="production",
            data_dir=tmp_path,
            secret_key=STRONG,
            encryption_key=STRONG,
            public_url="https://erdv.example",
        )


@pytest.mark.parametrize("make", [secrets.token_urlsafe, secrets.token_hex], ids=["urlsafe", "hex"])
def test_production_accepts_generated_secrets(tmp_path: Path, make: Callable[[int], str]) -> None:
    generated = make(32)  # made in the test: a collected id must be the same in every run
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        secret_key=generated,
        encryption_key=secrets.token_urlsafe(48),
        public_url="https://erdv.example",
    )
    assert settings.secret_key_bytes == generated.encode()


def test_production_requires_https_public_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="https"):
        Settings(env="production", secret_key=STRONG, encryption_key=OTHER, data_dir=tmp_path)


def test_production_with_strong_secrets_starts(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        secret_key=STRONG,
        encryption_key=OTHER,
        public_url="https://erdv.example",
        data_dir=tmp_path,
    )
    assert settings.secret_key_bytes == STRONG.encode()
    assert not (tmp_path / "secrets.json").exists()
    assert STRONG not in repr(settings)


def test_development_generates_secrets_once_with_private_mode(tmp_path: Path) -> None:
    first = Settings(env="development", data_dir=tmp_path)
    key = first.secret_key_bytes
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = Settings(env="development", data_dir=tmp_path)
    assert second.secret_key_bytes == key
    assert second.encryption_key_bytes == first.encryption_key_bytes
    assert key != first.encryption_key_bytes
    assert len(key) >= 43


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ERDV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ERDV_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("ERDV_SMTP_PORT", "2525")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.mail_backend == "smtp"
    assert settings.smtp_port == 2525
    assert settings.outbox_dir == tmp_path / "outbox"


def test_the_sqlite_file_lives_in_the_data_dir_unless_a_url_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """README: ``ERDV_DATA_DIR`` holds the SQLite file. It stayed in ``./var`` whatever the data
    dir said, so a second instance given its own data dir shared the first one's database."""
    monkeypatch.delenv("ERDV_DATABASE_URL", raising=False)
    monkeypatch.delenv("ERDV_DATA_DIR", raising=False)
    assert Settings().database_url == "sqlite+aiosqlite:///var/erdv.db"
    monkeypatch.setenv("ERDV_DATA_DIR", str(tmp_path))
    assert Settings().database_url == f"sqlite+aiosqlite:///{tmp_path.as_posix()}/erdv.db"
    assert Settings(data_dir=tmp_path / "b").database_url.endswith(f"{tmp_path}/b/erdv.db")
    monkeypatch.setenv("ERDV_DATABASE_URL", "postgresql+asyncpg://erdv@db/erdv")
    assert Settings().database_url == "postgresql+asyncpg://erdv@db/erdv"

    # and erdv migrate makes it there
    monkeypatch.delenv("ERDV_DATABASE_URL")
    migrated = run_erdv("migrate", env={"ERDV_DATA_DIR": str(tmp_path / "c")})
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "c" / "erdv.db").is_file()


@pytest.mark.parametrize(
    ("primary", "replica"),
    [
        ("sqlite+aiosqlite:///./var/erdv.db", "postgresql+asyncpg://erdv@replica/erdv"),
        ("postgresql+asyncpg://erdv@primary/erdv", "sqlite+aiosqlite:///./var/copy.db"),
        ("postgresql+asyncpg://erdv@primary/erdv", "postgresql://erdv@replica/erdv"),
    ],
)
def test_a_read_replica_is_an_asyncpg_url_beside_a_postgresql_primary(
    primary: str, replica: str
) -> None:
    with pytest.raises(SettingsError, match="ERDV_DATABASE_REPLICA_URL"):
        Settings(database_url=primary, database_replica_url=replica)
    Settings(
        database_url="postgresql+asyncpg://erdv@primary/erdv",
        database_replica_url="postgresql+asyncpg://erdv@replica/erdv",
    )


async def test_production_answers_carry_hsts(tmp_path: Path) -> None:
    """SECURITY.md: HSTS in production (a year, subdomains included), on every answer, API,
    pages and problems alike; development and tests send none (``assert_security_headers``)."""
    import httpx

    from app.main import create_app

    app = create_app(
        Settings(
            env="production",
            secret_key=STRONG,
            encryption_key=OTHER,
            public_url="https://erdv.example",
            data_dir=tmp_path,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'erdv.db'}",
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://erdv.example") as client:
        for path in ("/healthz", "/", "/api/v1/no-such-thing"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == (
                "max-age=31536000; includeSubDomains"
            ), path


def test_the_readme_lists_every_setting() -> None:
    """``Settings`` says the README's table lists every knob: five had gone missing."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`ERDV_{name.upper()}`" not in readme]
    assert missing == []
