"""Notifications are tested over a real SMTP server (``tests/helpers/smtp.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import MailBackend, Settings
from tests.helpers.smtp import SmtpSink, smtp_sink


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpSink]:
    # where the root ``settings`` fixture puts the data directory's mail outbox
    with smtp_sink(tmp_path / "data" / "outbox") as sink:
        yield sink


@pytest.fixture
def settings(settings: Settings, smtp: SmtpSink) -> Settings:
    """The root fixture's settings, with every mail sent over SMTP to ``smtp``."""
    assert settings.outbox_dir == smtp.outbox_dir
    return settings.model_copy(
        update={
            "mail_backend": MailBackend.SMTP,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
        }
    )
