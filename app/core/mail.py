"""Outgoing mail: what a message is, how it is built, the two transports, and the request's queue.

- ``file`` writes each message as an RFC 5322 ``.eml`` under ``<data dir>/outbox/``, atomically (a
  temporary file renamed into place), so a reader never sees half a message (docs/api.md "Mail in
  development").
- ``smtp`` talks to the relay with ``aiosmtplib`` on the event loop (STARTTLS and authentication per
  settings): no thread at all, so a slow or silent relay holds no thread that request work needs
  (password hashing, the password-strength check, SQLite's commits: README.md "Mail and the
  outbox").

Requests do not send mail themselves. ``MailQueue.queue(Mail(...))`` (the ``OutgoingMail``
dependency) writes the message into the durable outbox **in the request's transaction**
(``app.outbox``): a change that rolls back announces nothing, and a change that commits cannot lose
its message, whatever happens to the process after the commit. Once the response has been sent, the
request hands what it staged to the outbox for delivery; the outbox's worker retries what fails.
Delivery happens after the response, so its latency (an SMTP round trip) cannot tell a caller
whether an address is registered (register and forgot-password answer alike, docs/security.md
"Passwords").

``MailQueue.prepare(kind, data)`` stages a message whose content is only decided after the commit,
by the renderer of its kind (``app.accounts.deferred``): forgot-password uses it so that the request does
the same work whether or not the address is registered.

Mails carry links built from ``ERDV_PUBLIC_URL`` and never a visit reason, a password or a code.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.db import add_post_commit_hook, add_pre_commit_hook
from app.core.messages import Deferred, Mail, Outgoing, PermanentFailure, Sms, Webhook
from app.core.request_db import Database
from app.core.settings import MailBackend, Settings

if TYPE_CHECKING:
    import aiosmtplib

logger = logging.getLogger("erdv.mail")


def _subject(value: str) -> str:
    """The subject, as RFC 2047 encoded words when it is not ASCII: folded knowing the header's
    name, so no encoded word passes 75 characters (RFC 2047 2) and the first one sits on the
    ``Subject:`` line (without the name, a long French subject was one 84-character word pushed
    to a continuation line, which readers unfold into a leading space)."""
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name="Subject").encode(maxlinelen=76)


#: text parts in quoted-printable: readable as written (the development outbox's files), and
#: 7-bit safe for any relay
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _text(content: str, subtype: str) -> MIMEText:
    return MIMEText(content, subtype, _UTF8)  # type: ignore[arg-type]


def _multipart(subtype: str) -> MIMEMultipart:
    """A multipart whose boundary starts with ``=_``, which quoted-printable text (every part
    here) cannot contain (RFC 2045 6.7, RFC 2046 5.1.1): the generator need not search the parts
    for it, which compiled a regular expression per message."""
    return MIMEMultipart(subtype, boundary=f"=_erdv_{os.urandom(12).hex()}")


def build_message(mail: Mail, sender: str, *, message_id: str | None = None) -> Message:
    """The RFC 5322 message: plain text, the same in HTML beside it (``multipart/alternative``),
    attachments around both (``multipart/mixed``). ``message_id`` is the outbox message's own (the
    same on every try), so a recipient's system can recognise a message delivered twice (see
    ``app.outbox``).

    Built with the ``email.mime`` classes: the header registry of ``Message`` parses every
    header it is given again, which made a notice's two mails cost more CPU than the booking that
    sent them (bench/README.md "Performance rules in the code").
    """
    body: Message = _text(mail.body, "plain")
    if mail.html is not None:
        alternative = _multipart("alternative")
        alternative.attach(body)
        alternative.attach(_text(mail.html, "html"))
        body = alternative
    if mail.attachments:
        mixed = _multipart("mixed")
        mixed.attach(body)
        for attachment in mail.attachments:
            maintype, _, rest = attachment.content_type.partition("/")
            subtype, *params = (part.strip() for part in rest.split(";"))
            part = _text(attachment.content, subtype)
            for name, value in (p.split("=", 1) for p in params if "=" in p):
                if name != "charset":
                    part.set_param(name, value)
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            mixed.attach(part)
        body = mixed
    body["From"] = formataddr(parseaddr(sender), charset="utf-8")
    body["To"] = formataddr(parseaddr(mail.to), charset="utf-8")
    body["Subject"] = _subject(mail.subject)
    body["Date"] = format_datetime(clock.now())
    body["Message-ID"] = message_id or make_msgid(domain="erdv.localhost")
    body["Auto-Submitted"] = "auto-generated"
    return body


class _Wire(Compat32):
    """``compat32`` as ``email.generator`` writes it for the wire, without refolding the headers
    that are already short lines of ASCII.

    ``build_message`` writes every header ASCII-only (RFC 2047 words for the rest), and nearly all
    fit on one line; ``compat32`` nonetheless puts each through ``email.header.Header`` again,
    which was most of the cost of turning a notice into bytes (0.61 → 0.25 ms a mail;
    bench/README.md "Performance rules in the code"). Longer or non-ASCII values still get the
    library's folding, so the bytes are the same."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\n" not in value
            and len(name) + len(value) + 2 <= 78
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _Wire(linesep="\r\n")


