"""The shared test world: the default configuration, an engine with every action, services at their
protocols, and a SQLite repository."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from naver_sms.config.loader import load_config
from naver_sms.config.models import AppConfig
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.database.sqlite_runs import sqlite_periods
from naver_sms.proxies import PROXY_ENV
from naver_sms.rules.actions import ACTIONS
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from tests.standins.recorder import Recorder, recording_server
from tests.world import RecordingChannel, RecordingSms

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


@pytest.fixture(scope="session")
def config() -> AppConfig:
    return load_config(CONFIG_DIR)


@pytest.fixture
def engine() -> RuleEngine:
    engine = RuleEngine()
    for atype in ACTIONS:
        engine.register_action(atype)
    return engine


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteRepository]:
    db = SqliteDatabase(tmp_path / "state.sqlite3")
    yield SqliteRepository(db, max_attempts=3)
    db.close()


@pytest.fixture
def sms() -> RecordingSms:
    return RecordingSms()


@pytest.fixture
def telegram() -> RecordingChannel:
    return RecordingChannel("telegram")


@pytest.fixture
def slack() -> RecordingChannel:
    return RecordingChannel("slack")


@pytest.fixture
def services(
    repo: SqliteRepository, sms: RecordingSms, telegram: RecordingChannel, slack: RecordingChannel
) -> ActionServicesBundle:
    return ActionServicesBundle(
        db_repo=repo,
        sms_service=sms,
        telegram_service=telegram,
        slack_service=slack,
        logger=logging.getLogger("naver_sms.test"),
        periods=sqlite_periods(repo.db),
    )


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Recorder, str]]:
    """A raw HTTP server that records each request's bytes (tests/standins/recorder.py) and its URL; no proxy
    in the environment (a CI machine's would take the clients' requests, and their shortcut, away)."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    with recording_server() as running:
        yield running
