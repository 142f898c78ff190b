"""Fault suite (c) of issue 9: a log scan at DEBUG. Live runs against the SENS, Telegram and Slack stand-ins,
with faults (429, 500, a 400 that echoes the customer's name and phone, a timeout), on every backend
(SQLite, moto_server, dynalite): every record of every logger - the package's, botocore's, urllib3's,
httpx's, httpcore's - is captured at DEBUG, and not one holds a phone number (in any Korean form), a
customer's name (as written, or escaped as JSON or bytes show it) or a secret used by the run."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from naver_sms.config.settings import Settings
from naver_sms.domain.clock import KST, FixedClock
from naver_sms.notifications._http import RetryPolicy
from naver_sms.notifications.slack_service import SlackWebhookClient
from naver_sms.notifications.sms_service import SensClient
from naver_sms.notifications.telegram_service import TelegramClient
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime
from tests.integration.conftest import Channels, config_with_rules
from tests.standins.naver import make_booking
from tests.standins.server import serve_wsgi

pytestmark = pytest.mark.integration

#: synthetic customers: (phone, name); each in a form a leak could take
GUESTS = [
    ("01055500301", "김로그"),
    ("01055500302", "이스캔"),
    ("0315550303", "박마스크"),
    ("01055500304", "최비밀"),
]
SLACK_RULE = """
- name: owner_digest
  mode: digest
  conditions:
    - type: booking_status
      params: {status: RC03}
  actions:
    - type: send_slack
      params:
        message: "{{ count }} bookings: {% for b in bookings %}{{ b.name }} {% endfor %}"
