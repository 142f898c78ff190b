"""TelegramClient against the Telegram stand-in on 127.0.0.1 (real sockets)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from naver_sms.config.settings import Settings
from naver_sms.errors import ConfigError, DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.notifications.telegram_service import TelegramClient, escape_html
from naver_sms.ports import TelegramService
from tests.notifications.conftest import RecordingSleep, no_http
from tests.standins.server import free_port
from tests.standins.telegram import TelegramStandIn

pytestmark = pytest.mark.integration

Telegram = tuple[TelegramStandIn, str]
MakeClient = Callable[..., TelegramClient]

SUMMARY = "010-9876-5432 예약확정 문자 발송 완료\n010-9876-5432 안내 문자 발송 완료"


# -- sending --------------------------------------------------------------------------------------------


def test_a_message_is_sent_as_plain_text_with_link_previews_off(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    # GIVEN the legacy run summary
    standin, _ = telegram_server
    # WHEN it is sent
    receipt = make_telegram_client().send_message(SUMMARY)
    # THEN Telegram got it as written, without a parse mode, to the configured chat
    (message,) = standin.messages
    assert message == {
        "chat_id": -1001234567890,
        "text": SUMMARY,
        "link_preview_options": {"is_disabled": True},
    }
    assert (receipt.channel, receipt.status, receipt.parts) == ("telegram", "sent", 1)


def test_customer_text_with_markup_characters_cannot_break_the_message(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    standin, _ = telegram_server
    text = "<홍*동> & _별표_ *굵게* [링크](x) `코드`"
    make_telegram_client().send_message(text)
    assert standin.messages[0]["text"] == text


def test_the_client_is_a_telegram_service() -> None:
    client = TelegramClient(token=None, chat_id=None, enabled=False, transport=httpx.MockTransport(no_http))
    assert isinstance(client, TelegramService)


def test_escape_html_makes_customer_text_safe_for_html_mode(telegram_server: Telegram) -> None:
    # GIVEN a text that Telegram's HTML mode refuses as it is
    standin, url = telegram_server
    raw = "<홍*동> & 친구"
    endpoint = f"{url}/bot{standin.token}/sendMessage"
    chat = next(iter(standin.chat_ids))
    refused = httpx.post(endpoint, json={"chat_id": chat, "text": raw, "parse_mode": "HTML"})
    # WHEN it is escaped, THEN it is accepted and reads the same
    accepted = httpx.post(endpoint, json={"chat_id": chat, "text": escape_html(raw), "parse_mode": "HTML"})
    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert escape_html(raw) == "&lt;홍*동&gt; &amp; 친구"


# -- splitting ------------------------------------------------------------------------------------------


def test_a_text_over_4096_characters_is_split_on_line_boundaries(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    # GIVEN 200 result lines of 40 characters (8199 characters in all)
    standin, _ = telegram_server
    lines = [f"{n:03d} " + "가" * 36 for n in range(200)]
    text = "\n".join(lines)
    # WHEN it is sent
    receipt = make_telegram_client().send_message(text)
    # THEN it went out in 3 messages, each within the limit, each made of whole lines, nothing lost
    texts = [m["text"] for m in standin.messages]
    assert receipt.parts == len(texts) == 3
    assert all(len(t) <= 4096 for t in texts)
    assert "\n".join(texts).split("\n") == lines


def test_a_single_line_over_4096_characters_is_cut_hard(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    standin, _ = telegram_server
    text = "가" * 5000
    make_telegram_client().send_message(text)
    assert [len(m["text"]) for m in standin.messages] == [4096, 904]


def test_emoji_count_double_towards_the_limit_as_telegram_counts_them(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    # GIVEN 2100 emoji: 2100 characters but 4200 UTF-16 code units
    standin, _ = telegram_server
    make_telegram_client().send_message("😀" * 2100)
    # THEN it is split, and Telegram accepted both parts
    assert [len(m["text"]) for m in standin.messages] == [2048, 52]


def test_an_empty_text_is_refused_without_a_request(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    standin, _ = telegram_server
    with pytest.raises(DeliveryRejected):
        make_telegram_client().send_message("  \n ")
    assert standin.requests == []


# -- rate limits and failures ---------------------------------------------------------------------------


def test_a_429_waits_exactly_the_retry_after_of_the_body(
    telegram_server: Telegram, make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    # GIVEN Telegram rate limiting the next request for 17 seconds (in the body, as Telegram does)
    standin, _ = telegram_server
    standin.rate_limit_next(retry_after=17)
    # WHEN a message is sent
    make_telegram_client().send_message(SUMMARY)
    # THEN the client waited 17 s - no more, no less - and the message went out once
    assert sleeps.waits == [17.0]
    assert len(standin.messages) == 1
    assert len(standin.requests) == 2


def test_a_retry_after_longer_than_the_client_will_wait_ends_the_retries_at_once(
    telegram_server: Telegram, make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = telegram_server
    standin.rate_limit_next(retry_after=3600)
    with pytest.raises(DeliveryUnavailable) as caught:
        make_telegram_client().send_message(SUMMARY)
    assert sleeps.waits == []
    assert caught.value.status_code == 429
    assert standin.messages == []


def test_rate_limiting_that_never_ends_stops_at_the_retry_bound(
    telegram_server: Telegram, make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = telegram_server
    standin.rate_limit_next(retry_after=1, times=10)
    with pytest.raises(DeliveryUnavailable):
        make_telegram_client().send_message(SUMMARY)
    assert len(standin.requests) == 3
    assert sleeps.waits == [1.0, 1.0]


def test_a_server_error_is_retried_with_backoff(
    telegram_server: Telegram, make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = telegram_server
    standin.fail_next(502, "Bad Gateway", times=2)
    receipt = make_telegram_client().send_message(SUMMARY)
    assert receipt.status == "sent"
    assert sleeps.waits == [0.5, 1.0]
    assert len(standin.messages) == 1


def test_an_unknown_chat_is_a_final_refusal_with_telegrams_description(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    standin, _ = telegram_server
    with pytest.raises(DeliveryRejected) as caught:
        make_telegram_client(chat_id="-1009999999999").send_message(SUMMARY)
    assert caught.value.provider_message == "Bad Request: chat not found"
    assert caught.value.status_code == 400
    assert len(standin.requests) == 1


def test_a_wrong_token_is_refused_and_the_token_is_not_in_the_error(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    wrong = "999999:WRONG-token-11111111111111111111"
    with pytest.raises(DeliveryRejected) as caught:
        make_telegram_client(token=wrong).send_message(SUMMARY)
    assert caught.value.status_code == 401
    assert wrong not in str(caught.value)
    assert "999999" not in str(caught.value)


def test_a_connection_refused_is_retried_then_reported_unavailable(
    make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    client = make_telegram_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(DeliveryUnavailable) as caught:
        client.send_message(SUMMARY)
    assert len(sleeps.waits) == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_no_answer_after_sending_is_outcome_unknown_and_not_resent(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    # GIVEN Telegram posting the message but never answering in time
    standin, _ = telegram_server
    standin.accept_then_stall(seconds=10)
    # WHEN the client (0.3 s timeout) sends, THEN it says it does not know, and did not send again
    with pytest.raises(OutcomeUnknown):
        make_telegram_client(timeout=0.3).send_message(SUMMARY)
    assert len(standin.requests) == 1
    assert len(standin.messages) == 1


def test_an_answer_that_does_not_decode_is_outcome_unknown_and_not_resent() -> None:
    # GIVEN Telegram answering with a body that is not the gzip its Content-Encoding says
    posts: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=b"not gzip at all")

    client = TelegramClient(token="1:synthetic", chat_id="1", transport=httpx.MockTransport(answer))
    # WHEN it sends  THEN it says it does not know (the message may be in the chat), and did not send again
    with pytest.raises(OutcomeUnknown, match="DecodingError"):
        client.send_message(SUMMARY)
    assert len(posts) == 1


def test_a_failing_later_part_reports_which_part(
    telegram_server: Telegram, make_telegram_client: MakeClient
) -> None:
    # GIVEN a two-part text, and the bot kicked from the chat after the first part went out
    standin, _ = telegram_server
    standin.pass_next()
    standin.fail_next(403, "Forbidden: bot was kicked from the supergroup chat")
    # WHEN it is sent
    with pytest.raises(DeliveryRejected) as caught:
        make_telegram_client().send_message("가" * 4096 + "\n" + "나")
    # THEN the error names the part that failed, and the first part is in the chat
    assert "part 2 of 2" in str(caught.value)
    assert len(standin.messages) == 1


# -- disabled -------------------------------------------------------------------------------------------


def test_a_disabled_client_makes_no_request_and_says_so() -> None:
    client = TelegramClient(token=None, chat_id=None, enabled=False, transport=httpx.MockTransport(no_http))
    receipt = client.send_message(SUMMARY)
    assert (receipt.status, receipt.parts) == ("disabled", 0)
    assert "disabled" in receipt.detail


def test_from_settings_disabled_needs_no_credentials() -> None:
    client = TelegramClient.from_settings(Settings(telegram_enabled=False))
    assert client.enabled is False
    client.close()


def test_from_settings_enabled_without_a_token_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        TelegramClient.from_settings(Settings(telegram_enabled=True, telegram_chat_id="-100"))
    assert "NAVER_SMS_TELEGRAM_TOKEN" in str(caught.value)


def test_from_settings_enabled_builds_a_client_whose_repr_hides_the_token(telegram_server: Telegram) -> None:
    standin, url = telegram_server
    settings = Settings(
        telegram_enabled=True,
        telegram_token=standin.token,
        telegram_chat_id=next(iter(standin.chat_ids)),
        telegram_base=url,
    )
    with TelegramClient.from_settings(settings) as client:
        client.send_message(SUMMARY)
        assert standin.token not in repr(client)
    assert json.loads(standin.requests[0][1])["text"] == SUMMARY


def test_a_429_without_a_retry_hint_falls_back_to_backoff(
    telegram_server: Telegram, make_telegram_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = telegram_server
    standin.fail_next(429, "Too Many Requests")
    make_telegram_client().send_message(SUMMARY)
    assert sleeps.waits == [0.5]
    assert len(standin.messages) == 1
