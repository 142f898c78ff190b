"""`DirectHttp` (http_direct.py): the same bytes on the wire and the same answers and failures as through
`httpx.Client`, over a real socket to a server that records exactly what it was sent."""

from __future__ import annotations

import httpx
import pytest

from naver_sms.http_direct import DirectHttp
from naver_sms.notifications._http import BEFORE_SEND_ERRORS
from naver_sms.proxies import environment_proxies
from tests.standins.recorder import Recorder
from tests.standins.server import free_port

pytestmark = pytest.mark.integration


PARAMS = {"bookingStatusCodes": "RC03,RC04", "searchValue": "", "startDateTime": "2026-12-01T00:00:00.000Z"}
HEADERS = {"referer": "https://example.invalid/bizes/1/x y", "x-booking-naver-role": "OWNER", "cookie": "a=b"}


def test_the_wire_bytes_and_the_answer_are_the_client_s(recording: tuple[Recorder, str]) -> None:
    # GIVEN the same GET (with a query to encode) and POST (with a body) sent through httpx.Client and DirectHttp
    recorder, url = recording
    direct = DirectHttp.make(timeout=5.0)
    assert direct.transport is not None  # no proxy in this environment: the shortcut is taken
    answers = []
    with httpx.Client(timeout=5.0) as client:
        for send in (client.request, direct.request):
            answers.append(send("GET", url + "/api/businesses/1/bookings", params=PARAMS, headers=HEADERS))
            answers.append(
                send(
                    "POST",
                    url + "/sms/v2/services/ncp:sms:kr:0:x/messages",
                    content=b'{"a": 1}',
                    headers=HEADERS,
                )
            )
    direct.close()
    # THEN the server read the same bytes, header for header, and both read the same answers
    sent = [raw for _, raw in recorder.requests]
    assert sent[:2] == sent[2:]
    assert b"bookingStatusCodes=RC03%2CRC04&searchValue=&startDateTime=" in sent[0]
    assert [(a.status_code, a.content, a.json()) for a in answers[:2]] == [
        (a.status_code, a.content, a.json()) for a in answers[2:]
    ]
    assert answers[2].request.method == "GET" and answers[2].headers["content-type"] == "application/json"


def _targets(recorder: Recorder) -> list[bytes]:
    """The request target (path and query) of every request the server read, in order."""
    return [raw.split(b" ", 2)[1] for _, raw in recorder.requests]


def test_a_url_requested_again_gets_its_own_query_each_time(recording: tuple[Recorder, str]) -> None:
    # GIVEN one URL requested without a query (its parse is kept), with one, again without, with another
    recorder, url = recording
    direct = DirectHttp.make(timeout=5.0)
    for params in (None, {"page": "0"}, None, {"page": "1", "size": "50"}):
        assert direct.request("GET", url + "/api/x", params=params).status_code == 200
    direct.close()
    # THEN each request went out with its own query, and the kept parse took none of them
    assert _targets(recorder) == [b"/api/x", b"/api/x?page=0", b"/api/x", b"/api/x?page=1&size=50"]


def test_parsed_urls_are_bounded_and_forgotten_on_close(recording: tuple[Recorder, str]) -> None:
    # GIVEN more distinct URLs than a client keeps parsed, the last one holding a token (as Telegram's does)
    recorder, url = recording
    direct = DirectHttp.make(timeout=5.0)
    for n in range(100):
        direct.request("GET", f"{url}/lookup/{n}")
    direct.request("POST", url + "/bot123:secret-token/sendMessage", content=b"{}")
    kept = dict(direct._urls)
    direct.close()
    # THEN it kept at most its bound, and nothing once closed; every request went to its own URL
    assert 0 < len(kept) <= 64 and not direct._urls
    assert _targets(recorder)[-2:] == [b"/lookup/99", b"/bot123:secret-token/sendMessage"]


def test_connections_are_kept_alive(recording: tuple[Recorder, str]) -> None:
    recorder, url = recording
    direct = DirectHttp.make(timeout=5.0)
    for _ in range(3):
        assert direct.request("GET", url + "/").status_code == 200
    direct.close()
    assert len({conn for conn, _ in recorder.requests}) == 1


def test_a_failure_before_the_request_went_out_is_told_from_one_after(
    recording: tuple[Recorder, str],
) -> None:
    recorder, url = recording
    direct = DirectHttp.make(timeout=0.5)
    # nothing listens: nothing was sent - retrying is safe
    port = free_port()  # nothing listens there
    with pytest.raises(BEFORE_SEND_ERRORS):
        direct.request("POST", f"http://127.0.0.1:{port}/", content=b"{}")
    # the server read the request and hung up, or never answered: it may have acted on it
    recorder.mode = "hang up"
    with pytest.raises(httpx.TransportError) as hung_up:
        direct.request("POST", url + "/", content=b"{}")
    recorder.mode = "stall"
    with pytest.raises(httpx.ReadTimeout) as stalled:
        direct.request("POST", url + "/", content=b"{}")
    direct.close()
    assert not isinstance(hung_up.value, BEFORE_SEND_ERRORS)
    assert not isinstance(stalled.value, BEFORE_SEND_ERRORS)
    assert len(recorder.requests) == 2


def test_a_proxy_in_the_environment_keeps_the_client_s_own_path(
    recording: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the recording server named as the HTTP proxy in the environment
    recorder, url = recording  # the fixture took every proxy out of the environment
    assert not environment_proxies()
    monkeypatch.setenv("HTTP_PROXY", url)
    assert environment_proxies()
    # WHEN a request goes to another host
    direct = DirectHttp.make(timeout=5.0)
    assert direct.transport is None
    assert direct.request("GET", "http://booking.example.invalid/x").status_code == 200
    direct.close()
    # THEN it went through the proxy, as httpx.Client sends it there
    assert recorder.requests[0][1].startswith(b"GET http://booking.example.invalid/x HTTP/1.1")


def test_a_given_client_is_used_as_it_is_and_left_open(recording: tuple[Recorder, str]) -> None:
    _, url = recording
    seen: list[str] = []
    with httpx.Client(timeout=5.0, event_hooks={"request": [lambda r: seen.append(str(r.url))]}) as given:
        direct = DirectHttp.make(http=given, timeout=1.0)
        assert direct.request("GET", url + "/x").status_code == 200
        direct.close()
        assert not given.is_closed
    assert seen == [url + "/x"]
