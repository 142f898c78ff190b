"""A run's SENS client sends straight to urllib3 (`SensClient._request`, http_urllib3.py) without httpx's request
and answer objects: over a real socket, the same bytes on the wire as through httpx's own transport - request
line, headers in their order and case, body - the answers read alike, and a failure is still told "not sent"
(retried) from "maybe sent" (looked up, never sent again)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from naver_sms.errors import DeliveryRejected, DeliveryUnavailable, OutcomeUnknown
from naver_sms.http_urllib3 import Urllib3Transport
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage
from naver_sms.proxies import PROXY_ENV
from naver_sms.retry import RetryPolicy
from tests.notifications.conftest import RECIPIENT, SENDER, RecordingSleep
from tests.standins.recorder import Recorder
from tests.standins.server import free_port

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 26, 9, 40, tzinfo=UTC)
MESSAGE = SmsMessage(to=RECIPIENT, sender=SENDER, type="SMS", subject="", content="예약이 확정되었습니다")
LONGER = SmsMessage(
    to=RECIPIENT, sender=SENDER, type="LMS", subject="안내", content="내일 오후 2시 예약입니다. " * 4
)
ACCEPTED = (b"", b'{"requestId":"RSTANDIN0001","requestTime":"2026-11-26T18:40:00.123","statusCode":"202"}')


class Ticking:
    """A clock a second later at each reading: each request signs another timestamp, the same on both paths."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        return AT + timedelta(seconds=self.readings)


def client(url: str, transport: httpx.BaseTransport | None, **options: object) -> SensClient:
    return SensClient(
        base_url=url,
        service_id="ncp:sms:kr:000000000000:example",
        access_key="AKEXAMPLE0000000000",
        secret_key="SKEXAMPLE00000000000000000000000000000000",
        transport=transport,
        clock=Ticking(),
        **options,  # type: ignore[arg-type]
    )


Both = tuple[Recorder, str, SensClient, SensClient]


@pytest.fixture
def both(recording: tuple[Recorder, str]) -> Iterator[Both]:
    """The recording server, a client over httpx's own transport and one as a run makes it (urllib3's)."""
    recorder, url = recording
    through_httpx, direct = client(url, httpx.HTTPTransport()), client(url, None)
    assert direct._urllib3 is not None and through_httpx._urllib3 is None
    yield recorder, url, through_httpx, direct
    through_httpx.close()
    direct.close()


def test_a_send_and_a_look_up_are_the_same_bytes_as_through_httpx(both: Both) -> None:
    # GIVEN SENS accepting every send
    recorder, _, through_httpx, direct = both
    recorder.mode, recorder.status, recorder.custom = "custom", b"202 Accepted", ACCEPTED
    # WHEN each client sends two SMS (the second, longer, from its kept template) and looks a request up
    receipts = []
    for sms in (through_httpx, direct):
        receipts += [sms.send(MESSAGE), sms.send(LONGER)]
        recorder.status = b"200 OK"
        recorder.custom = (b"", b'{"messages":[{"requestId":"RSTANDIN0001","status":"COMPLETED"}]}')
        sms.delivery_result("RSTANDIN0001")
        recorder.status, recorder.custom = b"202 Accepted", ACCEPTED
    # THEN the server read exactly the same bytes from both: request line, headers in order and case, body
    sent = [raw for _, raw in recorder.requests]
    assert len(sent) == 6 and sent[:3] == sent[3:]
    assert len({raw.split(b"x-ncp-apigw-timestamp: ")[1][:13] for raw in sent[:3]}) == 3
    head, _, body = sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /sms/v2/services/ncp:sms:kr:000000000000:example/messages HTTP/1.1\r\n")
    assert b"\r\nContent-Type: application/json; charset=utf-8\r\n" in head + b"\r\n"
    assert b"\r\nx-ncp-apigw-signature-v2: " in head and body == MESSAGE.sens_bytes()
    assert sent[2].startswith(b"GET /sms/v2/services/ncp:sms:kr:000000000000:example/messages?requestId=")
    # AND the receipts read alike
    assert receipts[:2] == receipts[2:]
    assert receipts[0].request_id == "RSTANDIN0001" and receipts[0].accepted_at is not None


