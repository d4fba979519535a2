"""Encrypted columns sealed again with the current key: ``erdv reseal``, the middle step of a key
rotation (``app.core.crypto``, docs/security.md "Secrets at rest").

Each domain declares the columns it seals (``SealedColumn``: the column, the row's key, and the
associated data of a row, the same function its service seals with); ``app.sealed`` lists them
all. ``reseal`` reads, in key order, the values not sealed with the current key, a batch per
transaction, and writes each back guarded by the value it read: a value a server changed
meanwhile (sealed with the current key, since servers seal with nothing else) stays as the server
wrote it. A value no configured key opens is counted and left alone, so a key dropped too early
is reported, not turned into lost data. A second run finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.crypto import ColumnCipher, DecryptionError
from app.core.db import transaction
from app.core.repository import changed

BATCH = 500


@dataclass(frozen=True)
class SealedColumn:
    """A column of AES-GCM values (``ColumnCipher``) and how each row's associated data is made."""

    column: sa.Column[Any]
    #: the row's primary key, which the associated data names
    key: sa.Column[Any]
    aad: Callable[[Any], str]

    @property
    def name(self) -> str:
        return f"{self.column.table.name}.{self.column.name}"


@dataclass
class Resealed:
    resealed: int = 0
    #: values no configured key opens (a retired key dropped before its values were resealed)
    unreadable: int = 0


async def reseal(
    factory: async_sessionmaker[AsyncSession],
    cipher: ColumnCipher,
    sealed: SealedColumn,
    *,
    batch: int = BATCH,
) -> Resealed:
    """Seal every value of ``sealed`` that the current key did not seal with it (see above)."""
    done = Resealed()
    table = sealed.column.table
    after: Any = None
    while True:
        query = sa.select(sealed.key, sealed.column).where(
            sealed.column.is_not(None), sealed.column.not_like(f"{cipher.current_prefix}%")
        )
        if after is not None:
            query = query.where(sealed.key > after)
        async with transaction(factory) as session:
            rows = (await session.execute(query.order_by(sealed.key).limit(batch))).all()
            for key, stored in rows:
                try:
                    fresh = cipher.reseal(stored, associated_data=sealed.aad(key))
                except DecryptionError:
                    done.unreadable += 1
                    continue
                result = await session.execute(
                    sa.update(table)
                    .where(sealed.key == key, sealed.column == stored)
                    .values({sealed.column.name: fresh})
                )
                done.resealed += changed(result)
        if len(rows) < batch:
            return done
        after = rows[-1][0]
