"""A stand-in for the AWS Lambda Runtime API (version 2018-06-01), as the runtime client in a container sees it.

Lambda's side of the conversation with `awslambdaric` (the image's entry point), on 127.0.0.1:
    GET  /2018-06-01/runtime/invocation/next          long-polls until an invocation is queued; the event is
                                                      the body, its context the headers
                                                      Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms
                                                      (epoch ms), Lambda-Runtime-Invoked-Function-Arn,
                                                      Lambda-Runtime-Trace-Id
    POST /2018-06-01/runtime/invocation/{id}/response the handler's result (202)
    POST /2018-06-01/runtime/invocation/{id}/error    a failed invocation: the error document, its type in
                                                      Lambda-Runtime-Function-Error-Type (202)
    POST /2018-06-01/runtime/init/error               the handler could not be loaded (202)
An unknown request id is refused with 400 `InvalidRequestID`; a second answer to one invocation with 400
`InvalidStateTransition`, as the real API does. `invoke()` queues an event and returns the `Invocation`,
whose `wait()` blocks until the runtime answered (a readiness wait: it never sleeps for time to pass).
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

__all__ = ["FUNCTION_ARN", "Invocation", "LambdaRuntimeStandIn"]

FUNCTION_ARN = "arn:aws:lambda:ap-northeast-2:000000000000:function:naver-sms-run"
PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    event: Any
    request_id: str
    deadline_ms: int
    #: "response" or "error" once the runtime answered
    outcome: str | None = None
    body: bytes = b""
    error_type: str | None = None
    #: the request headers of the answer, and of the `next` call that took the invocation
    answer_headers: dict[str, str] = field(default_factory=dict)
    taken_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float) -> Invocation:
        if not self._done.wait(timeout):
            raise TimeoutError(
                f"the runtime did not answer invocation {self.request_id} within {timeout:.0f}s"
            )
        return self

    def json(self) -> Any:
        return json.loads(self.body)


class LambdaRuntimeStandIn:
    """The WSGI app; serve it with `tests.standins.server.serve_wsgi` and give the container its host:port
    as `AWS_LAMBDA_RUNTIME_API`."""

    def __init__(self, *, function_arn: str = FUNCTION_ARN, poll: float = 0.5) -> None:
        self.function_arn = function_arn
        self.invocations: dict[str, Invocation] = {}
        self.init_errors: list[tuple[dict[str, str], bytes]] = []
        self.next_calls = 0
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._poll = poll
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.init_error_posted = threading.Event()

    def invoke(self, event: Any, *, timeout_seconds: float = 300.0) -> Invocation:
        """Queue one invocation; its deadline is `timeout_seconds` from now (the function's timeout)."""
        invocation = Invocation(
            event=event,
            request_id=str(uuid.uuid4()),
            deadline_ms=int((time.time() + timeout_seconds) * 1000),
        )
        with self._lock:
            self.invocations[invocation.request_id] = invocation
        self._pending.put(invocation)
        return invocation

    def close(self) -> None:
        """Release every long-polling `next` call (they answer 503), so the server can stop."""
        self._closed.set()

    # -- WSGI --

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET" and path == f"{PREFIX}/invocation/next":
            return self._next()
        if request.method == "POST" and path == f"{PREFIX}/init/error":
            with self._lock:
                self.init_errors.append((dict(request.headers), request.get_data()))
            self.init_error_posted.set()
            return _json(202, {"status": "OK"})
        parts = path[len(PREFIX) :].strip("/").split("/")
        if (
            request.method == "POST"
            and path.startswith(PREFIX)
            and len(parts) == 3
            and parts[0] == "invocation"
            and parts[2] in ("response", "error")
        ):
            return self._answer(request, parts[1], parts[2])
        return _json(404, {"errorMessage": f"no route {request.method} {path}", "errorType": "NotFound"})

    def _next(self) -> Response:
        with self._lock:
            self.next_calls += 1
        while not self._closed.is_set():
            try:
                invocation = self._pending.get(timeout=self._poll)
            except queue.Empty:
                continue
            invocation.taken_at = time.time()
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            }
            return Response(
                json.dumps(invocation.event), status=200, headers=headers, content_type="application/json"
            )
        return _json(503, {"errorMessage": "the stand-in is closing", "errorType": "ServiceUnavailable"})

    def _answer(self, request: Request, request_id: str, outcome: str) -> Response:
        with self._lock:
            invocation = self.invocations.get(request_id)
            if invocation is None or invocation.taken_at is None:
                return _json(
                    400, {"errorMessage": f"unknown request id {request_id}", "errorType": "InvalidRequestID"}
                )
            if invocation.outcome is not None:
                return _json(
                    400,
                    {
                        "errorMessage": f"{request_id} was answered already",
                        "errorType": "InvalidStateTransition",
                    },
                )
            invocation.outcome = outcome
            invocation.body = request.get_data()
            invocation.answer_headers = dict(request.headers)
            invocation.error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
        invocation._done.set()
        return _json(202, {"status": "OK"})


def _json(status: int, data: Any) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
