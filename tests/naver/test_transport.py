"""The Naver client's transport (naver/transport.py, urllib3 under httpx's interface) over a real socket: the
headers the partner web app sends, answers read as httpx reads them, connections kept and shared by the
stores fetched at once, and failures given as the httpx exceptions `NaverApi` retries."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest

from naver_sms.errors import StoreFetchError
from naver_sms.http_direct import DirectHttp
from naver_sms.naver.api import CONFIRMED, NaverApi, Window
from naver_sms.naver.transport import Urllib3Transport
from tests.standins.recorder import ANSWER, Recorder
from tests.standins.server import free_port

pytestmark = pytest.mark.integration

HEADERS = {"referer": "https://example.invalid/bizes/1/booking-list-view", "cookie": "NID_SES=synthetic"}


def _lines(raw: bytes) -> tuple[bytes, set[bytes]]:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return head[0], {line.lower() for line in head[1:]}


def test_the_request_is_the_one_httpx_sends_and_the_answer_reads_the_same(
    recording: tuple[Recorder, str],
) -> None:
    # GIVEN one GET with a query and the web app's headers, through httpx's own transport and through urllib3's
    recorder, url = recording
    answers = []
    for transport in (httpx.HTTPTransport(), Urllib3Transport()):
        http = DirectHttp.make(transport=transport, timeout=5.0)
        answers.append(
            http.request("GET", url + "/api/x", params={"page": "0", "orderBy": ""}, headers=HEADERS)
        )
        recorder.mode = "gzip"
        answers.append(http.request("GET", url + "/api/x", headers=HEADERS))
        recorder.mode = "answer"
        http.close()
    # THEN the server read the same request line and the same headers (http.client orders them its own way)
    (_, first), (_, second), (_, third), (_, fourth) = recorder.requests
    assert _lines(first) == _lines(third) and _lines(second) == _lines(fourth)
    assert _lines(first)[0] == b"GET /api/x?page=0&orderBy= HTTP/1.1"
    # AND both answers read alike, the gzip one decoded
    assert [(a.status_code, a.content, a.headers.get("content-type")) for a in answers[:2]] == [
        (a.status_code, a.content, a.headers.get("content-type")) for a in answers[2:]
    ]
    assert answers[3].content == ANSWER and answers[3].reason_phrase == "OK"


def test_stores_fetched_at_once_share_kept_connections(
    recording: tuple[Recorder, str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN 16 threads (200 stores are fetched 16 at once) each fetching 5 pages over one transport
    recorder, url = recording
    http = DirectHttp.make(transport=Urllib3Transport(), timeout=5.0)
    start = threading.Barrier(16)
    read: list[bytes] = []
    failed: list[BaseException] = []

    def fetch() -> None:
        try:
            start.wait(10)
            for _ in range(5):
                read.append(http.request("GET", url + "/p").content)
        except BaseException as exc:
            failed.append(exc)

    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    threads = [threading.Thread(target=fetch) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    http.close()
    # THEN every page was read, over at most 16 connections, none opened and thrown away (pool full)
    assert not failed and not any(thread.is_alive() for thread in threads)
    assert read == [ANSWER] * 80 and len(recorder.requests) == 80
    assert recorder.connections <= 16
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_a_header_beyond_ascii_is_read_as_httpx_reads_it(recording: tuple[Recorder, str]) -> None:
    recorder, url = recording
    recorder.mode = "utf-8 header"
    answers = []
    for transport in (httpx.HTTPTransport(), Urllib3Transport()):
        http = DirectHttp.make(transport=transport, timeout=5.0)
        answers.append(http.request("GET", url + "/"))
        http.close()
    assert answers[0].headers.raw == answers[1].headers.raw
    assert answers[1].headers["x-note"] == "예약 확정" and answers[1].content == ANSWER


def test_failures_are_the_httpx_exceptions_the_client_retries(recording: tuple[Recorder, str]) -> None:
    recorder, url = recording
    http = DirectHttp.make(transport=Urllib3Transport(), timeout=0.5)
    port = free_port()  # nothing listens there
    with pytest.raises(httpx.ConnectError):
        http.request("GET", f"http://127.0.0.1:{port}/")
    recorder.mode = "hang up"
    with pytest.raises(httpx.RemoteProtocolError):
        http.request("GET", url + "/")
    recorder.mode = "stall"
    with pytest.raises(httpx.ReadTimeout):
        http.request("GET", url + "/")
    # a header value no server may be sent (a line break): refused here, before anything is written
    sent = len(recorder.requests)
    with pytest.raises(httpx.LocalProtocolError):
        http.request("GET", url + "/", headers={"x-note": "a\r\nInjected: 1"})
    http.close()
    assert len(recorder.requests) == sent


def test_the_naver_client_fetches_over_it_by_default(recording: tuple[Recorder, str]) -> None:
    # GIVEN the client as a run makes it, and a server whose answer holds no count
    recorder, url = recording
    api = NaverApi(url)
    assert isinstance(api._http.transport, Urllib3Transport)
    # WHEN it counts a store's bookings THEN it read the answer (and found no count in it)
    with pytest.raises(StoreFetchError, match="no count in the answer"):
        api.count("1", Window(CONFIRMED))
    api.close()
    line, headers = _lines(recorder.requests[0][1])
    assert line.startswith(b"GET /v3.1/businesses/1/bookings/count?bizItemTypes=STANDARD&")
    assert b"x-booking-naver-role: owner" in headers
