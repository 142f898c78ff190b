"""`DirectHttp` (http_direct.py): the same bytes on the wire and the same answers and failures as through
`httpx.Client`, over a real socket to a server that records exactly what it was sent."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from naver_sms.http_direct import DirectHttp, environment_proxies
from naver_sms.notifications._http import BEFORE_SEND_ERRORS

pytestmark = pytest.mark.integration

ANSWER = b'{"ok": true, "text": "\xec\x98\x88\xec\x95\xbd"}'


@dataclass
class Recorder:
    """What the server read: each request's bytes and the connection it came on; how to answer next."""

    requests: list[tuple[int, bytes]] = field(default_factory=list)
    mode: str = "answer"  # "answer" | "hang up" (read the request, close without a word) | "stall"
    release: threading.Event = field(default_factory=threading.Event)


def _read_request(stream: socketserver.StreamRequestHandler) -> bytes | None:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.rfile.readline()
        if not line:
            return None
        head += line
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + stream.rfile.read(length)


@pytest.fixture
def server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while (raw := _read_request(self)) is not None:
                recorder.requests.append((id(self), raw))
                if recorder.mode == "hang up":
                    return
                if recorder.mode == "stall":
                    recorder.release.wait(10)
                    return
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + b"Content-Length: %d\r\n\r\n" % len(ANSWER)
                    + ANSWER
                )

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            yield recorder, f"http://127.0.0.1:{srv.server_address[1]}"
        finally:
            recorder.release.set()
            srv.shutdown()
            thread.join(5)


PARAMS = {"bookingStatusCodes": "RC03,RC04", "searchValue": "", "startDateTime": "2026-12-01T00:00:00.000Z"}
HEADERS = {"referer": "https://example.invalid/bizes/1/x y", "x-booking-naver-role": "OWNER", "cookie": "a=b"}


def test_the_wire_bytes_and_the_answer_are_the_client_s(server: tuple[Recorder, str]) -> None:
    # GIVEN the same GET (with a query to encode) and POST (with a body) sent through httpx.Client and DirectHttp
    recorder, url = server
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


def test_connections_are_kept_alive(server: tuple[Recorder, str]) -> None:
    recorder, url = server
    direct = DirectHttp.make(timeout=5.0)
    for _ in range(3):
        assert direct.request("GET", url + "/").status_code == 200
    direct.close()
    assert len({conn for conn, _ in recorder.requests}) == 1


def test_a_failure_before_the_request_went_out_is_told_from_one_after(server: tuple[Recorder, str]) -> None:
    recorder, url = server
    direct = DirectHttp.make(timeout=0.5)
    # nothing listens: nothing was sent - retrying is safe
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
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
    server: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the recording server named as the HTTP proxy in the environment
    recorder, url = server
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
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


def test_a_given_client_is_used_as_it_is_and_left_open(server: tuple[Recorder, str]) -> None:
    _, url = server
    seen: list[str] = []
    with httpx.Client(timeout=5.0, event_hooks={"request": [lambda r: seen.append(str(r.url))]}) as given:
        direct = DirectHttp.make(http=given, timeout=1.0)
        assert direct.request("GET", url + "/x").status_code == 200
        direct.close()
        assert not given.is_closed
    assert seen == [url + "/x"]
