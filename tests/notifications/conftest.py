"""The world of the channel tests: stand-ins served on 127.0.0.1, a recording sleep, a fixed wall clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx
import pytest

from naver_sms.notifications.slack_service import SlackWebhookClient
from naver_sms.notifications.sms_service import SensClient
from naver_sms.notifications.telegram_service import TelegramClient
from naver_sms.retry import RetryPolicy
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.standins.slack import SlackStandIn
from tests.standins.telegram import TelegramStandIn

#: Synthetic recipient and sender (never a real customer).
RECIPIENT = "01098765432"
SENDER = "0212345678"


class RecordingSleep:
    """An injectable `time.sleep` that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


class Switch:
    """One served WSGI app whose target each test replaces: a server per module instead of per test (stopping
    a werkzeug server takes half a second)."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "no stand-in is plugged in"
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[tuple[Switch, str]]:
    switch = Switch()
    with serve_wsgi(switch) as url:
        yield switch, url


class _StandIn(Protocol):
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any: ...

    def release_stalls(self) -> None: ...


S = TypeVar("S", bound=_StandIn)


@contextmanager
def plugged_in(wsgi_server: tuple[Switch, str], standin: S) -> Iterator[tuple[S, str]]:
    """`standin` served for one test; its stalls are ended and it is unplugged afterwards."""
    switch, url = wsgi_server
    switch.app = standin
    try:
        yield standin, url
    finally:
        standin.release_stalls()
        switch.app = None


class _Client(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Client)


def exact_retry() -> RetryPolicy:
    """Three attempts, no jitter: the waits a test asserts are exact."""
    return RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, jitter=0.0)


def client_factory(client_class: Callable[..., C], defaults: dict[str, Any]) -> Iterator[Callable[..., C]]:
    """A fixture body: yields `make(**overrides)`, which builds `client_class(**defaults, **overrides)`; every
    client made is closed at teardown."""
    clients: list[C] = []

    def make(**overrides: Any) -> C:
        client = client_class(**{**defaults, **overrides})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sens_server(wsgi_server: tuple[Switch, str]) -> Iterator[tuple[SensStandIn, str]]:
    with plugged_in(wsgi_server, SensStandIn()) as served:
        yield served


@pytest.fixture
def make_sens_client(
    sens_server: tuple[SensStandIn, str], sleeps: RecordingSleep
) -> Iterator[Callable[..., SensClient]]:
    standin, url = sens_server
    yield from client_factory(
        SensClient,
        {
            "base_url": url,
            "service_id": standin.service_id,
            "access_key": standin.access_key,
            "secret_key": standin.secret_key,
            "timeout": 5.0,
            "retry": exact_retry(),
            "lookup_attempts": 2,
            "lookup_delay": 1.0,
            "sleep": sleeps,
        },
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def telegram_server(wsgi_server: tuple[Switch, str]) -> Iterator[tuple[TelegramStandIn, str]]:
    with plugged_in(wsgi_server, TelegramStandIn()) as served:
        yield served


@pytest.fixture
def make_telegram_client(
    telegram_server: tuple[TelegramStandIn, str], sleeps: RecordingSleep
) -> Iterator[Callable[..., TelegramClient]]:
    standin, url = telegram_server
    yield from client_factory(
        TelegramClient,
        {
            "base_url": url,
            "token": standin.token,
            "chat_id": next(iter(standin.chat_ids)),
            "timeout": 5.0,
            "retry": exact_retry(),
            "sleep": sleeps,
        },
    )


@pytest.fixture
def slack_server(wsgi_server: tuple[Switch, str]) -> Iterator[tuple[SlackStandIn, str]]:
    with plugged_in(wsgi_server, SlackStandIn()) as (standin, url):
        yield standin, url + standin.path


@pytest.fixture
def make_slack_client(
    slack_server: tuple[SlackStandIn, str], sleeps: RecordingSleep
) -> Iterator[Callable[..., SlackWebhookClient]]:
    _, webhook_url = slack_server
    yield from client_factory(
        SlackWebhookClient,
        {"webhook_url": webhook_url, "timeout": 5.0, "retry": exact_retry(), "sleep": sleeps},
    )


def no_http(request: httpx.Request) -> httpx.Response:
    """A transport handler for clients that must not make any request."""
    raise AssertionError(f"unexpected HTTP request: {request.method}")
