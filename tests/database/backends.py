"""The three backends of the repository contract, built the same way for every test.

`open_backend(db)` turns a `--db` value (a SQLite path or a `dynamodb://` URL) into repositories - the
crash and concurrency workers use it too, so a test process and a worker process see the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from naver_sms.config.settings import is_dynamo_url
from naver_sms.database.dynamo_target import DynamoTarget
from naver_sms.database.dynamodb_client import DynamoRepository, DynamoSessionRepository
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository, SqliteSessionRepository
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.store import RecordKey
from naver_sms.ports import SessionRepository

BACKENDS = ("sqlite", "moto", "dynalite")


@dataclass
class Backend:
    name: str
    db: str  # what `--db` would take
    repo: FlagRepository
    sessions: SessionRepository

    def raw_types(self, key: RecordKey) -> Mapping[str, str]:
        """The stored type of every attribute of a row, in DynamoDB's letters (S, N, BOOL, ...)."""
        if isinstance(self.repo, DynamoRepository):
            raw = self.repo.client.get_item(
                TableName=self.repo.target.sms_table,
                Key={"booking_num": {"S": key[0]}, "phone": {"S": key[1]}},
                ConsistentRead=True,
            )["Item"]
            return {name: next(iter(value)) for name, value in raw.items()}
        items, _, _ = self.repo.store.get_items([key])
        return {name: _python_type_letter(value) for name, value in items[key].items()}


def _python_type_letter(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int | float):
        return "N"
    if isinstance(value, str):
        return "S"
    return type(value).__name__


def open_backend(db: str, *, max_attempts: int = 3, name: str | None = None) -> Backend:
    if is_dynamo_url(db):
        target = DynamoTarget.parse(db)
        repo = DynamoRepository(target, max_attempts=max_attempts)  # rows on DynamoWire, as in a run
        return Backend(name or "dynamodb", db, repo, DynamoSessionRepository(target, client=repo.client))
    database = SqliteDatabase(db)
    return Backend(
        name or "sqlite",
        db,
        SqliteRepository(database, max_attempts=max_attempts),
        SqliteSessionRepository(database),
    )
