"""The Naver client's transport (http_urllib3.py, urllib3 under httpx's interface) over a real socket: the
headers the partner web app sends, answers read as httpx reads them, connections kept and shared by the
stores fetched at once, and failures given as the httpx exceptions `NaverApi` retries."""

from __future__ import annotations

import gzip
import logging
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import urllib3

from naver_sms.errors import StoreFetchError
from naver_sms.http_direct import DirectHttp
from naver_sms.http_urllib3 import Answer, Urllib3Transport
from naver_sms.naver.api import CONFIRMED, NaverApi, Window
from tests.naver.conftest import RecordingSleep
from tests.standins.recorder import ANSWER, Recorder
from tests.standins.server import free_port

pytestmark = pytest.mark.integration

NOW_UTC = datetime(2026, 11, 26, 9, 40, tzinfo=UTC)
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
    # THEN the server read the same bytes: request line, headers in their order and case
    (_, first), (_, second), (_, third), (_, fourth) = recorder.requests
    assert first == third and second == fourth
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


# --- the run's path: a GET without httpx's request and answer objects (Urllib3Transport.request) -----------


def test_a_page_without_httpxs_objects_is_the_same_request_and_reads_the_same(
    recording: tuple[Recorder, str],
) -> None:
    # GIVEN the client as a run makes it (its GETs to Urllib3Transport.request) and one given an httpx.Client
    # (every request through httpx's layers), the same clock for noCache
    recorder, url = recording
    fast = NaverApi(url, epoch_ms=lambda: 1796348315700)
    layered = NaverApi(url, client=httpx.Client(timeout=5.0), epoch_ms=lambda: 1796348315700)
    assert fast._urllib3 is not None and layered._urllib3 is None
    for api in (fast, layered):
        api.set_cookies([{"name": "NID_SES", "value": "synthetic", "domain": "127.0.0.1", "path": "/"}])
    window = Window("RC02,RC04", NOW_UTC - timedelta(days=3), NOW_UTC)
    # WHEN each asks the same page, plainly and gzip-encoded
    answers = []
    for api in (fast, layered):
        for mode in ("answer", "gzip"):
            recorder.mode = mode
            answers.append(api._get(api._list_url("1000001"), "1000001", window, page=2, what="page 2"))
        api.close()
    recorder.mode = "answer"
    # THEN the server read the same bytes from both: request line, headers in their order and case
    assert [raw for _, raw in recorder.requests[:2]] == [raw for _, raw in recorder.requests[2:]]
    sent = [_lines(raw) for _, raw in recorder.requests]
    assert sent[0][0].startswith(
        b"GET /api/businesses/1000001/bookings?bizItemTypes=STANDARD&bookingStatusCodes=RC02%2CRC04&"
    )
    assert b"host: " + url.removeprefix("http://").encode() in sent[0][1]
    # AND both read the answers alike: status, decoded body, headers, no redirect
    assert [
        (a.status_code, a.content, a.headers.get("Content-Type"), a.is_redirect) for a in answers[:2]
    ] == [(a.status_code, a.content, a.headers.get("Content-Type"), a.is_redirect) for a in answers[2:]]
    assert answers[1].content == ANSWER


def test_the_runs_path_fails_with_the_httpx_exceptions_the_client_retries(
    recording: tuple[Recorder, str],
) -> None:
    recorder, url = recording
    transport = Urllib3Transport()
    wire = urllib3.HTTPHeaderDict({"accept": "*/*"})
    timeouts = {"connect": 0.5, "read": 0.5}
    with pytest.raises(httpx.ConnectError):
        transport.request("GET", f"http://127.0.0.1:{free_port()}/", wire, timeouts)
    recorder.mode = "hang up"
    with pytest.raises(httpx.RemoteProtocolError):
        transport.request("GET", url + "/", wire, timeouts)
    recorder.mode = "stall"
    with pytest.raises(httpx.ReadTimeout):
        transport.request("GET", url + "/", wire, timeouts)
    recorder.release.set()
    # a body that is not what its Content-Encoding says: what httpx raises reading it, on both paths
    recorder.mode = "bad gzip"
    with pytest.raises(httpx.DecodingError):
        transport.request("GET", url + "/", wire, timeouts)
    http = DirectHttp.make(transport=Urllib3Transport(), timeout=0.5)
    with pytest.raises(httpx.DecodingError):
        http.request("GET", url + "/")
    http.close()
    transport.close()