def wire_bytes(message: Message) -> bytes:
    """The message as sent (CRLF line ends, RFC 5322 2.1)."""
    with io.BytesIO() as out:
        BytesGenerator(out, policy=_WIRE).flatten(message)
        return out.getvalue()


class MailSession(Protocol):
    """One connection to the transport, for several messages in a row."""

    #: a send failed in a way that may have left the connection unusable: open another
    broken: bool

    async def send(self, message: Message) -> None:
        """Send one message; ``PermanentFailure`` if the relay refused it for good."""
        ...


class Mailer(Protocol):
    def session(self) -> AbstractAsyncContextManager[MailSession]:
        """A session for sending messages one after another (the outbox's lanes): with SMTP, one
        connection, EHLO and QUIT for all of them instead of one each."""
        ...

    async def send(self, message: Message) -> None:
        """One message in a session of its own."""
        ...

    def close(self) -> None: ...


class FileMailer:
    """Writes ``<outbox>/<timestamp>-<random>.eml`` files (development and tests), durably, in a
    thread of its own: never in the pool that request work uses.

    A message counts as sent once its file is on disk (``fsync``), which is what lets the outbox
    mark it sent. The files are written in groups: whatever the lanes hand over while the thread
    is busy is written next, all files, then all synced, renamed into place and the directory
    synced once. One sync a file, each at its own time, competed with the database's own syncs
    on the same disk: on SQLite, bookings fell by a fifth (bench/README.md "Performance rules in
    the code")."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erdv-mail-file")
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.broken = False  # a file system has no session to break

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        yield self

    async def send(self, message: Message) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((wire_bytes(message), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(), name="erdv-mail-file")
        await done

    async def _write_groups(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await loop.run_in_executor(self._pool, self._write, [data for data, _ in group])
            except Exception as error:
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)

    def _write(self, group: list[bytes]) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        # written under names that do not end in .eml, then renamed: whoever reads "*.eml"
        # (a person, a test, a mail viewer) never meets a half-written or vanishing file
        written: list[tuple[int, str]] = []
        try:
            for data in group:
                fd, tmp = tempfile.mkstemp(dir=self.outbox, prefix=".tmp-", suffix=".part")
                written.append((fd, tmp))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            for fd, _ in written:
                os.fsync(fd)
            for _, tmp in written:
                stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
                os.replace(tmp, self.outbox / f"{stamp}-{os.urandom(4).hex()}.eml")
            directory = os.open(self.outbox, os.O_RDONLY)
            try:
                os.fsync(directory)  # the new names too
            finally:
                os.close(directory)
        except BaseException:
            for _, tmp in written:
                Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            for fd, _ in written:
                os.close(fd)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


class _SmtpSession:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.broken = False

    async def send(self, message: Message) -> None:
        import aiosmtplib  # loaded with the first SMTP session (SmtpMailer.session)

        sender = parseaddr(str(message["From"]))[1]
        recipient = parseaddr(str(message["To"]))[1]
        try:
            await self.client.sendmail(sender, [recipient], wire_bytes(message))
        except aiosmtplib.SMTPRecipientsRefused as error:
            # aiosmtplib reset the envelope (RSET): the session goes on
            codes = [r.code for r in error.recipients]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(codes[0]) from None
            raise
        except aiosmtplib.SMTPResponseException as error:
            # the same, unless the relay is closing the connection (RFC 5321 3.8)
            self.broken = error.code == 421
            if error.code >= 500:
                raise PermanentFailure(error.code) from None
            raise
        except BaseException:  # disconnected, timed out, cancelled: mid-command, perhaps
            self.broken = True
            raise


class SmtpMailer:
    """Sends through an SMTP relay (``ERDV_SMTP_*``) with ``aiosmtplib``, on the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: this host's name for EHLO (RFC 5321 4.1.1.1), looked up once: aiosmtplib would look it
        #: up again at every connection, in the default thread pool that request work uses
        self._helo: str | None = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        # imported where first used, not at start: a worker that never sends by SMTP (the file
        # backend) does not carry it (bench/README.md "Performance rules in the code", B9)
        import aiosmtplib

        s = self.settings
        if self._helo is None:
            self._helo = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
            local_hostname=self._helo,
        )
        await client.connect()
        session = _SmtpSession(client)
        try:
            yield session
        except BaseException:
            client.close()
            raise
        if session.broken:  # mid-command, perhaps: no QUIT
            client.close()
            return
        try:
            await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, message: Message) -> None:
        async with self.session() as session:
            await session.send(message)

    def close(self) -> None:
        return None


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail_backend is MailBackend.SMTP:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)


