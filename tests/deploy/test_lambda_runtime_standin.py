"""The Lambda Runtime API stand-in answers as the real API does (its routes, headers and refusals), so that
the image tests prove what the runtime client does, not what a lenient server lets it do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.standins.lambda_runtime import FUNCTION_ARN, LambdaRuntimeStandIn
from tests.standins.server import serve_wsgi

API = "/2018-06-01/runtime"


@pytest.fixture
def runtime() -> Iterator[tuple[LambdaRuntimeStandIn, httpx.Client]]:
    standin = LambdaRuntimeStandIn(poll=0.05)
    with serve_wsgi(standin) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield standin, client
        standin.close()


def test_next_waits_for_an_invocation_and_carries_its_context(
    runtime: tuple[LambdaRuntimeStandIn, httpx.Client],
) -> None:
    standin, client = runtime
    answers: list[httpx.Response] = []
    poller = threading.Thread(target=lambda: answers.append(client.get(f"{API}/invocation/next")))
    poller.start()
    invocation = standin.invoke({"detail-type": "Scheduled Event"}, timeout_seconds=300)
    poller.join(timeout=10)
    [answer] = answers
    assert answer.status_code == 200 and answer.json() == {"detail-type": "Scheduled Event"}
    assert answer.headers["Lambda-Runtime-Aws-Request-Id"] == invocation.request_id
    assert answer.headers["Lambda-Runtime-Invoked-Function-Arn"] == FUNCTION_ARN
    deadline_ms = int(answer.headers["Lambda-Runtime-Deadline-Ms"])
    assert 0 < deadline_ms - time.time() * 1000 <= 300_000
    assert answer.headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")


def test_a_response_is_taken_once_and_an_unknown_request_id_is_refused(
    runtime: tuple[LambdaRuntimeStandIn, httpx.Client],
) -> None:
    standin, client = runtime
    invocation = standin.invoke({})
    request_id = client.get(f"{API}/invocation/next").headers["Lambda-Runtime-Aws-Request-Id"]
    assert client.post(f"{API}/invocation/{request_id}/response", json={"ok": True}).status_code == 202
    assert invocation.wait(5).outcome == "response" and invocation.json() == {"ok": True}
    again = client.post(f"{API}/invocation/{request_id}/error", json={"errorType": "X"})
    assert (again.status_code, again.json()["errorType"]) == (400, "InvalidStateTransition")
    unknown = client.post(f"{API}/invocation/not-a-request/response", json={})
    assert (unknown.status_code, unknown.json()["errorType"]) == (400, "InvalidRequestID")


def test_an_error_and_an_init_error_are_recorded_with_their_type(
    runtime: tuple[LambdaRuntimeStandIn, httpx.Client],
) -> None:
    standin, client = runtime
    invocation = standin.invoke({})
    request_id = client.get(f"{API}/invocation/next").headers["Lambda-Runtime-Aws-Request-Id"]
    headers = {"Lambda-Runtime-Function-Error-Type": "Unhandled"}
    client.post(f"{API}/invocation/{request_id}/error", json={"errorType": "TypeError"}, headers=headers)
    assert invocation.wait(5).outcome == "error" and invocation.error_type == "Unhandled"
    headers = {"Lambda-Runtime-Function-Error-Type": "Runtime.HandlerNotFound"}
    assert (
        client.post(
            f"{API}/init/error", json={"errorType": "Runtime.HandlerNotFound"}, headers=headers
        ).status_code
        == 202
    )
    [(seen, _)] = standin.init_errors
    assert seen["Lambda-Runtime-Function-Error-Type"] == "Runtime.HandlerNotFound"


def test_closing_releases_a_waiting_runtime(runtime: tuple[LambdaRuntimeStandIn, httpx.Client]) -> None:
    standin, client = runtime
    answers: list[int] = []
    poller = threading.Thread(target=lambda: answers.append(client.get(f"{API}/invocation/next").status_code))
    poller.start()
    standin.close()
    poller.join(timeout=10)
    assert answers == [503]
