"""A consistent copy of the SQLite state while runs go on: SQLite's online backup API.

A plain `cp` of a database in WAL mode is not a backup: the last transactions may still be in the `-wal`
file, and a copy taken while a run writes can be torn. `sqlite3.Connection.backup` copies the database as
one committed snapshot (in WAL mode a writer in another process is not blocked, and its uncommitted
transaction is not in the copy); the copy is written beside its destination, checked with
`PRAGMA integrity_check`, and only then renamed into place. Restoring is putting such a copy back while
nothing runs (docs/operations.md, "One machine: backup and restore").
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from naver_sms.errors import RepositoryError


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    rows: dict[str, int]  # table -> rows in the copy
    pages: int


def check_sqlite(path: Path) -> dict[str, int]:
    """The rows of each table of the database at `path`, after `PRAGMA integrity_check` passed."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise RepositoryError(f"{path}: integrity check failed: {verdict}")
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {
                name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for name in tables
                if not name.startswith("sqlite_")
            }
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise RepositoryError(f"{path}: not a readable SQLite database: {exc}") from exc


def backup_sqlite(source: Path, destination: Path, *, timeout: float = 30.0) -> BackupResult:
    """Copy the database `source` to `destination` (which must not exist) as one consistent snapshot."""
    if destination.exists():
        raise RepositoryError(f"{destination} exists: give a new file (a backup never overwrites)")
    if not source.is_file():
        raise RepositoryError(f"no SQLite database at {source}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=timeout)
        try:
            dst = sqlite3.connect(partial)
            try:
                # pages=-1: the whole database in one step, from one read snapshot (never restarted halfway)
                src.backup(dst, pages=-1)
                (pages,) = dst.execute("PRAGMA page_count").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
        rows = check_sqlite(partial)
        os.replace(partial, destination)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise RepositoryError(f"backup of {source} failed: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(destination, rows, int(pages))
