"""SQLite, the embedded default: each `sms` row holds DynamoDB's flat item as JSON, and a conditional update runs
in `BEGIN IMMEDIATE`, which takes the write lock before reading, so racing processes are serialised.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from naver_sms.database.sessions import SessionTable
from naver_sms.errors import RecordMissing, RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import UNREADABLE_ROW, Expect, RecordKey, matches

log = logging.getLogger("naver_sms.database.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sms (
    booking_num TEXT NOT NULL,
    phone TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (booking_num, phone)
);
CREATE TABLE IF NOT EXISTS session (
    id TEXT PRIMARY KEY,
    cookies TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at);
CREATE TABLE IF NOT EXISTS periods (
    booking_num TEXT NOT NULL,
    phone TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (booking_num, phone)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    started_at TEXT NOT NULL,
    summary TEXT NOT NULL,
    counters TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_day ON runs (day, started_at);
"""


class SqliteDatabase:
    """One SQLite file (or `:memory:`), shared by the repositories and the outbox. Thread-safe."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken before the read
            self.conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self.conn.execute(
                "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
            )
            self.conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self.conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open SQLite database {self.path}: {exc}") from exc

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise RepositoryError(f"SQLite {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class SqliteRecordStore:
    """The `RecordStore` primitives on table `sms` (or `periods`, the period claims: the same shape)."""

    def __init__(self, db: SqliteDatabase, table: Literal["sms", "periods"] = "sms") -> None:
        self.db = db
        self.table = table

    def get_items(
        self, keys: Sequence[RecordKey]
    ) -> tuple[dict[RecordKey, dict[str, Any]], dict[RecordKey, str], int]:
        found: dict[RecordKey, dict[str, Any]] = {}
        errors: dict[RecordKey, str] = {}
        calls = 0
        for start in range(0, len(keys), 400):  # SQLite's bound-parameter limit, two per key
            chunk = keys[start : start + 400]
            where = " OR ".join("(booking_num = ? AND phone = ?)" for _ in chunk)
            params = [v for key in chunk for v in key]
            calls += 1
            with self.db.transaction(write=False) as conn:
                rows = conn.execute(
                    f"SELECT booking_num, phone, item FROM {self.table} WHERE {where}", params
                ).fetchall()
            for booking_num, phone, item in rows:
                try:
                    found[(booking_num, phone)] = json.loads(item)
                except ValueError as exc:
                    errors[(booking_num, phone)] = f"{UNREADABLE_ROW}: {exc}"
        return found, errors, calls

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        with self.db.transaction(write=True) as conn:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO {self.table} (booking_num, phone, item) VALUES (?, ?, ?)",
                (item["booking_num"], item["phone"], json.dumps(dict(item), ensure_ascii=False)),
            )
            return cur.rowcount == 1

    def update_if(
        self,
        key: RecordKey,
        *,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        with self.db.transaction(write=True) as conn:
            row = conn.execute(
                f"SELECT item FROM {self.table} WHERE booking_num = ? AND phone = ?", key
            ).fetchone()
            if row is None:
                raise RecordMissing(f"{key[0]}: no record")
            try:
                item = json.loads(row[0])
            except ValueError as exc:
                raise RepositoryError(f"{key[0]}: {UNREADABLE_ROW}: {exc}") from exc
            if not matches(item, expect):
                return None
            item.update(set_)
            for name in remove:
                item.pop(name, None)
            conn.execute(
                f"UPDATE {self.table} SET item = ? WHERE booking_num = ? AND phone = ?",
                (json.dumps(item, ensure_ascii=False), *key),
            )
            return dict(item)

    def scan_items(self, limit: int | None = None) -> Iterable[dict[str, Any]]:
        sql = f"SELECT item FROM {self.table} ORDER BY booking_num"
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        items = []
        for (text,) in rows:
            try:
                items.append(json.loads(text))
            except ValueError as exc:  # one damaged row must not hide the others from an operator
                log.warning(
                    "skipped a damaged row of the sms table (%s: %s): %.60s", UNREADABLE_ROW, exc, text
                )
        return items


class SqliteRepository(FlagRepository):
    """The booking repository on SQLite."""

    def __init__(self, db: SqliteDatabase, *, max_attempts: int = 3) -> None:
        super().__init__(SqliteRecordStore(db), max_attempts=max_attempts)
        self.db = db


class SqliteSessionRepository(SessionTable):
    """The `session` table on SQLite: one row per item, its text in the `cookies` column (for the pause too)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def get_text(self, item_id: str, attribute: str) -> str | None:
        with self.db.transaction(write=False) as conn:
            row = conn.execute("SELECT cookies FROM session WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else str(row[0])

    def put_text(self, item_id: str, attribute: str, text: str) -> None:
        upsert = "INSERT INTO session (id, cookies) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET cookies = excluded.cookies"
        with self.db.transaction(write=True) as conn:
            conn.execute(upsert, (item_id, text))

    def delete(self, item_id: str) -> None:
        with self.db.transaction(write=True) as conn:
            conn.execute("DELETE FROM session WHERE id = ?", (item_id,))


class SqliteOutboxStore:
    """The sandbox outbox as a table: every SMS and notification a sandbox run would have sent."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def append(
        self,
        *,
        created_at: str,
        run_id: str,
        channel: str,
        status: str,
        payload: Mapping[str, Any],
    ) -> int:
        with self.db.transaction(write=True) as conn:
            cur = conn.execute(
                "INSERT INTO outbox (created_at, run_id, channel, status, payload) VALUES (?, ?, ?, ?, ?)",
                (created_at, run_id, channel, status, json.dumps(dict(payload), ensure_ascii=False)),
            )
            return int(cur.lastrowid or 0)

    def entries(
        self, *, channel: str | None = None, run_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql = "SELECT id, created_at, run_id, channel, status, payload FROM outbox"
        where: list[str] = []
        params: list[Any] = []
        if channel:
            where.append("channel = ?")
            params.append(channel)
        if run_id:
            where.append("run_id = ?")
            params.append(run_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(sql, params).fetchall()
        keys = ("id", "created_at", "run_id", "channel", "status")
        return [{**dict(zip(keys, row[:5], strict=True)), "payload": json.loads(row[5])} for row in rows]
