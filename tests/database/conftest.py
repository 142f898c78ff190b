"""Fixtures of the repository tests: the DynamoDB stand-ins (started once per session) and `backend`,
parametrised over SQLite, moto_server and dynalite - the same assertions against every backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from naver_sms.database.dynamo_target import DynamoTarget
from tests.database.backends import BACKENDS, Backend, open_backend
from tests.standins.dynamo import dynalite_endpoint, dynamo_target, moto_endpoint

__all__ = ["backend", "backend_db", "dynalite_endpoint", "dynamo_target", "moto_endpoint"]


@pytest.fixture(params=BACKENDS)
def backend_db(
    request: pytest.FixtureRequest, tmp_path: Path, dynamo_target: Callable[[str], DynamoTarget]
) -> str:
    """A fresh, empty database as `--db` takes it: a SQLite path or a `dynamodb://` URL with new tables."""
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite3")
    return dynamo_target(request.param).url()


@pytest.fixture
def backend(request: pytest.FixtureRequest, backend_db: str) -> Iterator[Backend]:
    name = request.node.callspec.params["backend_db"]
    yield open_backend(backend_db, name=name)
