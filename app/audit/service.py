"""Recording, verifying and purging the audit trail.

``AuditTrail.record()`` is how every domain leaves a trace: it is bound to the request's session and
appends its entries in the same transaction as the change they describe, just before the commit (a
pre-commit hook, ``app.core.db``). If the audit write fails, the transaction fails with it, so there
is no action without its trace (docs/security.md "Audit trail").

What an entry may hold: who (account id and role, OAuth client id, or ``system``), what (an
``AuditAction``), about whom (``subject_id``: the patient whose data it is), which object (type and
id), where (IP, request id), the outcome and a few non-sensitive ``details``. Never values of health
data (no visit reason, no name, no email), never secrets (token hashes at most).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import chain
from app.audit.models import ActorType, AuditAction, AuditCheckpoint, AuditHead, AuditOutcome
from app.audit.repository import AuditRepository
from app.core import clock
from app.core.crypto import derive_key
from app.core.db import TX_PREFIX, add_pre_commit_hook, new_id
from app.core.logging import client_ip_var, request_id_var
from app.core.settings import Settings

logger = logging.getLogger("erdv.audit")

_DETAIL_VALUE = str | int | bool | None
_MAX_DETAIL_LENGTH = 200


def audit_key(secret_key: bytes) -> bytes:
    return derive_key(secret_key, "audit-chain")


@dataclass(frozen=True)
class Actor:
    """Who did it. Build with the class methods; ``client_id`` marks a third party acting."""

    type: ActorType
    id: str | None = None
    role: str | None = None
    client_id: str | None = None

    @classmethod
    def account(cls, account_id: object, role: str, *, client_id: str | None = None) -> Actor:
        return cls(ActorType.ACCOUNT, str(account_id), role, client_id)

    @classmethod
    def client(cls, client_id: str, *, on_behalf_of: object | None = None) -> Actor:
        return cls(
            ActorType.CLIENT,
            str(on_behalf_of) if on_behalf_of is not None else None,
            "patient" if on_behalf_of is not None else None,
            client_id,
        )

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(ActorType.ANONYMOUS)


@dataclass
class _Pending:
    rows: list[dict[str, object]] = field(default_factory=list)


class AuditTrail:
    """The request's recorder. ``await audit.record(AuditAction.X, actor=..., ...)``."""

    def __init__(self, session: AsyncSession, key: bytes) -> None:
        self.session = session
        self.key = key

    @classmethod
    def for_settings(cls, session: AsyncSession, settings: Settings) -> AuditTrail:
        """The recorder keyed from ``settings``' secret (``audit_key``). Any number may exist in
        one transaction: what they record is buffered in the session."""
        return cls(session, audit_key(settings.secret_key_bytes))

    async def record(
        self,
        action: AuditAction,
        *,
        actor: Actor,
        outcome: AuditOutcome = AuditOutcome.SUCCESS,
        subject_id: object | None = None,
        object_type: str | None = None,
        object_id: object | None = None,
        details: Mapping[str, _DETAIL_VALUE] | None = None,
    ) -> None:
        if not isinstance(action, AuditAction):
            raise TypeError("audit actions come from the closed AuditAction vocabulary")
        pending = self._pending()
        pending.rows.append(
            {
                "id": new_id(),
                "at": clock.now(),
                "action": action.value,
                "outcome": AuditOutcome(outcome).value,
                "actor_type": actor.type.value,
                "actor_id": actor.id,
                "actor_role": actor.role,
                "client_id": actor.client_id,
                "subject_id": str(subject_id) if subject_id is not None else None,
                "object_type": object_type,
                "object_id": str(object_id) if object_id is not None else None,
                "ip": client_ip_var.get(),
                "request_id": request_id_var.get(),
                "details": chain.canonical_json(_clean_details(details or {})),
            }
        )

    def _pending(self) -> _Pending:
        pending: _Pending | None = self.session.info.get(TX_PREFIX + "audit_pending")
        if pending is None:
            pending = _Pending()
            self.session.info[TX_PREFIX + "audit_pending"] = pending
            add_pre_commit_hook(self.session, "audit", self._flush, last=True)
        return pending

    async def _flush(self, session: AsyncSession) -> None:
        pending: _Pending | None = session.info.pop(TX_PREFIX + "audit_pending", None)
        if pending is None or not pending.rows:
            return
        await append(session, self.key, pending.rows)


