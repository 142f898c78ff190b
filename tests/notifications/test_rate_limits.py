"""Telegram and Slack as they really behave under load: about one message a second, then 429 with a retry
hint (external-apis.md §3-4). The stand-ins enforce the pace on a clock that the client's sleep advances, so
the waits are real in the stand-ins' time and no test sleeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from naver_sms.notifications.slack_service import SlackWebhookClient
from naver_sms.notifications.telegram_service import TelegramClient
from tests.standins.slack import SlackStandIn
from tests.standins.telegram import TelegramStandIn

pytestmark = pytest.mark.integration


class SharedTime:
    """One clock for the stand-in and the client: the client's sleep moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_a_long_telegram_text_arrives_whole_at_the_real_pace(
    telegram_server: tuple[TelegramStandIn, str], make_telegram_client: Callable[..., TelegramClient]
) -> None:
    # GIVEN Telegram allowing one message a second to the chat, and a text that needs three messages
    standin, _ = telegram_server
    time = SharedTime()
    standin.pace.min_interval, standin.pace.clock = 1.0, time.clock
    text = "\n".join(f"{n:04d} " + "가" * 60 for n in range(180))
    # WHEN the client sends it
    receipt = make_telegram_client(sleep=time.sleep).send_message(text)
    # THEN every part arrived, in order, each after waiting exactly what Telegram asked
    assert receipt.parts == 3
    assert "\n".join(m["text"] for m in standin.messages) == text
    assert time.waits == [1, 1]


def test_slack_posts_one_message_per_booking_at_the_real_pace(
    slack_server: tuple[SlackStandIn, str], make_slack_client: Callable[..., Any]
) -> None:
    # GIVEN Slack allowing about one message a second
    standin, _ = slack_server
    time = SharedTime()
    standin.pace.min_interval, standin.pace.clock = 1.0, time.clock
    client: SlackWebhookClient = make_slack_client(sleep=time.sleep)
    # WHEN five rules post one after another
    for n in range(5):
        client.post_message(f"booking {n}")
    # THEN all five arrived, each waiting the Retry-After it was given
    assert [m["text"] for m in standin.messages] == [f"booking {n}" for n in range(5)]
    assert time.waits == [1, 1, 1, 1]
