"""SQLite, the embedded default: each `sms` row holds DynamoDB's flat item as JSON, and a conditional update runs
in `BEGIN IMMEDIATE`, which takes the write lock before reading, so racing processes are serialised.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, TypeVar

from naver_sms.database.group_commit import GroupCommit, Work
from naver_sms.database.sessions import SessionTable
from naver_sms.errors import RecordMissing, RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import UNREADABLE_ROW, Expect, RecordKey, matches
from naver_sms.json_codec import loads

log = logging.getLogger("naver_sms.database.sqlite")

T = TypeVar("T")

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
    """One SQLite file (or `:memory:`), shared by the repositories and the outbox. Thread-safe.

    Writes go through `write` (or `atomic`): concurrent writers share transactions (`GroupCommit`), and a
    write made while the same thread runs inside a transaction joins it (in a savepoint of its own).
    `durable=False` writes commit at `synchronous=NORMAL` when their whole group is lazy (no fsync; the next
    durable write or checkpoint syncs the WAL) - only for writes the state machine can afford to lose on a
    power failure (docs/database.md, "Durability on SQLite")."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._synchronous = "FULL"
        self._writer = GroupCommit(self._run_group)
        try:
            # isolation_level=None: we issue BEGIN ourselves, so the write lock is taken before the read
            self.conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self.conn.execute(
                "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
            )
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self.conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open SQLite database {self.path}: {exc}") from exc

    @property
    def write_transactions(self) -> int:
        """Write transactions this connection committed (the benchmarks count them)."""
        return self._writer.groups

    def _inside(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A transaction of its own for reads and the session table's writes; inside a running write (the
        same thread), the current transaction."""
        if self._inside():
            with self._savepoint() if write else nullcontext():
                yield self.conn
            return
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

    def write(self, work: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run `work(conn)` in a write transaction - shared with the writers of other threads - and return
        its result once that transaction committed. Inside a running write, it joins that one."""
        if self._inside():
            with self._savepoint():
                return work(self.conn)
        return self._writer.submit(lambda: work(self.conn), durable=durable)

    def atomic(self, work: Callable[[], T], *, durable: bool = True) -> T:
        """Run `work` - whose writes through this database then form one transaction - and return its
        result. Local, instant work only: the transaction holds the database's write lock."""
        return self.write(lambda conn: work(), durable=durable)

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._local.savepoints = n = getattr(self._local, "savepoints", 0) + 1
        name = f"w{n}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._local.savepoints = n - 1
        self.conn.execute(f"RELEASE {name}")

    def _run_group(self, works: list[Work[Any]]) -> None:
        """One transaction for a group of writes (`GroupCommit`): each work in a savepoint of its own."""
        synchronous = "FULL" if any(w.durable for w in works) else "NORMAL"
        with self._lock:
            self._local.depth = 1
            try:
                if synchronous != self._synchronous:
                    self.conn.execute(f"PRAGMA synchronous={synchronous}")
                    self._synchronous = synchronous
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for work in works:
                        try:
                            with self._savepoint():
                                work.result = work.run()
                        except sqlite3.Error as exc:
                            work.error = RepositoryError(f"SQLite {self.path}: {exc}")
                        except Exception as exc:  # that write's own refusal (RecordMissing, a bug): its alone
                            work.error = exc
                    self._before_commit(works)
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                failed = RepositoryError(f"SQLite {self.path}: {exc}")
                for work in works:
                    work.error = failed
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            finally:
                self._local.depth = 0

    def _before_commit(self, works: list[Work[Any]]) -> None:
        """The moment between a group's writes and its COMMIT (a seam for the fault tests: a process killed
        here loses the whole group, never part of it)."""

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
                    found[(booking_num, phone)] = loads(item)
                except ValueError as exc:
                    errors[(booking_num, phone)] = f"{UNREADABLE_ROW}: {exc}"
        return found, errors, calls

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO {self.table} (booking_num, phone, item) VALUES (?, ?, ?)",
                (item["booking_num"], item["phone"], json.dumps(dict(item), ensure_ascii=False)),
            )
            return cur.rowcount == 1

        return self.db.write(insert)

    def update_if(
        self,
        key: RecordKey,
        *,
        expect: Mapping[str, Expect],
        set_: Mapping[str, Any],
        remove: Sequence[str] = (),
        create: Mapping[str, Any] | None = None,
        durable: bool = True,
        returning: bool = True,
    ) -> dict[str, Any] | None:
        def update(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                f"SELECT item FROM {self.table} WHERE booking_num = ? AND phone = ?", key
            ).fetchone()
            if row is None and create is None:
                raise RecordMissing(f"{key[0]}: no record")
            try:
                item = {} if row is None else json.loads(row[0])
            except ValueError as exc:
                raise RepositoryError(f"{key[0]}: {UNREADABLE_ROW}: {exc}") from exc
            if not matches(item, expect):
                return None
            if create is not None:
                item = {**create, **item}
            item.update(set_)
            for name in remove:
                item.pop(name, None)
            text = json.dumps(item, ensure_ascii=False)
            if row is None:
                conn.execute(
                    f"INSERT INTO {self.table} (booking_num, phone, item) VALUES (?, ?, ?)", (*key, text)
                )
            else:
                conn.execute(
                    f"UPDATE {self.table} SET item = ? WHERE booking_num = ? AND phone = ?", (text, *key)
                )
            return dict(item)

        return self.db.write(update, durable=durable)

    def atomic(self, work: Callable[[], T]) -> T:
        # the sandbox's outbox row and the commit of its SMS: lost together on a power failure, or neither
        return self.db.atomic(work, durable=False)

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
        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO outbox (created_at, run_id, channel, status, payload) VALUES (?, ?, ?, ?, ?)",
                (created_at, run_id, channel, status, json.dumps(dict(payload), ensure_ascii=False)),
            )
            return int(cur.lastrowid or 0)

        return self.db.write(insert)

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
