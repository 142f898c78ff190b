"""Helpers to run stand-in services on 127.0.0.1 over real sockets, started and stopped by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["free_port", "require", "serve_wsgi", "wait_for_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll until something listens on 127.0.0.1:port (a readiness check, not a sleep for time to pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def require(found: object, what: str) -> None:
    """Skip when a stand-in tool is missing - or fail, in CI (NAVER_SMS_REQUIRE_STANDINS=1)."""
    if found:
        return
    message = f"{what} is not installed (see .ci/run)"
    if os.environ.get("NAVER_SMS_REQUIRE_STANDINS"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serve_wsgi(app: Callable[..., Any], *, threaded: bool = True) -> Iterator[str]:
    """Serve a WSGI app on a random free port of 127.0.0.1; yields the base URL."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=threaded)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
