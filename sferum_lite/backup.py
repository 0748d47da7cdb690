"""Backups: a consistent snapshot of the database, with the files that belong to it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file (or a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sqlite_snapshot(source: Path, dest: Path) -> None:
    """Copy a live SQLite database to `dest` in one step, consistent, while others write.

    `VACUUM INTO` reads one snapshot of the WAL database in a single read transaction: writers
    go on meanwhile (unlike the backup API, which restarts whenever someone writes), and the
    copy is compact. `dest` must not exist yet.
    """
    dest = Path(dest)
    connection = sqlite3.connect(str(source), isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("VACUUM INTO ?", (str(dest),))
    finally:
        connection.close()
    fsync_path(dest)
    fsync_path(dest.parent)
