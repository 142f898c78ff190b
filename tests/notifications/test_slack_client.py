"""SlackWebhookClient against the Slack webhook stand-in on 127.0.0.1 (real sockets)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from naver_sms.config.settings import Settings
from naver_sms.errors import ConfigError, DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.notifications.slack_service import SlackWebhookClient
from naver_sms.ports import SlackService
from tests.notifications.conftest import RecordingSleep, no_http
from tests.standins.server import free_port
from tests.standins.slack import SlackStandIn

pytestmark = pytest.mark.integration

Slack = tuple[SlackStandIn, str]
MakeClient = Callable[..., SlackWebhookClient]

DIGEST = (
    "옵션 b를 2회 이상 선택한 고객 (2026-11-01 ~ 2026-11-26)\n- 홍*동 010-****-5432\n- 김*수 010-****-0001"
)


def test_a_message_is_posted_as_text(slack_server: Slack, make_slack_client: MakeClient) -> None:
    standin, _ = slack_server
    receipt = make_slack_client().post_message(DIGEST)
    assert standin.messages == [{"text": DIGEST}]
    assert (receipt.channel, receipt.status, receipt.parts) == ("slack", "sent", 1)


def test_the_client_is_a_slack_service() -> None:
    assert isinstance(SlackWebhookClient(webhook_url=None, enabled=False), SlackService)


def test_slack_markup_characters_are_escaped(slack_server: Slack, make_slack_client: MakeClient) -> None:
    # GIVEN customer text that Slack would read as a mention or a link
    standin, _ = slack_server
    make_slack_client().post_message("<!channel> & <http://x|y>")
    # THEN it arrives escaped, and Slack shows it as written
    assert standin.messages[0]["text"] == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


def test_a_text_over_40000_characters_is_split_not_truncated(
    slack_server: Slack, make_slack_client: MakeClient
) -> None:
    # GIVEN a digest of 1500 lines of 30 characters (46,499 characters)
    standin, _ = slack_server
    lines = [f"{n:04d} " + "가" * 25 for n in range(1500)]
    # WHEN it is posted
    receipt = make_slack_client().post_message("\n".join(lines))
    # THEN it went out in 2 posts of whole lines, none truncated by Slack, nothing lost
    assert receipt.parts == len(standin.messages) == 2
    assert not any(m.get("truncated") for m in standin.messages)
    assert "\n".join(m["text"] for m in standin.messages).split("\n") == lines


def test_a_429_waits_exactly_the_retry_after_header(
    slack_server: Slack, make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    # GIVEN Slack rate limiting the next post for 30 seconds
    standin, _ = slack_server
    standin.rate_limit_next(retry_after=30)
    # WHEN a message is posted
    make_slack_client().post_message(DIGEST)
    # THEN the client waited exactly 30 s and posted once
    assert sleeps.waits == [30.0]
    assert len(standin.messages) == 1


def test_rate_limiting_that_never_ends_stops_at_the_retry_bound(
    slack_server: Slack, make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = slack_server
    standin.rate_limit_next(retry_after=2, times=10)
    with pytest.raises(DeliveryUnavailable) as caught:
        make_slack_client().post_message(DIGEST)
    assert len(standin.requests) == 3
    assert sleeps.waits == [2.0, 2.0]
    assert caught.value.provider_message == "rate_limited"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "channel_not_found"),
        (410, "channel_is_archived"),
    ],
)
def test_a_refusal_is_final_and_surfaces_slacks_error_string(
    slack_server: Slack, make_slack_client: MakeClient, status: int, error: str
) -> None:
    standin, _ = slack_server
    standin.fail_next(status, error)
    with pytest.raises(DeliveryRejected) as caught:
        make_slack_client().post_message(DIGEST)
    assert caught.value.provider_message == error
    assert caught.value.status_code == status
    assert error in str(caught.value)
    assert len(standin.requests) == 1


def test_a_server_error_is_retried_then_reported_unavailable(
    slack_server: Slack, make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = slack_server
    standin.fail_next(500, "rollup_error", times=5)
    with pytest.raises(DeliveryUnavailable) as caught:
        make_slack_client().post_message(DIGEST)
    assert caught.value.provider_message == "rollup_error"
    assert len(standin.requests) == 3
    assert sleeps.waits == [0.5, 1.0]


def test_a_server_error_then_success_posts_once(
    slack_server: Slack, make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = slack_server
    standin.fail_next(500, "rollup_error")
    assert make_slack_client().post_message(DIGEST).status == "sent"
    assert len(standin.messages) == 1


def test_a_wrong_webhook_is_refused_and_its_url_is_not_in_the_error(
    slack_server: Slack, make_slack_client: MakeClient
) -> None:
    _, webhook_url = slack_server
    wrong = webhook_url.replace("STANDIN", "WRONGHOOK")
    with pytest.raises(DeliveryRejected) as caught:
        make_slack_client(webhook_url=wrong).post_message(DIGEST)
    assert caught.value.provider_message == "no_service"
    assert "WRONGHOOK" not in str(caught.value)


def test_a_connection_refused_is_retried_then_reported_unavailable(
    make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    client = make_slack_client(webhook_url=f"http://127.0.0.1:{free_port()}/services/T0/B0/x")
    with pytest.raises(DeliveryUnavailable):
        client.post_message(DIGEST)
    assert len(sleeps.waits) == 2


def test_no_answer_is_outcome_unknown_and_not_resent(
    slack_server: Slack, make_slack_client: MakeClient
) -> None:
    standin, _ = slack_server
    standin.stall_next(seconds=10)
    with pytest.raises(OutcomeUnknown):
        make_slack_client(timeout=0.3).post_message(DIGEST)
    assert len(standin.requests) == 1


def test_an_empty_text_is_refused_without_a_request(
    slack_server: Slack, make_slack_client: MakeClient
) -> None:
    standin, _ = slack_server
    with pytest.raises(DeliveryRejected):
        make_slack_client().post_message("")
    assert standin.requests == []


def test_a_disabled_client_makes_no_request_and_says_so() -> None:
    client = SlackWebhookClient(webhook_url=None, enabled=False, transport=httpx.MockTransport(no_http))
    receipt = client.post_message(DIGEST)
    assert (receipt.status, receipt.parts) == ("disabled", 0)


def test_from_settings_is_disabled_by_default() -> None:
    assert SlackWebhookClient.from_settings(Settings()).enabled is False


def test_from_settings_enabled_without_a_webhook_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        SlackWebhookClient.from_settings(Settings(slack_enabled=True))
    assert "NAVER_SMS_SLACK_WEBHOOK_URL" in str(caught.value)


def test_from_settings_enabled_posts_and_hides_the_webhook(slack_server: Slack) -> None:
    standin, webhook_url = slack_server
    with SlackWebhookClient.from_settings(
        Settings(slack_enabled=True, slack_webhook_url=webhook_url)
    ) as client:
        client.post_message(DIGEST)
        assert webhook_url not in repr(client)
    assert len(standin.messages) == 1


def test_a_429_without_retry_after_falls_back_to_backoff(
    slack_server: Slack, make_slack_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = slack_server
    standin.fail_next(429, "rate_limited")
    make_slack_client().post_message(DIGEST)
    assert sleeps.waits == [0.5]
    assert len(standin.messages) == 1
