"""Secrets that rotate (issue 8, item 7), against moto_server's Secrets Manager and the SENS stand-in over
real sockets: a warm container whose SENS keys were rotated refreshes them once and sends; keys that are
wrong even after the refresh fail the run visibly, counting no attempt against any flag."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from naver_sms.config.secrets import clear_secret_cache
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.domain.clock import KST
from naver_sms.flags.state import read_flag
from naver_sms.handler import LambdaHandler
from tests.integration.conftest import CONFIG_DIR, Channels
from tests.standins.naver import make_booking
from tests.standins.server import serve_wsgi

pytestmark = pytest.mark.integration

REGION = "ap-northeast-2"
GUESTS = ("01055500201", "01055500202", "01055500203")  # synthetic


class _Watchdog:
    def __call__(self, seconds: float, call: Any) -> _Watchdog:
        return self

    def cancel(self) -> None:
        pass


@pytest.fixture
def world(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    channels = Channels(url="")
    with serve_wsgi(channels) as url:
        channels.url = url
        client = boto3.client(
            "secretsmanager",
            region_name=REGION,
            endpoint_url=moto_endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        name = f"naver-sms/sens-{uuid.uuid4().hex[:8]}"
        keys = {"sens_access_key": channels.sens.access_key, "sens_secret_key": channels.sens.secret_key}
        client.create_secret(Name=name, SecretString=json.dumps(keys))
        env = {
            "NAVER_SMS_LIVE": "true",
            "NAVER_SMS_CONFIG_DIR": str(CONFIG_DIR),
            "NAVER_SMS_DB": str(tmp_path / "state.sqlite3"),
            "NAVER_SMS_BOOKINGS_PATH": str(tmp_path / "bookings"),
            "NAVER_SMS_SECRET_NAMES": name,
            "NAVER_SMS_SECRETS_ENDPOINT": moto_endpoint,
            "NAVER_SMS_AWS_REGION": REGION,
            "NAVER_SMS_SENS_BASE": url,
            "NAVER_SMS_SENS_SERVICE_ID": channels.sens.service_id,
            "NAVER_SMS_TELEGRAM_BASE": url,
            "NAVER_SMS_TELEGRAM_TOKEN": channels.telegram.token,
            "NAVER_SMS_TELEGRAM_CHAT_ID": channels.chat_id,
            "POWERTOOLS_PARAMETERS_MAX_AGE": "300",  # a warm container keeps the secret for 5 minutes
            "POWERTOOLS_METRICS_NAMESPACE": "NaverSmsTest",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        (tmp_path / "bookings").mkdir()
        clear_secret_cache()
        yield {"channels": channels, "client": client, "name": name, "tmp": tmp_path}
        clear_secret_cache()


def _book(tmp: Path, *phones: str) -> None:
    """Confirmed bookings two days ahead (real time: the handler has no --now): each gets its confirmation."""
    day = (datetime.now(KST) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    bookings = [
        make_booking(970_300_000 + i, 1000001, day, phone=p, name="김회전") for i, p in enumerate(phones)
    ]
    (tmp / "bookings" / "all.json").write_text(json.dumps(bookings), encoding="utf-8")


def _rotate_sens(channels: Channels, suffix: str) -> tuple[str, str]:
    channels.sens.access_key = f"AKROTATED{suffix}".ljust(20, "0")
    channels.sens.secret_key = f"SKROTATED{suffix}".ljust(40, "0")
    return channels.sens.access_key, channels.sens.secret_key


def test_a_rotation_mid_life_is_refreshed_once_and_the_sms_goes_out(world: dict[str, Any]) -> None:
    channels, tmp = world["channels"], world["tmp"]
    handler = LambdaHandler(watchdog=_Watchdog())
    # GIVEN a warm container that sent with the first keys
    _book(tmp, GUESTS[0])
    assert handler({}, None)["counts"]["sms_sent"] == 1
    # WHEN the keys are rotated (the secret and SENS both) within the secret's max_age, and a new booking comes
    access, secret = _rotate_sens(channels, "1")
    world["client"].put_secret_value(
        SecretId=world["name"],
        SecretString=json.dumps({"sens_access_key": access, "sens_secret_key": secret}),
    )
    _book(tmp, GUESTS[0], GUESTS[1])
    result = handler({}, None)
    # THEN SENS refused the cached keys once, the run fetched them again and sent with the new ones
    assert result["ok"] is True and result["counts"]["sms_sent"] == 1, result
    statuses = [r.status for r in channels.sens.send_requests]
    assert statuses == [202, 401, 202]
    assert [m.to for m in channels.sens.messages] == [GUESTS[0], GUESTS[1]]


def test_keys_refused_after_the_refresh_fail_the_run_and_count_no_attempt(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    channels, tmp = world["channels"], world["tmp"]
    # one send at a time: SENS's requests are read in order (with parallel sends, each send already in flight
    # when the keys are refused makes its own request - at most NAVER_SMS_SEND_CONCURRENCY - 1 more)
    monkeypatch.setenv("NAVER_SMS_SEND_CONCURRENCY", "1")
    handler = LambdaHandler(watchdog=_Watchdog())
    # GIVEN SENS rotated to keys the secret does not hold yet, and two new bookings
    _rotate_sens(channels, "2")
    _book(tmp, GUESTS[1], GUESTS[2])
    # WHEN the function runs
    result = handler({}, None)
    # THEN the run failed as a whole (AuthFailed, RunFailed), SENS was asked once before and once after the
    # refresh and never again, and the summary tells the owner what to check
    assert result["ok"] is False and "CredentialsRefused" in result["failed"], result
    assert [r.status for r in channels.sens.send_requests] == [401, 401]
    [summary] = channels.telegram.messages
    assert summary["text"].startswith("요청중 오류 발생") and "Secrets Manager" in summary["text"]
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert any(e.get("AuthFailed") == [1.0] and e.get("RunFailed") == [1.0] for e in emf)
    # AND no flag counted an attempt: both stay open, ready for the next run with the right keys
    repo = SqliteRepository(SqliteDatabase(tmp / "state.sqlite3"))
    now = datetime.now(KST)
    for row in repo.records():
        state = read_flag(row, "confirm_sms", now)
        assert (state.status, state.attempts) == ("open", 0), row
    # WHEN the secret is updated to SENS's keys THEN the next run sends both
    world["client"].put_secret_value(
        SecretId=world["name"],
        SecretString=json.dumps(
            {"sens_access_key": channels.sens.access_key, "sens_secret_key": channels.sens.secret_key}
        ),
    )
    assert handler({}, None)["counts"]["sms_sent"] == 2
