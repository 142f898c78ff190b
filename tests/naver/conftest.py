"""The world of the Naver tests: a stand-in on 127.0.0.1, stores, a frozen clock, a recording sleep."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteSessionRepository
from naver_sms.domain.booking import Store
from naver_sms.domain.clock import KST
from naver_sms.naver.api import NaverApi
from naver_sms.naver.live import NaverBookingSource
from naver_sms.naver.session import SessionManager
from tests.standins.naver import NaverStandIn
from tests.standins.server import serve_wsgi

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
STORES = [
    Store(id=str(1000001 + i), name=f"Example Studio {i + 1}", alias=f"studio{i + 1}") for i in range(3)
]


@dataclass
class RecordingSleep:
    """An injectable sleep: records what it was asked to wait, waits for nothing."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class StandInLogin:
    """The `Login` of the session manager without a browser: a form login on the stand-in, counted."""

    standin: NaverStandIn
    calls: int = 0

    def login(self) -> list[dict[str, Any]]:
        self.calls += 1
        return self.standin.issue_session()


class _CurrentStandIn:
    """One server for the whole session (stopping a werkzeug server takes half a second), with a fresh
    stand-in - fresh bookings, faults and sessions - for every test."""

    app: NaverStandIn | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _naver_server() -> Iterator[tuple[_CurrentStandIn, str]]:
    current = _CurrentStandIn()
    with serve_wsgi(current) as base_url:
        yield current, base_url


@pytest.fixture
def naver(_naver_server: tuple[_CurrentStandIn, str]) -> Iterator[NaverStandIn]:
    current, base_url = _naver_server
    standin = NaverStandIn()
    standin.base_url = base_url
    current.app = standin
    yield standin
    current.app = None


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def sessions() -> SqliteSessionRepository:
    return SqliteSessionRepository(SqliteDatabase(":memory:"))


@pytest.fixture
def api(naver: NaverStandIn, sleep: RecordingSleep) -> Iterator[NaverApi]:
    client = NaverApi(naver.base_url, sleep=sleep, rng=random.Random(7))
    yield client
    client.close()


@pytest.fixture
def login(naver: NaverStandIn) -> StandInLogin:
    return StandInLogin(naver)


@pytest.fixture
def source(api: NaverApi, login: StandInLogin, sessions: SqliteSessionRepository) -> NaverBookingSource:
    return NaverBookingSource(api, SessionManager(sessions, login, api.check_session), concurrency=2)