def _clean_details(details: Mapping[str, _DETAIL_VALUE]) -> dict[str, _DETAIL_VALUE]:
    cleaned: dict[str, _DETAIL_VALUE] = {}
    for key, value in details.items():
        if not isinstance(value, str | int | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a string, integer, boolean or null")
        if isinstance(value, str) and len(value) > _MAX_DETAIL_LENGTH:
            raise ValueError(f"audit detail {key!r} is too long for a reason code")
        cleaned[key] = value
    return cleaned


async def append(session: AsyncSession, key: bytes, rows: list[dict[str, object]]) -> None:
    """Chain and insert ``rows`` (without seq/hashes) under the writers' lock.

    On PostgreSQL the lock and the read of the head share one round trip, the read taken once the
    lock is granted; the first entry is still inserted only if nothing took its place (else the
    head is read again), so the chain stays linear and gapless even if that ever failed: every
    append happens under the lock, after the real head.
    """
    repository = AuditRepository(session)
    head, certain = await repository.lock_writers_and_head()
    _chain(rows, head, key)
    if certain:
        await repository.insert_entries(rows)
    elif not await repository.insert_next(rows):
        _chain(rows, await repository.head(), key)
        await repository.insert_entries(rows)
    # the head record moves with the chain, in this transaction (see ``verify``)
    newest = rows[-1]
    seq, digest = int(str(newest["seq"])), str(newest["hash"])
    await repository.move_head(seq, digest, chain.head_mac(key, seq, digest), clock.now())


def _chain(rows: list[dict[str, object]], head: tuple[int, str] | None, key: bytes) -> None:
    seq, prev_hash = head if head is not None else (0, chain.GENESIS_HASH)
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev_hash
        digest = chain.entry_hash(prev_hash, chain.entry_payload(row))
        row["hash"] = digest
        row["mac"] = chain.entry_mac(key, digest)
        prev_hash = digest


#: Resolves actor ids to display names: ``{"account": {id: name}, "client": {id: name}}``.
NameResolver = Callable[[AsyncSession, set[str], set[str]], Awaitable[dict[str, dict[str, str]]]]

_ROLE_LABELS = {"system": "erdv", "anonymous": "anonymous"}


@dataclass(frozen=True)
class AccessLogLine:
    seq: int
    at: datetime
    actor_role: str
    actor_name: str
    action: str
    outcome: str
    via: str


async def access_log(
    session: AsyncSession,
    subject_id: str,
    resolve_names: NameResolver,
    *,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AccessLogLine]:
    """What was done with a patient's data and by whom, newest first (the patient's own view).

    Third parties appear under their client's name with ``via = "api"``; erdv's own jobs as
    ``erdv`` with ``via = "system"``.
    """
    rows = await AuditRepository(session).entries_about(
        subject_id, limit=limit, before_seq=before_seq
    )
    account_ids = {str(r.actor_id) for r in rows if r.actor_id and r.actor_type == "account"}
    client_ids = {str(r.client_id) for r in rows if r.client_id}
    names = await resolve_names(session, account_ids, client_ids)
    lines = []
    for row in rows:
        if row.client_id:
            via = "api"
            name = names.get("client", {}).get(str(row.client_id), "third-party application")
            role = "third_party"
        elif row.actor_type == "account":
            via = "web"
            name = names.get("account", {}).get(str(row.actor_id), "deleted account")
            role = str(row.actor_role or "account")
        else:
            via = "system"
            role = str(row.actor_type)
            name = _ROLE_LABELS.get(role, role)
        lines.append(
            AccessLogLine(
                seq=int(row.seq),
                at=row.at,
                actor_role=role,
                actor_name=name,
                action=str(row.action),
                outcome=str(row.outcome),
                via=via,
            )
        )
    return lines


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head: str
    first_bad: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    #: the newest entry's seq when the chain holds (0: empty)
    head_seq: int | None = None


async def verify(session: AsyncSession, key: bytes) -> VerifyResult:
    """Recompute the chain from the genesis (or the latest signed purge checkpoint) to the head.

    Names the first entry that does not fit: a changed row (its hash or MAC no longer matches), a
    removed one (a gap in ``seq`` or a broken link), an inserted or reordered one (a broken link).
    """
    repository = AuditRepository(session)
    # read before the entries: whatever the walk finds was committed with this head or after it
    pinned = await repository.head_record()
    checkpoint = await repository.latest_checkpoint()
    expected_seq, prev_hash = 1, chain.GENESIS_HASH
    if checkpoint is not None:
        if not chain.constant_mac_ok(
            chain.checkpoint_mac(key, checkpoint.cut_seq, checkpoint.cut_hash), checkpoint.mac
        ):
            return VerifyResult(False, 0, prev_hash, None, None, "purge checkpoint was altered")
        expected_seq, prev_hash = checkpoint.cut_seq + 1, checkpoint.cut_hash

    count = 0
    async for row in repository.iter_entries(after_seq=0):
        fields = dict(row._mapping)
        problem = None
        if int(row.seq) != expected_seq:
            problem = f"sequence gap: expected {expected_seq}, found {row.seq}"
        elif fields["prev_hash"] != prev_hash:
            problem = "link to the previous entry is broken"
        else:
            digest = chain.entry_hash(prev_hash, chain.entry_payload(fields))
            if digest != fields["hash"]:
                problem = "content does not match its hash"
            elif not chain.constant_mac_ok(chain.entry_mac(key, digest), str(fields["mac"])):
                problem = "hash is not authenticated by the audit key"
        if problem is not None:
            return VerifyResult(False, count, prev_hash, str(row.id), int(row.seq), problem)
        count += 1
        expected_seq = int(row.seq) + 1
        prev_hash = str(fields["hash"])
        if pinned is not None and int(row.seq) == pinned.seq and prev_hash != pinned.hash:
            return VerifyResult(
                False, count, prev_hash, str(row.id), int(row.seq), "head record does not match"
            )
    problem = _head_problem(pinned, key, expected_seq - 1, checkpoint is not None or count > 0)
    if problem is not None:
        return VerifyResult(False, count, prev_hash, None, expected_seq, problem)
    return VerifyResult(True, count, prev_hash, head_seq=expected_seq - 1)


def _head_problem(
    pinned: AuditHead | None, key: bytes, newest_seq: int, anything: bool
) -> str | None:
    """Deleting the newest entries leaves a shorter chain that is valid in itself: the head
    record, MAC'd and moved in the transaction of every append, says how far it must reach."""
    if pinned is None:
        return "the head record is missing" if anything else None
    if not chain.constant_mac_ok(chain.head_mac(key, pinned.seq, pinned.hash), pinned.mac):
        return "the head record is not authenticated by the audit key"
    if newest_seq < pinned.seq:
        return f"entries {newest_seq + 1} to {pinned.seq} are missing (the head record names them)"
    return None


async def pin_missing_head(session: AsyncSession, key: bytes) -> bool:
    """A trail written before the head record existed gets one, pinned to its newest entry (run
    by ``erdv migrate``): from then on, deleting entries from its end is detected."""
    repository = AuditRepository(session)
    await repository.lock_writers()
    if await repository.head_record() is not None:
        return False
    head = await repository.head()
    if head is None:
        return False
    seq, digest = head
    await repository.move_head(seq, digest, chain.head_mac(key, seq, digest), clock.now())
    return True


ANCHOR_KIND = "erdv-audit-anchor"


class AnchorError(ValueError):
    """An anchor file that cannot be used: unreadable, or not signed by this installation."""


def _anchor_key(secret_key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(derive_key(secret_key, "audit-anchor"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def make_anchor(session: AsyncSession, secret_key: bytes) -> dict[str, object]:
    """The verified head, signed (Ed25519, key derived from the secret) for an operator to keep
    outside the database: a later ``verify_with_anchor`` proves that the trail still reaches it.
    The head record alone cannot show that it was replaced by an older one with its entries;
    a copy kept elsewhere can. Refuses to sign a broken chain."""
    result = await verify(session, audit_key(secret_key))
    if not result.ok:
        raise AnchorError(f"the chain is broken at seq {result.first_bad_seq}: {result.reason}")
    signer = _anchor_key(secret_key)
    body: dict[str, object] = {
        "kind": ANCHOR_KIND,
        "seq": result.head_seq or 0,
        "hash": result.head,
        "at": chain.format_instant(clock.now()),
    }
    signature = signer.sign(chain.canonical_json(body).encode("utf-8"))
    public = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return body | {"public_key": _b64(public), "signature": _b64(signature)}


def read_anchor(text: str, secret_key: bytes) -> tuple[int, str]:
    """``(seq, hash)`` of an anchor this installation signed; else ``AnchorError``."""
    try:
        document = json.loads(text)
        body = {name: document[name] for name in ("kind", "seq", "hash", "at")}
        signature = _unb64(str(document["signature"]))
        seq, digest = int(body["seq"]), str(body["hash"])
    except (ValueError, KeyError, TypeError) as error:
        raise AnchorError("not an erdv audit anchor") from error
    if body["kind"] != ANCHOR_KIND:
        raise AnchorError("not an erdv audit anchor")
    try:
        _anchor_key(secret_key).public_key().verify(
            signature, chain.canonical_json(body).encode("utf-8")
        )
    except InvalidSignature as error:
        raise AnchorError("the anchor's signature does not match this installation") from error
    return seq, digest


async def verify_with_anchor(
    session: AsyncSession, key: bytes, anchor: tuple[int, str]
) -> VerifyResult:
    """``verify``, and the chain reaches at least the anchored head, through the very entry it
    names (or past it, behind a purge checkpoint)."""
    result = await verify(session, key)
    if not result.ok:
        return result
    seq, digest = anchor
    repository = AuditRepository(session)
    if (result.head_seq or 0) < seq:
        return dataclasses.replace(
            result,
            ok=False,
            first_bad_seq=(result.head_seq or 0) + 1,
            reason=f"the trail ends at seq {result.head_seq or 0}, before the anchored seq {seq}",
        )
    checkpoint = await repository.latest_checkpoint()
    cut = checkpoint.cut_seq if checkpoint is not None else 0
    if seq > cut:
        found = await repository.entry_hash(seq)
    elif checkpoint is not None and seq == cut:
        found = checkpoint.cut_hash
    else:
        found = digest  # purged since it was anchored: the checkpoint vouches for the cut
    if seq > 0 and found != digest:
        return dataclasses.replace(
            result, ok=False, first_bad_seq=seq, reason="the anchored entry was replaced"
        )
    return result


async def verify_and_record(session: AsyncSession, key: bytes, actor: Actor) -> VerifyResult:
    """Verify the chain and record that it was verified, with the outcome: the compliance report
    (C9) reads the latest such entry, whoever asked (the daily job or an admin)."""
    result = await verify(session, key)
    if not result.ok:
        logger.error("audit chain broken", extra={"seq": result.first_bad_seq})
    await AuditTrail(session, key).record(
        AuditAction.AUDIT_VERIFIED,
        actor=actor,
        outcome=AuditOutcome.SUCCESS if result.ok else AuditOutcome.FAILURE,
        details={"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq},
    )
    return result


async def purge_older_than(
    session: AsyncSession, key: bytes, retention: timedelta, *, now: datetime | None = None
) -> int:
    """Delete entries older than ``retention`` and leave a MAC'd checkpoint where the cut is.

    Runs under the writers' lock so that no entry is appended between finding the cut and cutting.
    The purge itself is recorded as an entry (``audit.purged``) after the cut.
    """
    repository = AuditRepository(session)
    await repository.lock_writers()
    cutoff = (now or clock.now()) - retention
    cut = await repository.last_entry_before(cutoff)
    if cut is None:
        return 0
    cut_seq, cut_hash = cut
    # the checkpoint first: on PostgreSQL a trigger lets only entries a checkpoint covers be
    # deleted (migration b3e1f0c7a9d2), so nothing newer can be removed, purge or not
    await repository.add_checkpoint(
        AuditCheckpoint(
            id=new_id(),
            created_at=clock.now(),
            cut_seq=cut_seq,
            cut_hash=cut_hash,
            purged_count=await repository.count_through(cut_seq),
            mac=chain.checkpoint_mac(key, cut_seq, cut_hash),
        )
    )
    removed = await repository.delete_through(cut_seq)
    await AuditTrail(session, key).record(
        AuditAction.AUDIT_PURGED,
        actor=Actor.system(),
        details={"removed": removed, "cut_seq": cut_seq},
    )
    return removed