class MailSink(Protocol):
    """Where a ``MailQueue`` puts its messages: the outbox (``app.outbox.service.Outbox``)."""

    async def stage(
        self, session: AsyncSession, items: Sequence[Outgoing], *, claimed: bool
    ) -> list[Any]:
        """Insert ``items`` in ``session``'s transaction; with ``claimed``, leased to this process,
        which delivers them itself once the transaction has committed (``deliver``)."""
        ...

    async def deliver(self, staged: Sequence[Any]) -> None:
        """Deliver what ``stage`` returned (after the commit); never raises."""
        ...

    async def render(
        self, session: AsyncSession, queue: MailQueue, kind: str, data: dict[str, Any]
    ) -> None:
        """Run the renderer of ``kind`` in ``session``, writing on ``queue``."""
        ...


class MailQueue:
    """The messages one transaction sends: staged in the outbox just before it commits.

    ``deliver_after`` receives what was staged once the transaction has committed, for whoever
    delivers it at once (a request, after its response; the outbox worker, after a render). Without
    one (a command-line tool), the messages wait for a server's outbox worker.
    """

    def __init__(
        self,
        session: Callable[[], AsyncSession | None],
        sink: MailSink,
        *,
        deliver_after: list[Any] | None = None,
    ) -> None:
        self._session = session
        self._sink = sink
        self._deliver_after = deliver_after
        self.pending: list[Outgoing] = []
        self._despite_failure: list[Outgoing] = []

    def queue(self, message: Mail | Sms | Webhook, *, despite_failure: bool = False) -> None:
        """Stage ``message`` with the transaction. ``despite_failure``: a message about the
        failure itself (a refused copy of a passkey, NIST SP 800-63B §6.1.2.1), staged when the
        failed request keeps its own bookkeeping (``RecordedFailure``) and dropped with the rest
        when the transaction rolls back."""
        self._add(message)
        if despite_failure:
            self._despite_failure.append(message)

    def prepare(self, kind: str, data: dict[str, Any], *, dedupe_key: str | None = None) -> None:
        """Stage a message that the renderer of ``kind`` writes after the commit (``Deferred``)."""
        self._add(Deferred(kind, data, dedupe_key))

    def write_at_commit(self, kind: str, data: dict[str, Any]) -> None:
        """Have the renderer of ``kind`` write its messages in this transaction, just before it
        commits: it reads what the change left, and its messages are staged with the change.
        One transaction fewer per change than ``prepare`` (no render of its own afterwards), for
        messages whose content the request may know (appointment notices; forgot-password must
        not, see ``app.accounts.recovery``)."""
        self._add(Deferred(kind, data, at_commit=True))

    async def write_now(self, kind: str, data: dict[str, Any]) -> None:
        """Have the renderer of ``kind`` write its messages at once, reading through this queue's
        session, and stage them at commit like the rest: for a change whose later steps, in the
        same transaction, erase what the messages read (an account's erasure cancels its
        appointments, and each notice must still name the people it is about)."""
        session = self._session()
        if session is None:
            raise RuntimeError("a collecting queue has no session to render with")
        written = MailQueue.collecting(self._sink)
        await self._sink.render(session, written, kind, data)
        for message in written.pending:
            self._add(message)

    @classmethod
    def collecting(cls, sink: MailSink) -> MailQueue:
        """A queue that only collects what a renderer writes, for its caller to stage."""
        return cls(lambda: None, sink)

    def _add(self, item: Outgoing) -> None:
        if not self.pending:
            session = self._session()
            if session is not None:  # a collecting queue stages nothing itself
                add_pre_commit_hook(session, "outbox", self._stage)
        self.pending.append(item)

    def discard(self) -> None:
        """The work failed: what it meant to announce did not happen. Only the messages about
        the failure itself stay (``queue(..., despite_failure=True)``)."""
        kept = {id(message) for message in self._despite_failure}
        self.pending = [item for item in self.pending if id(item) in kept]

    async def _stage(self, session: AsyncSession) -> None:
        items, self.pending, self._despite_failure = self.pending, [], []
        if not items:
            return
        if any(isinstance(item, Deferred) and item.at_commit for item in items):
            written = MailQueue.collecting(self._sink)
            for item in items:
                if isinstance(item, Deferred) and item.at_commit:
                    await self._sink.render(session, written, item.kind, item.data)
            items = [
                i for i in items if not (isinstance(i, Deferred) and i.at_commit)
            ] + written.pending
            if not items:
                return
        staged = await self._sink.stage(session, items, claimed=self._deliver_after is not None)
        if self._deliver_after is not None:
            target = self._deliver_after
            add_post_commit_hook(session, "outbox", lambda: target.extend(staged))


async def _deliver_after_response(request: Request) -> AsyncIterator[list[Any]]:
    """Request scope: the code after ``yield`` runs once the response has been sent. ``staged``
    holds only what a committed transaction staged: a failed request that kept its own
    bookkeeping (``RecordedFailure``) may have committed a mail about the failure, delivered
    here as well, not left to wait for its lease."""
    staged: list[Any] = []
    sink: MailSink = request.app.state.outbox
    try:
        yield staged
    except Exception:
        if staged:
            await sink.deliver(staged)
        raise
    if staged:
        await sink.deliver(staged)


async def _request_mail(
    request: Request,
    database: Database,
    staged: Annotated[list[Any], Depends(_deliver_after_response, scope="request")],
) -> AsyncIterator[MailQueue]:
    queue = MailQueue(lambda: database.session, request.app.state.outbox, deliver_after=staged)
    try:
        yield queue
    except BaseException:
        # the request failed: what it meant to announce did not happen (even when its own
        # bookkeeping is kept, app.core.errors.RecordedFailure)
        queue.discard()
        raise


OutgoingMail = Annotated[MailQueue, Depends(_request_mail, scope="function")]
