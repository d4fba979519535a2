"""The data dir is private to the user erdv runs as (docs/security.md "Data protection").

It holds the generated secrets, the SQLite database with its WAL, and the mail outbox, whose files
carry password-reset links: in development they were created world-readable. Every erdv process
(the CLI, each server worker) sets its umask to ``077`` before it creates anything, so every file
it makes is ``0600`` and every directory ``0700``, wherever it is (an ``ERDV_DATABASE_URL`` outside
the data dir too); the data dir itself and what an older erdv left in it are tightened at start.
A data dir erdv may not change (a volume owned by someone else) is left as it is, with a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.core.settings import Settings

logger = logging.getLogger("erdv.datadir")

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(settings: Settings) -> None:
    """Set the process's umask, create the data dir ``0700`` and tighten what it holds."""
    os.umask(PRIVATE_UMASK)
    root = settings.data_dir
    try:
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        _tighten(root)
    except OSError as error:
        logger.warning("data dir permissions left unchanged: %s", type(error).__name__)


def _tighten(root: Path) -> None:
    for folder, _folders, files in os.walk(root):
        _chmod(Path(folder), DIR_MODE)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                _chmod(path, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)