def test_refusals_and_rate_limits_read_the_same(both: Both) -> None:
    recorder, url, through_httpx, direct = both
    # GIVEN SENS refusing a send, with its error body (a phone number in it is masked)
    recorder.mode, recorder.status = "custom", b"400 Bad Request"
    recorder.custom = (b"", '{"errorMessage":"잘못된 수신번호 01098765432"}'.encode())
    refusals = []
    for sms in (through_httpx, direct):
        with pytest.raises(DeliveryRejected) as refused:
            sms.send(MESSAGE)
        refusals.append((str(refused.value), refused.value.status_code, refused.value.provider_message))
    # THEN the same refusal, the provider's message read from the body
    assert refusals[0] == refusals[1] and refusals[0][1] == 400
    assert "잘못된 수신번호" in str(refusals[0][2]) and "01098765432" not in str(refusals[0])
    # AND a body that is not JSON reads as the same text on both paths
    recorder.status, recorder.custom = b"403 Forbidden", (b"", b"<html>denied</html>")
    texts = []
    for sms in (through_httpx, direct):
        with pytest.raises(DeliveryRejected) as refused:
            sms.send(MESSAGE)
        texts.append(refused.value.provider_message)
    assert texts == ["<html>denied</html>"] * 2
    # AND a 429's Retry-After is waited out the same way, then the send gives up as unavailable
    recorder.status, recorder.custom = b"429 Too Many Requests", (b"Retry-After: 3\r\n", b"{}")
    waits = []
    for transport in (httpx.HTTPTransport(), None):
        sleeps = RecordingSleep()
        sms = client(url, transport, sleep=sleeps, retry=RetryPolicy(max_attempts=2))
        with pytest.raises(DeliveryUnavailable, match="HTTP 429"):
            sms.send(MESSAGE)
        sms.close()
        waits.append(sleeps.waits)
    assert waits[0] == waits[1] == [3.0]


def test_a_refused_connection_is_retried_as_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN nothing listening: the request surely never went out (and no proxy in the way)
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
    sleeps = RecordingSleep()
    sms = client(f"http://127.0.0.1:{free_port()}", None, sleep=sleeps, retry=RetryPolicy(max_attempts=3))
    assert isinstance(sms._http.transport, Urllib3Transport)
    # WHEN it sends  THEN it retries, with no look-up, and gives up as not sent
    with pytest.raises(DeliveryUnavailable, match=r"not sent: connection failed \(ConnectError\)"):
        sms.send(MESSAGE)
    assert len(sleeps.waits) == 2
    sms.close()


def test_a_connection_dropped_after_the_request_is_looked_up_never_sent_again(
    recording: tuple[Recorder, str],
) -> None:
    # GIVEN SENS reading the send and hanging up without a word (it may have sent the SMS), and its look-up
    # answering with nothing for that window
    recorder, url = recording
    recorder.mode = "hang up"
    sleeps = RecordingSleep()
    sms = client(url, None, sleep=sleeps, lookup_attempts=1, lookup_delay=0.0)
    # WHEN it sends  THEN the outcome is unknown: one POST, then only look-ups (GETs), never a second POST
    with pytest.raises(OutcomeUnknown):
        sms.send(MESSAGE)
    methods = [raw.split(b" ", 1)[0] for _, raw in recorder.requests]
    assert methods[0] == b"POST" and methods.count(b"POST") == 1 and set(methods[1:]) <= {b"GET"}
    sms.close()


def test_an_accepted_send_whose_answer_does_not_decode_is_looked_up_never_sent_again(both: Both) -> None:
    # GIVEN SENS accepting the send with a body that is not what its Content-Encoding says (gzip), and its
    # look-ups answering the same way
    recorder, _, through_httpx, direct = both
    recorder.mode, recorder.status = "bad gzip", b"202 Accepted"
    for sms in (through_httpx, direct):
        sms._lookup_attempts, sms._lookup_delay, sms._retry = 1, 0.0, RetryPolicy(max_attempts=1)
        before = len(recorder.requests)
        # WHEN it sends  THEN the outcome is unknown (its claim kept for the next run's look-up), not an error
        # that says nothing went out: one POST, then only look-ups
        with pytest.raises(OutcomeUnknown, match="DecodingError"):
            sms.send(MESSAGE)
        methods = [raw.split(b" ", 1)[0] for _, raw in recorder.requests[before:]]
        assert methods[0] == b"POST" and methods.count(b"POST") == 1 and set(methods[1:]) == {b"GET"}


def test_header_bytes_beyond_ascii_read_as_through_httpx(both: Both) -> None:
    recorder, _, through_httpx, direct = both
    recorder.mode = "custom"
    # GIVEN a refusal whose Content-Type holds a byte beyond ASCII and a body that is not JSON
    recorder.status = b"403 Forbidden"
    recorder.custom = (b"Content-Type: text/html; charset=\xe9\r\n", b"<html>denied</html>")
    messages = []
    for sms in (through_httpx, direct):
        with pytest.raises(DeliveryRejected) as refused:
            sms.send(MESSAGE)
        messages.append(refused.value.provider_message)
    # THEN both read the same refusal (not an encoding error, which would say the SMS never went out)
    assert messages == ["<html>denied</html>"] * 2
    # AND an acceptance with an unknown Content-Encoding beyond ASCII is read as httpx reads it: as it is
    recorder.status, recorder.custom = b"202 Accepted", (b"Content-Encoding: gzip\xe9\r\n", ACCEPTED[1])
    receipts = [sms.send(MESSAGE) for sms in (through_httpx, direct)]
    assert receipts[0] == receipts[1] and receipts[0].request_id == "RSTANDIN0001"
