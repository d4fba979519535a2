"""Mail backends: the file outbox (atomic .eml files) and real SMTP to a local aiosmtpd server."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.core.mail import FileMailer, SmtpMailer, build_mailer, build_message, wire_bytes
from app.core.messages import Mail
from app.core.settings import Settings
from tests.helpers.cli import free_port


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


async def test_smtp_backend_sends_to_a_real_server(
    smtp_server: tuple[Sink, int], tmp_path: Path
) -> None:
    sink, port = smtp_server
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        secret_key="k" * 43,
        encryption_key="e" * 43,
    )
    mailer = build_mailer(settings)
    assert isinstance(mailer, SmtpMailer)
    mail = Mail(to="someone@example.test", subject="Hello", body="Bonjour ✓\n")
    await mailer.send(build_message(mail, settings.mail_from))
    assert len(sink.messages) == 1
    sender, recipients, content = sink.messages[0]
    assert recipients == ["someone@example.test"]
    assert "no-reply@erdv.localhost" in sender
    parsed = message_from_bytes(content, policy=default)
    assert parsed["Subject"] == "Hello"
    assert "Bonjour ✓" in parsed.get_body().get_content()  # type: ignore[union-attr]


async def test_file_backend_writes_complete_eml_files(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "outbox")
    for i in range(3):
        mail = Mail(to="a@example.test", subject=f"n{i}", body="x")
        await mailer.send(build_message(mail, "erdv <no-reply@erdv.localhost>"))
    mailer.close()
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 3
    assert all(f.suffix == ".eml" and not f.name.startswith(".tmp") for f in files)
    parsed = message_from_bytes(files[0].read_bytes(), policy=default)
    assert parsed["To"] == "a@example.test"
    assert parsed["Message-ID"]
    assert parsed["Date"]


@pytest.mark.parametrize(
    "subject",
    [
        "Rendez-vous confirmé",
        "Un changement de votre adresse erdv a été demandé",
        "é" * 120,
        "A plain ASCII subject that is long enough to need folding when it is written to the wire",
    ],
)
def test_subjects_come_back_exactly_and_encoded_words_stay_short(subject: str) -> None:
    """RFC 2047 2 (an encoded word is at most 75 characters), RFC 5322 2.1.1 (lines of at most
    78), and what a reader's parser gives back is the subject written, without a leading space."""
    data = wire_bytes(build_message(Mail(to="a@example.test", subject=subject, body="x"), "n@e.t"))
    head = data.split(b"\r\n\r\n")[0].decode("ascii")
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    for word in head.split():
        if word.startswith("=?"):
            assert len(word) <= 75, word
    assert message_from_bytes(data, policy=default)["Subject"] == subject