"""


def _forms_of_phone(digits: str) -> set[str]:
    local = digits[1:]
    if digits.startswith("02"):
        dashed = f"{digits[:2]}-{digits[2:-4]}-{digits[-4:]}"
    else:
        dashed = f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
    return {digits, dashed, "82" + local, "+82" + local, "+82 " + dashed[1:], dashed.replace("-", " ")}


def _forms_of_name(name: str) -> set[str]:
    escaped = json.dumps(name)[1:-1]  # \uae40...
    return {name, escaped, escaped.replace("\\", "\\\\"), name.encode("utf-8").hex()}


class _Echoing:
    """The stand-ins, and SENS refusing the first send with a 400 whose text echoes the message it refused
    (its content holds the customer's name, its recipient the phone) - as a provider's error may."""

    def __init__(self, channels: Channels) -> None:
        self.channels = channels
        self.echoed = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and "/sms/v2/" in environ.get("PATH_INFO", "")
            and not self.echoed
        ):
            self.echoed = True
            length = int(environ.get("CONTENT_LENGTH") or 0)
            sent = json.loads(environ["wsgi.input"].read(length))
            [to] = [m["to"] for m in sent["messages"]]
            text = {"status": "400", "errorMessage": f"refused '{sent['content']}' to {to}", "errors": []}
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps(text, ensure_ascii=False).encode("utf-8")]
        return self.channels(environ, start_response)


@pytest.fixture
def echoing() -> Iterator[tuple[_Echoing, str]]:
    channels = Channels(url="")
    app = _Echoing(channels)
    with serve_wsgi(app) as url:
        channels.url = url
        yield app, url
        channels.release()


def _config(tmp_path: Path) -> Path:
    config = config_with_rules(tmp_path, SLACK_RULE)
    templates = (config / "templates.yaml").read_text(encoding="utf-8")
    # the confirmation names its customer, so that SENS's echo of the text carries the name
    templates = templates.replace("예약이 확정되었습니다.", "{{ booking.name }}님, 예약이 확정되었습니다.", 1)
    assert "{{ booking.name }}" in templates
    (config / "templates.yaml").write_text(templates, encoding="utf-8")
    return config


def _bookings(tmp_path: Path, at: datetime) -> Path:
    day = (at + timedelta(days=2)).replace(hour=14, minute=0)
    raws = [
        make_booking(970_400_000 + i, 1000001, day + timedelta(hours=i % 2), phone=p, name=n)
        for i, (p, n) in enumerate(GUESTS)
    ]
    path = tmp_path / "bookings.json"
    path.write_text(json.dumps(raws, ensure_ascii=False), encoding="utf-8")
    return path


class _AllRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("werkzeug"):  # the stand-ins' own web server, not the application
            return
        parts = [record.getMessage()]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts += [str(v) for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")]
        self.texts.append(" ".join(parts))


@pytest.fixture
def every_record() -> Iterator[_AllRecords]:
    root = logging.getLogger()
    handler = _AllRecords()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("botocore", "urllib3", "httpx", "httpcore", "naver_sms"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
        for name in ("botocore", "urllib3", "httpx", "httpcore", "naver_sms"):
            logging.getLogger(name).setLevel(logging.NOTSET)


def _fast(settings: Settings, url: str, echoing: _Echoing) -> dict[str, Any]:
    """Real clients over real sockets, with a short read timeout and no waiting between retries."""
    channels = echoing.channels
    no_wait = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    sleep: Callable[[float], None] = lambda _: None  # noqa: E731
    return {
        "sms_service": SensClient(
            base_url=url, service_id=channels.sens.service_id, access_key=channels.sens.access_key,
            secret_key=channels.sens.secret_key, timeout=0.5, retry=no_wait, sleep=sleep, lookup_delay=0.0,
        ),
        "telegram_service": TelegramClient(
            token=channels.telegram.token, chat_id=channels.chat_id, base_url=url, timeout=0.5, retry=no_wait,
            sleep=sleep,
        ),
        "slack_service": SlackWebhookClient(
            webhook_url=channels.webhook_url, timeout=0.5, retry=no_wait, sleep=sleep
        ),
    }  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "moto", "dynalite"])
def test_no_phone_name_or_secret_in_any_log_record_at_debug_with_faults(
    backend: str,
    tmp_path: Path,
    echoing: tuple[_Echoing, str],
    every_record: _AllRecords,
    dynamo_target: Callable[[str], Any],
) -> None:
    app, url = echoing
    channels = app.channels
    now = datetime.now(KST).replace(second=0, microsecond=0)
    db = str(tmp_path / "state.sqlite3") if backend == "sqlite" else dynamo_target(backend).url()
    settings = Settings(
        config_dir=_config(tmp_path),
        db=db,
        live=True,
        bookings_path=_bookings(tmp_path, now),
        slack_enabled=True,
        sens_base=url,
        sens_access_key=channels.sens.access_key,
        sens_secret_key=channels.sens.secret_key,
        sens_service_id=channels.sens.service_id,
        telegram_base=url,
        telegram_token=channels.telegram.token,
        telegram_chat_id=channels.chat_id,
        slack_webhook_url=channels.webhook_url,
    )
    # GIVEN SENS: the first send refused with an echo, then 429, 500, a stall past the timeout
    channels.sens.fail_next(429, headers={"Retry-After": "0"})
    channels.sens.fail_next(500)
    channels.sens.stall_next(5.0)
    channels.telegram.fail_next(500)
    channels.slack.fail_next(500, "internal_error")
    # WHEN two live runs go (the second retries what the first could not send)
    for run in range(2):
        runtime, _ = build_runtime(settings, clock=FixedClock(now), run_id=f"scan-{backend}-{run}")
        runtime.services = replace(runtime.services, **_fast(settings, url, app))
        runtime.summary_channel = runtime.services.telegram_service
        try:
            report = run_once(runtime, run_id=f"scan-{backend}-{run}")
        finally:
            runtime.close()
        assert report.sms, report.to_json()
    # THEN the faults happened (the scan saw them), and things were logged at DEBUG - the SDK's too
    assert app.echoed and channels.sens.messages and channels.telegram.messages and channels.slack.messages
    logged = "\n".join(every_record.texts)
    assert "DEBUG" in logged or len(every_record.texts) > 50
    if backend != "sqlite":
        assert any("botocore" in t for t in every_record.texts), "botocore's debug lines were not captured"
    # AND not one record holds a phone number, a name or a secret
    secrets = {
        channels.sens.access_key,
        channels.sens.secret_key,
        channels.telegram.token,
        channels.webhook_url.rsplit("/", 1)[-1],
    }
    for phone, name in GUESTS:
        for form in _forms_of_phone(phone) | _forms_of_name(name):
            leaks = [t[:300] for t in every_record.texts if form in t]
            assert not leaks, f"{form!r} in {len(leaks)} record(s): {leaks[:2]}"
    for secret in secrets:
        assert not [t for t in every_record.texts if secret in t], "a secret reached a log record"
