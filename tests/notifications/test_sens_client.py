"""SensClient against the SENS stand-in on 127.0.0.1 (real sockets), plus a few unit tests through
`httpx.MockTransport` where no server is needed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from naver_sms.domain.clock import KST
from naver_sms.errors import DeliveryRejected, DeliveryUnavailable, MessageTooLong, OutcomeUnknown
from naver_sms.notifications.sens_wire import make_signature, resolve_type
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage, SmsService
from naver_sms.retry import RetryPolicy
from tests.notifications.conftest import RECIPIENT, SENDER, RecordingSleep
from tests.standins.sens import SensStandIn
from tests.standins.server import free_port

pytestmark = pytest.mark.integration

SUBJECT = "예시스튜디오 안내"
CONFIRMATION = (
    "[예시스튜디오] 예약이 확정되었습니다.\n방문 30분 전 안내 문자를 드립니다.\n\n문의: 02-000-0000"
)
GUIDE = "[예시스튜디오] 오늘 예약 안내\n출입 비밀번호: 0000*\nWi-Fi: example / 00000000\n⬇ 주차 안내 ⬇"

Sens = tuple[SensStandIn, str]
MakeClient = Callable[..., SensClient]


def lms(content: str = CONFIRMATION, *, to: str = RECIPIENT, sender: str = SENDER) -> SmsMessage:
    return SmsMessage(to=to, sender=sender, type="LMS", subject=SUBJECT, content=content)


# -- the signature (external-apis.md §2 test vectors) --------------------------------------------------


def test_signature_of_a_send_matches_the_documented_vector() -> None:
    # GIVEN the documented dummy credentials and a POST to the messages URI
    # WHEN it is signed
    signature = make_signature(
        "POST",
        "/sms/v2/services/ncp:sms:kr:000000000000:example/messages",
        1700000000000,
        "AKEXAMPLE0000000000",
        "SKEXAMPLE00000000000000000000000000000000",
    )
    # THEN it is the documented value
    assert signature == "OgJSgQJnnBDV+xgbDMv+WkgwCpKsz9B/bZnyQ2vJY88="


def test_signature_of_a_look_up_with_a_query_matches_the_documented_vector() -> None:
    signature = make_signature(
        "GET",
        "/sms/v2/services/ncp:sms:kr:000000000000:example/messages?requestId=ABC-123",
        "1700000000000",
        "AKEXAMPLE0000000000",
        "SKEXAMPLE00000000000000000000000000000000",
    )
    assert signature == "RUytHpBFqmZzG4HTWnSwgjQIBaPse8p+iYmtKIL70fs="


def test_requests_carry_the_timestamp_of_the_injected_clock_and_its_signature() -> None:
    # GIVEN a client whose wall clock says 2023-11-14T22:13:20Z (epoch 1700000000 s)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            202,
            json={
                "requestId": "R1",
                "requestTime": "2023-11-15T07:13:20.000",
                "statusCode": "202",
                "statusName": "success",
            },
        )

    client = SensClient(
        base_url="https://sens.test",
        service_id="ncp:sms:kr:000000000000:example",
        access_key="AKEXAMPLE0000000000",
        secret_key="SKEXAMPLE00000000000000000000000000000000",
        transport=httpx.MockTransport(handler),
        clock=lambda: datetime.fromtimestamp(1700000000, UTC),
    )
    # WHEN it sends
    client.send(lms())
    # THEN the headers are the documented ones for that timestamp
    headers = seen[0].headers
    assert headers["x-ncp-apigw-timestamp"] == "1700000000000"
    assert headers["x-ncp-iam-access-key"] == "AKEXAMPLE0000000000"
    assert headers["x-ncp-apigw-signature-v2"] == "OgJSgQJnnBDV+xgbDMv+WkgwCpKsz9B/bZnyQ2vJY88="
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert seen[0].url.raw_path == b"/sms/v2/services/ncp:sms:kr:000000000000:example/messages"


def test_the_client_is_an_sms_service_that_sends_for_real() -> None:
    client = SensClient(
        base_url="https://sens.test",
        service_id="s",
        access_key="a",
        secret_key="b",
        transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    )
    assert isinstance(client, SmsService)
    assert client.live is True


# -- the body -------------------------------------------------------------------------------------------


def test_the_body_is_the_legacy_body_byte_for_byte(sens_server: Sens, make_sens_client: MakeClient) -> None:
    # GIVEN the legacy job's body for a confirmation SMS (legacy-behaviour.md §5), as requests' json= sent it
    standin, _ = sens_server
    legacy_body = {
        "type": "LMS",
        "contentType": "COMM",
        "from": SENDER,
        "subject": SUBJECT,
        "content": CONFIRMATION,
        "messages": [{"to": RECIPIENT}],
    }
    # WHEN the client sends the same message
    make_sens_client().send(lms())
    # THEN SENS received exactly those bytes, and recorded the message untruncated
    assert standin.send_requests[0].body == json.dumps(legacy_body).encode()
    assert standin.send_requests[0].headers["Content-Type"] == "application/json; charset=utf-8"
    (message,) = standin.messages
    assert (message.to, message.sender, message.type, message.subject, message.content) == (
        RECIPIENT,
        SENDER,
        "LMS",
        SUBJECT,
        CONFIRMATION,
    )
    assert message.truncated is False


def test_characters_outside_euc_kr_are_sent_as_written(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    make_sens_client().send(lms(GUIDE))
    assert standin.messages[0].content == GUIDE


# -- success --------------------------------------------------------------------------------------------


def test_an_accepted_sms_returns_the_request_id_and_time_sens_answered(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    receipt = make_sens_client().send(lms())
    assert receipt.status == "sent"
    assert receipt.request_id == standin.messages[0].request_id
    assert receipt.accepted_at == standin.messages[0].request_time.replace(
        microsecond=standin.messages[0].request_time.microsecond // 1000 * 1000
    )
    assert receipt.accepted_at.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("status", [200, 201, 204])
def test_a_success_code_other_than_202_does_not_count_as_sent(status: int, sleeps: RecordingSleep) -> None:
    # GIVEN SENS answering the send with a 2xx that is not 202, and a look-up that finds nothing
    posts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posts.append(request)
            return httpx.Response(status, json={})
        return httpx.Response(200, json={"messages": [], "hasMore": False})

    client = SensClient(
        base_url="https://sens.test",
        service_id="s",
        access_key="a",
        secret_key="b",
        transport=httpx.MockTransport(handler),
        sleep=sleeps,
        lookup_attempts=2,
    )
    # WHEN it sends, THEN it is not reported as sent - and it was not resent
    with pytest.raises(OutcomeUnknown):
        client.send(lms())
    assert len(posts) == 1


# -- type and length checks -----------------------------------------------------------------------------


def test_type_auto_picks_sms_for_a_short_text_and_lms_for_a_long_one() -> None:
    short = SmsMessage(to=RECIPIENT, sender=SENDER, type="auto", subject="", content="가" * 45)
    long = SmsMessage(to=RECIPIENT, sender=SENDER, type="auto", subject="", content="가" * 46)
    assert resolve_type(short).type == "SMS"
    assert resolve_type(long).type == "LMS"


def test_type_auto_is_resolved_before_sending(sens_server: Sens, make_sens_client: MakeClient) -> None:
    standin, _ = sens_server
    make_sens_client().send(SmsMessage(to=RECIPIENT, sender=SENDER, type="auto", subject="", content="안녕"))
    assert json.loads(standin.send_requests[0].body)["type"] == "SMS"


@pytest.mark.parametrize(
    ("type_", "content", "subject"),
    [
        ("SMS", "가" * 46, ""),  # 92 bytes > 90
        ("LMS", "가" * 1000 + "a", SUBJECT),  # 2001 bytes > 2000
        ("LMS", CONFIRMATION, "가" * 20 + "a"),  # subject 41 bytes > 40
        ("LMS", "⚠" * 1001, SUBJECT),  # outside EUC-KR counts 2 bytes: 2002 > 2000
    ],
    ids=["sms-content", "lms-content", "subject", "non-euc-kr"],
)
def test_an_over_long_message_is_refused_before_any_request(
    sens_server: Sens, make_sens_client: MakeClient, type_: str, content: str, subject: str
) -> None:
    # GIVEN a message SENS would silently truncate
    standin, _ = sens_server
    message = SmsMessage(to=RECIPIENT, sender=SENDER, type=type_, subject=subject, content=content)
    # WHEN it is sent, THEN it is refused and nothing reached SENS
    with pytest.raises(MessageTooLong):
        make_sens_client().send(message)
    assert standin.requests == []


def test_a_message_at_exactly_the_limits_is_sent_untruncated(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    make_sens_client().send(
        SmsMessage(to=RECIPIENT, sender=SENDER, type="LMS", subject="가" * 20, content="가" * 1000)
    )
    assert standin.messages[0].truncated is False


def test_a_recipient_with_hyphens_is_refused_before_any_request(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    with pytest.raises(DeliveryRejected):
        make_sens_client().send(lms(to="010-9876-5432"))
    assert standin.requests == []


# -- final failures -------------------------------------------------------------------------------------


def test_a_400_is_final_and_carries_the_error_message(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS refusing the next send as invalid
    standin, _ = sens_server
    standin.fail_next(400, body={"status": 400, "errorMessage": "Invalid sender number", "errors": []})
    # WHEN the client sends
    with pytest.raises(DeliveryRejected) as caught:
        make_sens_client().send(lms())
    # THEN the error is final, says why, and there was no retry
    assert caught.value.status_code == 400
    assert caught.value.provider_message == "Invalid sender number"
    assert len(standin.send_requests) == 1


def test_a_wrong_secret_is_refused_by_the_signature_check(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    with pytest.raises(DeliveryRejected) as caught:
        make_sens_client(secret_key="SKWRONG000000000000000000000000000000000").send(lms())
    assert caught.value.status_code == 401
    assert "Authentication Failed" in (caught.value.provider_message or "")
    assert standin.messages == []
    assert len(standin.send_requests) == 1


def test_a_clock_more_than_five_minutes_off_is_refused(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN a client whose clock is six minutes behind SENS's
    standin, _ = sens_server
    behind = lambda: datetime.now(UTC) - timedelta(minutes=6)  # noqa: E731
    with pytest.raises(DeliveryRejected) as caught:
        make_sens_client(clock=behind).send(lms())
    assert caught.value.status_code == 401
    assert standin.messages == []


# -- retries --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_transient_failure_is_retried_until_sens_accepts(
    sens_server: Sens, make_sens_client: MakeClient, sleeps: RecordingSleep, status: int
) -> None:
    # GIVEN SENS failing twice, then accepting
    standin, _ = sens_server
    standin.fail_next(status, times=2)
    # WHEN the client sends (3 attempts allowed)
    receipt = make_sens_client().send(lms())
    # THEN it succeeded on the third request, after two backoffs, and exactly one SMS went out
    assert receipt.request_id == standin.messages[0].request_id
    assert len(standin.send_requests) == 3
    assert len(standin.messages) == 1
    assert sleeps.waits == [0.5, 1.0]


def test_retries_stop_at_their_bound(
    sens_server: Sens, make_sens_client: MakeClient, sleeps: RecordingSleep
) -> None:
    # GIVEN SENS failing with 500 more often than the client may try
    standin, _ = sens_server
    standin.fail_next(500, times=10)
    # WHEN the client sends with 3 attempts allowed
    with pytest.raises(DeliveryUnavailable) as caught:
        make_sens_client().send(lms())
    # THEN it made exactly 3 requests and waited twice
    assert len(standin.send_requests) == 3
    assert len(sleeps.waits) == 2
    assert caught.value.status_code == 500
    assert standin.messages == []


def test_backoff_grows_exponentially_up_to_its_maximum_with_jitter_below_it() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0, jitter=0.3)
    waits = [policy.backoff(n) for n in range(1, 8)]
    nominal = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0.7 * n <= w <= n for w, n in zip(waits, nominal, strict=True))


def test_a_429_waits_as_long_as_retry_after_says(
    sens_server: Sens, make_sens_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = sens_server
    standin.fail_next(429, headers={"Retry-After": "7"})
    make_sens_client().send(lms())
    assert sleeps.waits == [7.0]
    assert len(standin.messages) == 1


def test_connection_refused_is_retried_then_reported_unavailable(
    make_sens_client: MakeClient, sleeps: RecordingSleep
) -> None:
    # GIVEN nothing listening where SENS should be
    client = make_sens_client(base_url=f"http://127.0.0.1:{free_port()}")
    # WHEN the client sends, THEN it tried 3 times and says SENS was unavailable
    with pytest.raises(DeliveryUnavailable) as caught:
        client.send(lms())
    assert len(sleeps.waits) == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# -- no answer after sending ----------------------------------------------------------------------------


def test_a_stall_after_sending_is_resolved_through_the_look_up_without_a_second_sms(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS accepting the SMS but never answering in time
    standin, _ = sens_server
    standin.accept_then_stall(seconds=10)
    # WHEN the client (0.3 s timeout) sends
    receipt = make_sens_client(timeout=0.3).send(lms())
    # THEN it found the message through the look-up, and SENS recorded exactly one SMS from one send request
    assert len(standin.send_requests) == 1
    assert len(standin.messages) == 1
    assert receipt.request_id == standin.messages[0].request_id


def test_a_stall_after_sending_with_the_look_up_down_is_outcome_unknown_and_never_resent(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS accepting the SMS without answering, and its look-up failing
    standin, _ = sens_server
    standin.accept_then_stall(seconds=10)
    standin.fail_next(500, times=50, route="list")
    # WHEN the client sends
    with pytest.raises(OutcomeUnknown) as caught:
        make_sens_client(timeout=0.3).send(lms())
    # THEN the outcome is reported unknown, and there was one send request and one SMS
    assert len(standin.send_requests) == 1
    assert len(standin.messages) == 1
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_a_stall_before_anything_was_recorded_is_outcome_unknown_not_a_resend(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS stalling before it records anything (the client cannot know that)
    standin, _ = sens_server
    standin.stall_next(seconds=10)
    # WHEN the client sends, THEN it looks up, finds nothing, and says the outcome is unknown
    with pytest.raises(OutcomeUnknown):
        make_sens_client(timeout=0.3).send(lms())
    assert len(standin.send_requests) == 1
    assert standin.messages == []


def test_the_look_up_after_a_lost_answer_is_bounded(
    sens_server: Sens, make_sens_client: MakeClient, sleeps: RecordingSleep
) -> None:
    standin, _ = sens_server
    standin.stall_next(seconds=10)
    with pytest.raises(OutcomeUnknown):
        make_sens_client(timeout=0.3, lookup_attempts=3, lookup_delay=2.0).send(lms())
    assert sleeps.waits == [2.0, 2.0, 2.0]
    list_requests = [r for r in standin.requests if r.method == "GET" and "requestStartTime" in r.uri]
    assert len(list_requests) == 3


# -- find_sent ------------------------------------------------------------------------------------------


def test_find_sent_finds_a_message_sens_accepted_in_the_window(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN a confirmation sent a moment ago
    client = make_sens_client()
    sent = client.send(lms())
    now = datetime.now(UTC)
    # WHEN a later run (another process, so another client) asks whether it went out
    found = make_sens_client().find_sent(
        lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)
    )
    # THEN SENS's record says so, with the same request id
    assert found is not None
    assert found.request_id == sent.request_id
    assert found.status == "sent"


def test_find_sent_sends_the_window_in_korean_time(sens_server: Sens, make_sens_client: MakeClient) -> None:
    standin, _ = sens_server
    make_sens_client().find_sent(
        lms(),
        since=datetime(2026, 11, 26, 9, 40, 0, tzinfo=UTC),
        until=datetime(2026, 11, 26, 9, 50, 0, 1, tzinfo=UTC),
    )
    (request,) = standin.requests
    assert "requestStartTime=2026-11-26%2018%3A40%3A00" in request.uri
    assert "requestEndTime=2026-11-26%2018%3A50%3A01" in request.uri


def test_find_sent_does_not_find_a_message_to_someone_else(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    client = make_sens_client()
    client.send(lms(to="01000000001"))
    now = datetime.now(UTC)
    assert (
        client.find_sent(lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)) is None
    )


def test_find_sent_does_not_take_another_text_to_the_same_number_for_this_one(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN the confirmation went out to the customer from the store's number
    client = make_sens_client()
    client.send(lms(CONFIRMATION))
    now = datetime.now(UTC)
    # WHEN the guide (same recipient, same sender) is looked up, THEN it is not found
    assert (
        client.find_sent(lms(GUIDE), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1))
        is None
    )


def test_find_sent_outside_the_window_finds_nothing(sens_server: Sens, make_sens_client: MakeClient) -> None:
    client = make_sens_client()
    client.send(lms())
    now = datetime.now(UTC)
    assert client.find_sent(lms(), since=now - timedelta(hours=3), until=now - timedelta(hours=2)) is None


def test_find_sent_ignores_a_message_the_carrier_failed(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    standin.deliver_next_as("COMPLETED", "3015")
    client = make_sens_client()
    client.send(lms())
    now = datetime.now(UTC)
    assert (
        client.find_sent(lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)) is None
    )


def test_find_sent_counts_a_message_still_in_progress_as_sent(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    standin, _ = sens_server
    standin.deliver_next_as("PROCESSING", None)
    client = make_sens_client()
    client.send(lms())
    now = datetime.now(UTC)
    assert (
        make_sens_client().find_sent(
            lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)
        )
        is not None
    )


def test_find_sent_splits_a_window_longer_than_30_days(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN a message sent now and a 45-day window ending now
    standin, _ = sens_server
    client = make_sens_client()
    client.send(lms())
    now = datetime.now(UTC)
    # WHEN it is looked up, THEN SENS was asked twice (no window over 30 days) and it was found
    assert (
        make_sens_client().find_sent(lms(), since=now - timedelta(days=45), until=now + timedelta(minutes=1))
        is not None
    )
    assert len([r for r in standin.requests if "requestStartTime" in r.uri]) == 2


def test_find_sent_reads_every_page_of_a_busy_window(sens_server: Sens, make_sens_client: MakeClient) -> None:
    # GIVEN 120 other messages sent after ours in the same window
    standin, _ = sens_server
    client = make_sens_client()
    client.send(lms())
    for n in range(120):
        client.send(lms(to=f"0100000{n:04d}"))
    now = datetime.now(UTC)
    assert (
        make_sens_client().find_sent(
            lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)
        )
        is not None
    )
    assert len([r for r in standin.requests if "pageIndex=1" in r.uri]) == 1


def test_find_sent_that_cannot_ask_sens_says_so(sens_server: Sens, make_sens_client: MakeClient) -> None:
    standin, _ = sens_server
    standin.fail_next(500, times=3, route="list")
    now = datetime.now(UTC)
    with pytest.raises(DeliveryUnavailable):
        make_sens_client().find_sent(lms(), since=now - timedelta(minutes=10), until=now)


def test_find_sent_takes_naive_datetimes_as_utc(sens_server: Sens, make_sens_client: MakeClient) -> None:
    standin, _ = sens_server
    make_sens_client().find_sent(
        lms(), since=datetime(2026, 11, 26, 9, 40), until=datetime(2026, 11, 26, 9, 41)
    )
    assert "requestStartTime=2026-11-26%2018%3A40%3A00" in standin.requests[0].uri


# -- construction ---------------------------------------------------------------------------------------


def test_from_settings_builds_a_client_and_never_shows_the_secret() -> None:
    from naver_sms.config.settings import Settings

    settings = Settings(
        sens_access_key="AKSETTINGS",
        sens_secret_key="SKSETTINGS-SECRET",
        sens_service_id="ncp:sms:kr:000000000000:example",
        sens_base="http://127.0.0.1:9",
    )
    client = SensClient.from_settings(settings)
    assert "SKSETTINGS" not in repr(client)
    assert "AKSETTINGS" not in repr(client)
    client.close()


def test_from_settings_without_credentials_names_the_missing_variables() -> None:
    from naver_sms.config.settings import Settings
    from naver_sms.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        SensClient.from_settings(Settings(sens_service_id="ncp:sms:kr:000000000000:example"))
    assert "NAVER_SMS_SENS_ACCESS_KEY" in str(caught.value)
    assert "NAVER_SMS_SENS_SECRET_KEY" in str(caught.value)


def test_accepted_at_is_korean_time_from_sens() -> None:
    client = SensClient(
        base_url="https://sens.test",
        service_id="s",
        access_key="a",
        secret_key="b",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(202, json={"requestId": "R1", "requestTime": "2026-11-26T18:40:00.123"})
        ),
    )
    assert client.send(lms()).accepted_at == datetime(2026, 11, 26, 18, 40, 0, 123000, tzinfo=KST)


def test_find_sent_with_more_candidates_than_it_checks_says_it_cannot_tell(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN 21 earlier SMS to the same number from the same sender, none of them this text
    client = make_sens_client()
    for n in range(21):
        client.send(lms(f"다른 안내 {n}"))
    now = datetime.now(UTC)
    # WHEN this text is looked up, THEN the client does not guess
    with pytest.raises(DeliveryUnavailable):
        make_sens_client().find_sent(
            lms(), since=now - timedelta(minutes=10), until=now + timedelta(minutes=1)
        )
