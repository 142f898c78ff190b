"""The run log and the period claims on SQLite: two tables beside the legacy ones (docs/database.md, "Periods
and runs") - `runs` (one row per finished run: its summary and counters as JSON) and `periods` (the rows of
the period claims, the shape of `sms`, walked by the same state machine)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRecordStore
from naver_sms.flags.machine import FlagRepository
from naver_sms.ports import RunRecord


def sqlite_periods(db: SqliteDatabase, *, max_attempts: int = 3) -> FlagRepository:
    """The period claims of `db` (table `periods`)."""
    return FlagRepository(SqliteRecordStore(db, table="periods"), max_attempts=max_attempts)


class SqliteRunLog:
    """`RunLog` on table `runs`."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def record(self, run: RunRecord) -> None:
        with self.db.transaction(write=True) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO runs (run_id, day, started_at, summary, counters) VALUES (?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.day,
                    run.started_at,
                    json.dumps(dict(run.summary), ensure_ascii=False),
                    json.dumps(dict(run.counters), ensure_ascii=False),
                ),
            )

    def last(self) -> RunRecord | None:
        rows = self._select("ORDER BY started_at DESC, run_id DESC LIMIT 1", ())
        return rows[0] if rows else None

    def runs_on(self, day: str) -> list[RunRecord]:
        return self._select("WHERE day = ? ORDER BY started_at, run_id", (day,))

    def day_totals(self, days: Sequence[str]) -> dict[str, dict[str, int]]:
        totals: dict[str, Counter[str]] = {}
        if not days:
            return {}
        marks = ", ".join("?" for _ in days)
        for run in self._select(f"WHERE day IN ({marks})", tuple(days)):
            totals.setdefault(run.day, Counter()).update(run.counters)
        return {day: dict(counter) for day, counter in totals.items()}

    def _select(self, where: str, params: tuple[Any, ...]) -> list[RunRecord]:
        sql = f"SELECT run_id, day, started_at, summary, counters FROM runs {where}"
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(sql, params).fetchall()
        found = []
        for run_id, day, started_at, summary, counters in rows:
            try:
                found.append(RunRecord(run_id, day, started_at, json.loads(summary), json.loads(counters)))
            except ValueError:  # a damaged row hides nothing else
                continue
        return found
