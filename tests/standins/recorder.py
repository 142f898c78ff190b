"""A raw HTTP/1.1 server on 127.0.0.1 that records exactly the bytes of each request and the connection it came
on, and answers as told: the test of what an HTTP transport puts on the wire and how it reads answers and
failures (tests/test_http_direct.py, tests/naver/test_transport.py, tests/notifications/test_sens_wire.py)."""

from __future__ import annotations

import gzip
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ANSWER = b'{"ok": true, "text": "\xec\x98\x88\xec\x95\xbd"}'


@dataclass
class Recorder:
    """What the server read: each request's bytes and the connection it came on; how to answer next."""

    #: (connection number, the request's bytes): connections are numbered 1, 2, ... as they are accepted
    requests: list[tuple[int, bytes]] = field(default_factory=list)
    #: "answer" | "gzip" (the answer gzip-encoded) | "bad gzip" (a body that says gzip and is not) |
    #: "custom" (`custom`'s header lines and body) | "utf-8 header" (a header with bytes beyond ASCII) |
    #: "hang up" (read the request, close without a word) | "stall"
    mode: str = "answer"
    #: for mode "custom": the answer's extra header lines (each ending in CRLF) and its body
    custom: tuple[bytes, bytes] = (b"", b"")
    #: the status line's code and phrase
    status: bytes = b"200 OK"
    release: threading.Event = field(default_factory=threading.Event)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


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


@contextmanager
def recording_server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()

    class Handler(socketserver.StreamRequestHandler):
        def setup(self) -> None:
            super().setup()
            with recorder.lock:
                recorder.connections += 1
                self.number = recorder.connections

        def handle(self) -> None:
            while (raw := _read_request(self)) is not None:
                with recorder.lock:
                    recorder.requests.append((self.number, raw))
                if recorder.mode == "hang up":
                    return
                if recorder.mode == "stall":
                    recorder.release.wait(10)
                    return
                body, encoding = ANSWER, b""
                if recorder.mode == "gzip":
                    body, encoding = gzip.compress(ANSWER), b"Content-Encoding: gzip\r\n"
                elif recorder.mode == "custom":
                    encoding, body = recorder.custom
                elif recorder.mode == "bad gzip":
                    body, encoding = b"not gzip at all", b"Content-Encoding: gzip\r\n"
                elif recorder.mode == "utf-8 header":
                    encoding = "X-Note: 예약 확정\r\n".encode()
                self.wfile.write(
                    b"HTTP/1.1 "
                    + recorder.status
                    + b"\r\nContent-Type: application/json\r\n"
                    + encoding
                    + b"Content-Length: %d\r\n\r\n" % len(body)
                    + body
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
