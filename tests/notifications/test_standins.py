"""The stand-ins are as strict as the services they stand in for (a forgiving stand-in hides bugs)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from naver_sms.notifications.sens_wire import make_signature
from tests.standins.sens import SensStandIn
from tests.standins.slack import SlackStandIn
from tests.standins.telegram import TelegramStandIn

pytestmark = pytest.mark.integration


def signed_post(
    standin: SensStandIn,
    url: str,
    body: dict[str, object],
    *,
    secret: str | None = None,
    timestamp_ms: int | None = None,
) -> httpx.Response:
    uri = f"/sms/v2/services/{standin.service_id}/messages"
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    signature = make_signature("POST", uri, ts, standin.access_key, secret or standin.secret_key)
    return httpx.post(
        url + uri,
        content=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "x-ncp-apigw-timestamp": ts,
            "x-ncp-iam-access-key": standin.access_key,
            "x-ncp-apigw-signature-v2": signature,
        },
    )


def body(recipients: int = 1, content: str = "안내", type_: str = "LMS") -> dict[str, object]:
    return {
        "type": type_,
        "contentType": "COMM",
        "from": "0212345678",
        "subject": "안내",
        "content": content,
        "messages": [{"to": f"0100000{n:04d}"} for n in range(recipients)],
    }


def test_sens_refuses_an_unsigned_request(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    response = httpx.post(f"{url}/sms/v2/services/{standin.service_id}/messages", json=body())
    assert response.status_code == 401
    assert standin.messages == []


def test_sens_refuses_a_signature_made_with_another_secret(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    assert signed_post(standin, url, body(), secret="SK-OTHER").status_code == 401


def test_sens_refuses_a_timestamp_more_than_five_minutes_old(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    old = int((time.time() - 301) * 1000)
    assert signed_post(standin, url, body(), timestamp_ms=old).status_code == 401


def test_sens_accepts_100_recipients_and_refuses_101(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    accepted = signed_post(standin, url, body(100))
    refused = signed_post(standin, url, body(101))
    assert accepted.status_code == 202
    assert accepted.json()["statusName"] == "success"
    assert refused.status_code == 400
    assert "errorMessage" in refused.json()
    assert len(standin.messages) == 100


def test_sens_truncates_over_long_content_and_the_stand_in_marks_it(
    sens_server: tuple[SensStandIn, str],
) -> None:
    # like the real SENS: sent anyway, cut at 90 bytes
    standin, url = sens_server
    assert signed_post(standin, url, body(content="가" * 50, type_="SMS")).status_code == 202
    assert standin.messages[0].truncated is True
    assert standin.messages[0].content == "가" * 45


def test_sens_refuses_an_unknown_field(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    assert signed_post(standin, url, {**body(), "sender": "x"}).status_code == 400


def test_sens_refuses_a_look_up_window_over_30_days(sens_server: tuple[SensStandIn, str]) -> None:
    standin, url = sens_server
    uri = (
        f"/sms/v2/services/{standin.service_id}/messages"
        "?requestStartTime=2026-10-01%2000%3A00%3A00&requestEndTime=2026-11-01%2000%3A00%3A01"
    )
    ts = str(int(time.time() * 1000))
    response = httpx.get(
        url + uri,
        headers={
            "x-ncp-apigw-timestamp": ts,
            "x-ncp-iam-access-key": standin.access_key,
            "x-ncp-apigw-signature-v2": make_signature(
                "GET", uri, ts, standin.access_key, standin.secret_key
            ),
        },
    )
    assert response.status_code == 400


def test_telegram_refuses_a_text_over_4096_characters(telegram_server: tuple[TelegramStandIn, str]) -> None:
    standin, url = telegram_server
    response = httpx.post(
        f"{url}/bot{standin.token}/sendMessage",
        json={"chat_id": next(iter(standin.chat_ids)), "text": "a" * 4097},
    )
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message is too long",
    }


def test_telegram_puts_the_retry_hint_in_the_body_not_a_header(
    telegram_server: tuple[TelegramStandIn, str],
) -> None:
    standin, url = telegram_server
    standin.rate_limit_next(retry_after=5)
    response = httpx.post(
        f"{url}/bot{standin.token}/sendMessage", json={"chat_id": next(iter(standin.chat_ids)), "text": "a"}
    )
    assert response.status_code == 429
    assert response.json()["parameters"] == {"retry_after": 5}
    assert "Retry-After" not in response.headers


def test_slack_refuses_a_body_that_is_not_json(slack_server: tuple[SlackStandIn, str]) -> None:
    standin, webhook_url = slack_server
    response = httpx.post(webhook_url, content=b"text=hi")
    assert (response.status_code, response.text) == (400, "invalid_payload")
    assert standin.messages == []


def test_slack_rate_limits_with_a_retry_after_header(slack_server: tuple[SlackStandIn, str]) -> None:
    standin, webhook_url = slack_server
    standin.rate_limit_next(retry_after=9)
    response = httpx.post(webhook_url, json={"text": "hi"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "9"
