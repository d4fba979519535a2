"""Every table of every domain, imported for Alembic and for ``metadata``-wide operations.

A domain adds its ``models`` module here when it gets tables; ``tests/test_migrations.py`` fails if the
models and the migrations disagree.
"""

from __future__ import annotations

import app.accounts.models  # noqa: F401
import app.audit.models  # noqa: F401
import app.booking.models  # noqa: F401
import app.consent.models  # noqa: F401
import app.core.jobs  # noqa: F401
import app.health.models  # noqa: F401
import app.mfa.models  # noqa: F401
import app.oauth.models  # noqa: F401
import app.outbox.models  # noqa: F401
import app.practice.models  # noqa: F401
import app.team.models  # noqa: F401
import app.throttle.models  # noqa: F401
import app.webhooks.models  # noqa: F401
from app.core.db import metadata

__all__ = ["metadata"]
