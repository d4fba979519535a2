"""SQL for accounts, their mailed tokens and their sessions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Account, AccountStatus, AccountToken, AuthSession, Role
from app.core.repository import changed, table_of
from app.mfa.models import TotpCredential
from app.throttle.models import ThrottleState

account_table = table_of(Account)
token_table = table_of(AccountToken)
session_table = table_of(AuthSession)
_totp_table = table_of(TotpCredential)
_throttle_table = table_of(ThrottleState)


@dataclass(frozen=True)
class LoginCandidate:
    """What the password step needs about an email, read in one statement."""

    #: the account's columns the password step uses, or None for an unknown email
    account: LoginAccount | None
    #: ``blocked_until`` of each requested throttle key that has a row (a row: failures counted)
    throttle: Mapping[str, datetime | None]


@dataclass(frozen=True)
class LoginAccount:
    id: uuid.UUID
    role: str
    password_hash: str
    status: str
    email_verified_at: datetime | None
    totp_enrolled: bool


#: the login's throttle keys, in the order ``login_candidate`` takes them: the account's, the
#: client address's, and a trusted device's (a browser that completed a login for the account)
_KEY_NAMES = ("account", "ip", "device")


def _login_statement(*, keys: int) -> sa.Select[Any]:
    """One row whatever the email: the account (if any) with its TOTP enrolment and, when the
    throttle state lives in this database, the login's throttle keys. Built once: the login
    is the hottest anonymous path, and each statement costs a round trip and its construction."""
    a, totp = account_table, _totp_table
    one = sa.select(sa.literal_column("1").label("one")).subquery("one")
    joined = one.outerjoin(a, a.c.email == sa.bindparam("email")).outerjoin(
        totp, totp.c.account_id == a.c.id
    )
    columns: list[sa.ColumnElement[Any]] = [
        a.c.id,
        a.c.role,
        a.c.password_hash,
        a.c.status,
        a.c.email_verified_at,
        totp.c.secret.is_not(None).label("totp_enrolled"),
    ]
    for name in _KEY_NAMES[:keys]:
        state = _throttle_table.alias(f"throttle_{name}")
        joined = joined.outerjoin(state, state.c.key == sa.bindparam(f"{name}_key"))
        columns += [
            state.c.key.label(f"{name}_key"),
            state.c.blocked_until.label(f"{name}_blocked_until"),
        ]
    return sa.select(*columns).select_from(joined)


_LOGIN_BY_KEYS = {keys: _login_statement(keys=keys) for keys in (0, 2, 3)}
_INSERT_SESSION = sa.insert(session_table)
_DELETE_SESSION_BY_HASH = sa.delete(session_table).where(
    session_table.c.token_hash == sa.bindparam("token_hash")
)


def _count(result: Any) -> int:
    return changed(result)


#: every authenticated request loads its session: built once
_SESSION_BY_HASH = (
    sa.select(AuthSession, Account)
    .join(Account, account_table.c.id == session_table.c.account_id)
    .where(session_table.c.token_hash == sa.bindparam("token_hash"))
)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # accounts
    async def by_email(self, email: str) -> Account | None:
        result = await self.session.execute(
            sa.select(Account).where(account_table.c.email == email)
        )
        return result.scalar_one_or_none()

    async def by_rpps(self, rpps: str) -> Account | None:
        result = await self.session.execute(sa.select(Account).where(account_table.c.rpps == rpps))
        return result.scalar_one_or_none()

    async def login_candidate(
        self, email: str, throttle_keys: tuple[str, ...] = ()
    ) -> LoginCandidate:
        """The account for ``email`` as the password step needs it, with its TOTP enrolment and,
        when given ``(account_key, ip_key[, device_key])``, their throttle state: one statement
        for all (the throttle state is in this database, read after the caller took the key's
        lock)."""
        params = {"email": email}
        names = _KEY_NAMES[: len(throttle_keys)]
        params |= {f"{name}_key": key for name, key in zip(names, throttle_keys, strict=True)}
        row = (await self.session.execute(_LOGIN_BY_KEYS[len(throttle_keys)], params)).one()
        throttle: dict[str, datetime | None] = {}
        for name in names:
            key = row._mapping[f"{name}_key"]
            if key is not None:
                throttle[key] = row._mapping[f"{name}_blocked_until"]
        account = None
        # an erased account signs in as no account does (its address names nobody anyway)
        if row.id is not None and row.status != AccountStatus.DELETED.value:
            account = LoginAccount(
                id=row.id,
                role=row.role,
                password_hash=row.password_hash,
                status=row.status,
                email_verified_at=row.email_verified_at,
                totp_enrolled=bool(row.totp_enrolled),
            )
        return LoginCandidate(account, throttle)

    async def get(self, account_id: uuid.UUID) -> Account | None:
        return await self.session.get(Account, account_id)

    async def names(self, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not account_ids:
            return {}
        result = await self.session.execute(
            sa.select(account_table.c.id, account_table.c.full_name).where(
                account_table.c.id.in_(account_ids),
                account_table.c.status != AccountStatus.DELETED.value,
            )
        )
        # an erased account has no name to give: the access log says "deleted account"
        return {row.id: row.full_name for row in result}

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def update(self, account_id: uuid.UUID, **values: object) -> None:
        await self.session.execute(
            sa.update(account_table).where(account_table.c.id == account_id).values(**values)
        )
        _in_step(self.session, Account, account_id, values)

    # mailed tokens
    async def add_token(self, token: AccountToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def live_token(self, purpose: str, token_hash: str, now: datetime) -> AccountToken | None:
        result = await self.session.execute(
            sa.select(AccountToken).where(
                token_table.c.purpose == purpose,
                token_table.c.token_hash == token_hash,
                token_table.c.used_at.is_(None),
                token_table.c.expires_at > now,
            )
        )
        return result.scalar_one_or_none()

    async def spend_token(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Single use, atomically: only one request can flip ``used_at``."""
        result = await self.session.execute(
            sa.update(token_table)
            .where(
                token_table.c.id == token_id,
                token_table.c.used_at.is_(None),
                token_table.c.expires_at > now,
            )
            .values(used_at=now)
        )
        return _count(result) == 1

    async def spend_all_tokens(self, account_id: uuid.UUID, now: datetime) -> None:
        """Every mailed link of the account still unused stops working (suspension)."""
        await self.session.execute(
            sa.update(token_table)
            .where(token_table.c.account_id == account_id, token_table.c.used_at.is_(None))
            .values(used_at=now)
        )

    async def move_email(self, account_id: uuid.UUID, email: str, at: datetime) -> bool:
        """The account's new (verified) address; False if another account took it meanwhile (the
        unique index refuses it inside a savepoint, so the transaction goes on)."""
        try:
            async with self.session.begin_nested():
                await self.update(account_id, email=email, email_verified_at=at)
        except IntegrityError:
            return False
        return True

    async def delete_tokens(self, account_id: uuid.UUID) -> None:
        """Every mailed link of the account, used or not (its erasure)."""
        await self.session.execute(
            sa.delete(token_table).where(token_table.c.account_id == account_id)
        )

    async def spend_other_tokens(self, account_id: uuid.UUID, purpose: str, now: datetime) -> None:
        await self.session.execute(
            sa.update(token_table)
            .where(
                token_table.c.account_id == account_id,
                token_table.c.purpose == purpose,
                token_table.c.used_at.is_(None),
            )
            .values(used_at=now)
        )

    # sessions
    async def insert_session(self, values: Mapping[str, object]) -> None:
        """A new session row from its column values: a plain INSERT, no ORM unit of work (the
        login creates one and never reads it back in the request)."""
        await self.session.execute(_INSERT_SESSION, dict(values))

    async def delete_session_by_hash(self, token_hash: str) -> None:
        await self.session.execute(_DELETE_SESSION_BY_HASH, {"token_hash": token_hash})

    async def session_by_hash(self, token_hash: str) -> tuple[AuthSession, Account] | None:
        result = await self.session.execute(_SESSION_BY_HASH, {"token_hash": token_hash})
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def update_session(self, session_id: uuid.UUID, **values: object) -> None:
        await self.session.execute(
            sa.update(session_table).where(session_table.c.id == session_id).values(**values)
        )
        _in_step(self.session, AuthSession, session_id, values)

    async def delete_session(self, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(session_table).where(session_table.c.id == session_id)
        )
        return _count(result) == 1

    async def delete_ended_sessions(
        self,
        *,
        patient_seen_before: datetime,
        staff_seen_before: datetime,
        created_before: datetime,
    ) -> int:
        """Delete the sessions idle since their role's bound or begun before ``created_before``
        (``AuthSession.ended``, as one statement)."""
        s = session_table
        staff = sa.select(account_table.c.id).where(account_table.c.role != Role.PATIENT.value)
        result = await self.session.execute(
            sa.delete(s).where(
                sa.or_(
                    s.c.last_seen_at < patient_seen_before,
                    s.c.created_at < created_before,
                    sa.and_(s.c.last_seen_at < staff_seen_before, s.c.account_id.in_(staff)),
                )
            )
        )
        return _count(result)

    async def delete_session_of(self, account_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(session_table).where(
                session_table.c.id == session_id, session_table.c.account_id == account_id
            )
        )
        return _count(result) == 1

    async def delete_sessions(
        self, account_id: uuid.UUID, *, except_id: uuid.UUID | None = None
    ) -> int:
        statement = sa.delete(session_table).where(session_table.c.account_id == account_id)
        if except_id is not None:
            statement = statement.where(session_table.c.id != except_id)
        return _count(await self.session.execute(statement))

    async def sessions_of(self, account_id: uuid.UUID) -> Sequence[AuthSession]:
        result = await self.session.execute(
            sa.select(AuthSession)
            .where(session_table.c.account_id == account_id)
            .order_by(session_table.c.created_at.desc())
        )
        return result.scalars().all()


def _in_step(
    session: AsyncSession, entity: type[Any], key: uuid.UUID, values: dict[str, object]
) -> None:
    """Keep an identity-map copy of a row just updated with Core in step with the row, as its
    *committed* state: a plain ``setattr`` would mark it dirty, and the flush at commit would write
    the same values again, one more UPDATE per session touch
    (bench/README.md "Performance rules in the code")."""
    cached = session.identity_map.get(session.identity_key(entity, key))
    if cached is not None:
        for name, value in values.items():
            set_committed_value(cached, name, value)
