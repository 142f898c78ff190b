"""The HTTP seam of `NaverApi` with an in-process transport: the answers the stand-in does not produce."""

from __future__ import annotations

import email.utils
import random
import time

import httpx
import pytest

from naver_sms.errors import StoreFetchError
from naver_sms.naver.api import NaverApi, SessionRejected, Window
from tests.naver.conftest import RecordingSleep

BASE = "https://partner.booking.naver.com"


def api_answering(*answers: httpx.Response | Exception, sleep: RecordingSleep) -> NaverApi:
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return NaverApi(BASE, transport=httpx.MockTransport(handler), sleep=sleep, rng=random.Random(1))


def test_a_connection_failure_is_retried(sleep: RecordingSleep) -> None:
    # GIVEN a connection reset, then an answer
    api = api_answering(httpx.ConnectError("reset"), httpx.Response(200, json={"count": 3}), sleep=sleep)
    # WHEN counting  THEN one wait, then the count
    assert api.count("1", Window("RC03")) == 3
    assert len(sleep.waits) == 1 and api.requests == 2


def test_an_answer_its_content_encoding_does_not_decode_is_retried_then_fails_the_store(
    sleep: RecordingSleep,
) -> None:
    # GIVEN answers that say gzip and are not, then one that reads
    def broken() -> httpx.Response:  # read (and decoded) by the client, as an answer off the wire is
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip"))

    api = api_answering(broken(), broken(), httpx.Response(200, json={"count": 3}), sleep=sleep)
    # WHEN counting  THEN each is retried like a lost answer, and the count read in the end
    assert api.count("1", Window("RC03")) == 3
    assert len(sleep.waits) == 2
    # AND through every try: the store is reported (the run goes on), not an exception out of the fetch
    api = api_answering(*[broken() for _ in range(5)], sleep=sleep)
    with pytest.raises(StoreFetchError, match=r"no answer \(DecodingError\) after 5 tries"):
        api.count("1", Window("RC03"))


def test_retry_after_as_an_http_date_is_honoured(sleep: RecordingSleep) -> None:
    # GIVEN a 429 asking to come back in about 10 seconds, as an HTTP date
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    api = api_answering(
        httpx.Response(429, headers={"Retry-After": when}),
        httpx.Response(200, json={"count": 0}),
        sleep=sleep,
    )
    # WHEN counting  THEN it waited about 10 s (the date has a one-second resolution; plus ≤ 0.5 s jitter)
    assert api.count("1", Window("RC03")) == 0
    assert 8.5 <= sleep.waits[0] <= 10.6


def test_a_redirect_to_naver_login_is_a_rejected_session(sleep: RecordingSleep) -> None:
    login = "https://nid.naver.com/nidlogin.login?mode=form&url=https%3A%2F%2Fpartner.booking.naver.com"
    api = api_answering(httpx.Response(302, headers={"Location": login}), sleep=sleep)
    with pytest.raises(SessionRejected):
        api.count("1", Window("RC03"))


def test_another_redirect_is_a_store_failure_not_a_login(sleep: RecordingSleep) -> None:
    api = api_answering(httpx.Response(302, headers={"Location": f"{BASE}/maintenance"}), sleep=sleep)
    with pytest.raises(StoreFetchError, match="HTTP 302"):
        api.count("1", Window("RC03"))
    assert sleep.waits == []


@pytest.mark.parametrize("body", [b"not json", b'{"total": 3}', b'{"count": -1}', b'{"count": true}'])
def test_a_count_without_a_count_fails_the_store(body: bytes, sleep: RecordingSleep) -> None:
    api = api_answering(httpx.Response(200, content=body), sleep=sleep)
    with pytest.raises(StoreFetchError, match="count"):
        api.count("1", Window("RC03"))


def test_the_session_check_is_not_retried_and_says_it_cannot_tell(sleep: RecordingSleep) -> None:
    # GIVEN Naver answering 503  WHEN the cached cookies are checked  THEN "cannot tell", after one call
    api = api_answering(httpx.Response(503), sleep=sleep)
    assert api.check_session([{"name": "NID_SES", "value": "x", "domain": ".naver.com"}], "1") is None
    assert api.requests == 1 and sleep.waits == []