def test_a_redirect_reads_as_httpx_reads_it() -> None:
    assert Answer(302, urllib3.HTTPHeaderDict({"Location": "https://nid.naver.com/"}), b"").is_redirect
    assert not Answer(302, urllib3.HTTPHeaderDict(), b"").is_redirect  # no Location: not one (httpx alike)
    assert not Answer(200, urllib3.HTTPHeaderDict({"Location": "/x"}), b"").is_redirect
    for status in (301, 302, 303, 307, 308):
        response = httpx.Response(status, headers={"Location": "/x"})
        assert (
            Answer(status, urllib3.HTTPHeaderDict({"Location": "/x"}), b"").is_redirect
            is response.is_redirect
        )


_GZ = gzip.compress(ANSWER)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (b"gzip", _GZ),
        (b"GZIP", _GZ),
        (b"gzip, identity", _GZ),
        (b"identity, gzip", _GZ),
        (b"gzip,", _GZ),
        (b"gzip, gzip", gzip.compress(_GZ)),
        (b"x-gzip", _GZ),  # httpx does not know it: the bytes as they came
        (b"br, gzip", _GZ),  # br without its package: passed over, as httpx does
        (b"deflate", zlib.compress(ANSWER)),
        (b"deflate", zlib.compress(ANSWER)[2:-4]),  # raw deflate
        (b"gzip", _GZ + _GZ),  # two members: httpx reads the first
        (b"something-else", ANSWER),
        (b"gzip", b"not gzip at all"),  # DecodingError on both
        (b"gzip", _GZ[:-6]),  # cut short
    ],
)
def test_the_runs_path_decodes_a_body_exactly_as_httpx_does(
    recording: tuple[Recorder, str], encoding: bytes, body: bytes
) -> None:
    # GIVEN an answer with this Content-Encoding
    recorder, url = recording
    recorder.mode, recorder.custom = "custom", (b"Content-Encoding: " + encoding + b"\r\n", body)
    transport = Urllib3Transport()
    http = DirectHttp.make(transport=httpx.HTTPTransport(), timeout=5.0)  # httpx's own, end to end
    wire = urllib3.HTTPHeaderDict({"accept": "*/*"})

    def read(call: Callable[[], bytes]) -> bytes | type[Exception]:
        try:
            return call()
        except httpx.HTTPError as exc:
            return type(exc)

    try:
        # WHEN read on the run's path and through httpx  THEN the same body, or the same error
        fast = read(lambda: transport.request("GET", url + "/", wire, {"connect": 5.0, "read": 5.0}).content)
        assert fast == read(lambda: http.request("GET", url + "/").content)
    finally:
        transport.close()
        http.close()


def test_the_runs_path_sends_the_session_in_force(recording: tuple[Recorder, str]) -> None:
    # GIVEN the client as a run makes it, its cookies changed between two counts (a fresh login)
    recorder, url = recording
    api = NaverApi(url)
    try:
        for value in ("first", "second"):
            api.set_cookies([{"name": "NID_SES", "value": value, "domain": "127.0.0.1", "path": "/"}])
            with pytest.raises(StoreFetchError):  # the recorder's answer holds no count
                api.count("1", Window(CONFIRMED))
        # AND a session check with cookies of its own
        api.check_session([{"name": "NID_SES", "value": "third", "domain": "127.0.0.1", "path": "/"}], "1")
    finally:
        api.close()
    # THEN each request carried the cookies in force for it, and only those
    cookies = [[h for h in _lines(raw)[1] if h.startswith(b"cookie:")] for _, raw in recorder.requests]
    assert cookies == [[b"cookie: nid_ses=first"], [b"cookie: nid_ses=second"], [b"cookie: nid_ses=third"]]


def test_an_answer_that_does_not_decode_fails_its_store_on_the_runs_path(
    recording: tuple[Recorder, str],
) -> None:
    recorder, url = recording
    recorder.mode = "bad gzip"
    sleep = RecordingSleep()
    api = NaverApi(url, sleep=sleep)
    try:
        with pytest.raises(StoreFetchError, match=r"no answer \(DecodingError\) after 5 tries"):
            api.count("1", Window(CONFIRMED))
    finally:
        api.close()
    assert len(recorder.requests) == 5 and len(sleep.waits) == 4
