"""No phone number, name or credential in any log line or error of the channel clients, on any path.

Every path of the three clients runs with logging captured at DEBUG (the `httpx` / `httpcore` library loggers
included: httpx logs every request URL, and the Telegram token and the Slack webhook secret are in theirs).
The stand-ins' own server log (`werkzeug`) is the far side of the wire and is not checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from naver_sms.errors import DeliveryError
from naver_sms.notifications.slack_service import SlackWebhookClient
from naver_sms.notifications.sms_service import SensClient
from naver_sms.notifications.telegram_service import TelegramClient
from naver_sms.ports import SmsMessage
from tests.notifications.conftest import RECIPIENT, SENDER
from tests.standins.sens import SensStandIn
from tests.standins.slack import SlackStandIn
from tests.standins.telegram import TelegramStandIn

pytestmark = pytest.mark.integration

NAME = "홍길동"
CONTENT = f"{NAME} 고객님, 예약이 확정되었습니다. 연락처 010-9876-5432"
#: Forms of the synthetic recipient's number that must never appear (its masked forms may).
PHONE_FORMS = ("98765432", "9876-5432", "0109876", "010-9876")


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    caplog.set_level(logging.DEBUG)

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]

    yield lines


def assert_clean(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        for form in PHONE_FORMS:
            assert form not in text, f"phone number in: {text!r}"
        assert NAME not in text, f"name in: {text!r}"
        for secret in secrets:
            assert secret not in text, f"credential in: {text!r}"


def run_quietly(action: Callable[[], object], errors: list[str]) -> None:
    try:
        action()
    except DeliveryError as exc:
        errors.extend([str(exc), exc.provider_message or "", str(exc.__cause__ or "")])


def test_the_sens_client_leaks_nothing_on_any_path(
    sens_server: tuple[SensStandIn, str],
    make_sens_client: Callable[..., SensClient],
    captured: Callable[[], list[str]],
) -> None:
    # GIVEN a message naming the customer, and SENS going through every kind of answer
    standin, _ = sens_server
    message = SmsMessage(to=RECIPIENT, sender=SENDER, type="LMS", subject="안내", content=CONTENT)
    client = make_sens_client()
    slow = make_sens_client(timeout=0.3)
    errors: list[str] = []
    # WHEN it is sent through success, refusals (one echoing the number), retries, lost answers and look-ups
    run_quietly(lambda: client.send(message), errors)
    standin.fail_next(
        400,
        body={
            "status": 400,
            "errorMessage": f"Invalid to: {RECIPIENT}",
            "errors": [f"messages[0].to {RECIPIENT}"],
        },
    )
    run_quietly(lambda: client.send(message), errors)
    standin.fail_next(500, times=5)
    run_quietly(lambda: client.send(message), errors)
    standin.accept_then_stall(seconds=10)
    run_quietly(lambda: slow.send(message), errors)
    standin.stall_next(seconds=10)
    run_quietly(lambda: slow.send(message), errors)
    run_quietly(lambda: make_sens_client(secret_key="SK-WRONG-0000000000000000").send(message), errors)
    now = datetime.now(UTC)
    run_quietly(lambda: client.find_sent(message, since=now - timedelta(hours=1), until=now), errors)
    # THEN no log line and no error holds the number, the name, the key, the secret or a signature
    signatures = [r.headers.get("X-Ncp-Apigw-Signature-V2", "") for r in standin.requests]
    secrets = [standin.access_key, standin.secret_key, "SK-WRONG", *filter(None, signatures)]
    lines = captured()
    assert any("010****5432" in line for line in lines)  # the masked number is what the logs show
    assert_clean(lines + errors, secrets)
    assert len(errors) >= 8


def test_the_telegram_client_leaks_nothing_on_any_path(
    telegram_server: tuple[TelegramStandIn, str],
    make_telegram_client: Callable[..., TelegramClient],
    captured: Callable[[], list[str]],
) -> None:
    standin, _ = telegram_server
    client = make_telegram_client()
    errors: list[str] = []
    run_quietly(lambda: client.send_message(CONTENT), errors)
    standin.rate_limit_next(retry_after=3)
    run_quietly(lambda: client.send_message(CONTENT), errors)
    standin.fail_next(500, times=5)
    run_quietly(lambda: client.send_message(CONTENT), errors)
    standin.fail_next(400, f"Bad Request: {RECIPIENT}")
    run_quietly(lambda: client.send_message(CONTENT), errors)
    run_quietly(lambda: make_telegram_client(token="42:WRONG-TOKEN-zzzz").send_message(CONTENT), errors)
    standin.stall_next(seconds=10)
    run_quietly(lambda: make_telegram_client(timeout=0.3).send_message(CONTENT), errors)
    # a client given by the caller is used as it is (http_direct): httpx logs each request's URL - redacted
    with httpx.Client(timeout=5.0) as given:
        run_quietly(lambda: make_telegram_client(http=given).send_message(CONTENT), errors)
        standin.fail_next(400, f"Bad Request: {RECIPIENT}")
        run_quietly(lambda: make_telegram_client(http=given).send_message(CONTENT), errors)
    lines = captured()
    assert any("HTTP Request: POST" in line and "sendMessage" in line for line in lines)
    assert any("send_request_headers" in line for line in lines)  # httpcore's DEBUG trace was captured too
    assert_clean(lines + errors, [standin.token, standin.token.split(":")[1], "WRONG-TOKEN"])


def test_the_slack_client_leaks_nothing_on_any_path(
    slack_server: tuple[SlackStandIn, str],
    make_slack_client: Callable[..., SlackWebhookClient],
    captured: Callable[[], list[str]],
) -> None:
    standin, webhook_url = slack_server
    client = make_slack_client()
    errors: list[str] = []
    run_quietly(lambda: client.post_message(CONTENT), errors)
    standin.rate_limit_next(retry_after=3)
    run_quietly(lambda: client.post_message(CONTENT), errors)
    standin.fail_next(500, "rollup_error", times=5)
    run_quietly(lambda: client.post_message(CONTENT), errors)
    standin.fail_next(400, f"invalid_payload {RECIPIENT}")
    run_quietly(lambda: client.post_message(CONTENT), errors)
    run_quietly(lambda: make_slack_client(webhook_url=webhook_url + "WRONG").post_message(CONTENT), errors)
    standin.stall_next(seconds=10)
    run_quietly(lambda: make_slack_client(timeout=0.3).post_message(CONTENT), errors)
    lines = captured()
    assert_clean(lines + errors, [webhook_url, standin.path, "STANDINxxxx"])
