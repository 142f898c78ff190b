"""The world of the integration tests: DynamoDB stand-ins (dynalite, moto_server) as real processes, and the
SENS, Telegram and Slack stand-ins behind one local HTTP server on a random port, reached over real sockets by
the real channel clients.

One server per module (stopping a werkzeug server takes half a second); each test plugs in fresh stand-ins.
"""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from naver_sms.database.dynamo_target import DynamoTarget, make_client
from tests.standins.dynamo import dynalite_endpoint, dynamo_target, moto_endpoint
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.standins.slack import SlackStandIn
from tests.standins.telegram import TelegramStandIn

__all__ = [
    "CONFIG_DIR",
    "Channels",
    "channels",
    "config_with_rules",
    "dynalite_endpoint",
    "dynamo_target",
    "moto_endpoint",
    "raw_item",
]

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"

WsgiApp = Callable[..., Iterable[bytes]]


@dataclass
class Channels:
    """The three outside services, as stand-ins behind one base URL.

    `refuse(to, status)` makes SENS refuse the sends to one recipient (SENS's own 400 shape) while every
    other recipient is served normally: the stand-in's own control API fails "the next request", whichever
    booking it belongs to."""

    url: str
    sens: SensStandIn = field(default_factory=SensStandIn)
    telegram: TelegramStandIn = field(default_factory=TelegramStandIn)
    slack: SlackStandIn = field(default_factory=SlackStandIn)
    refused: dict[str, list[int]] = field(default_factory=dict)  # recipient -> statuses still to answer

    def refuse(self, to: str, status: int = 400, *, times: int = 1) -> None:
        self.refused.setdefault(to, []).extend([status] * times)

    @property
    def chat_id(self) -> str:
        return next(iter(self.telegram.chat_ids))

    @property
    def webhook_url(self) -> str:
        return self.url + self.slack.path

    def release(self) -> None:
        for standin in (self.sens, self.telegram, self.slack):
            standin.release_stalls()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/bot"):
            return self.telegram(environ, start_response)
        if path.startswith("/services/"):
            return self.slack(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST" and self.refused:
            refused = self._refused_status(environ)
            if refused is not None:
                body = json.dumps({"status": refused, "errorMessage": "Bad Request", "errors": []}).encode()
                start_response(f"{refused} Refused", [("Content-Type", "application/json; charset=utf-8")])
                return [body]
        return self.sens(environ, start_response)

    def _refused_status(self, environ: dict[str, Any]) -> int | None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # the stand-in reads it again
        try:
            recipients = [m["to"] for m in json.loads(body)["messages"]]
        except (ValueError, KeyError, TypeError):
            return None
        for to in recipients:
            statuses = self.refused.get(to)
            if statuses:
                return statuses.pop(0)
        return None


class _Switch:
    def __init__(self) -> None:
        self.app: WsgiApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None, "no stand-ins are plugged in"
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[_Switch, str]]:
    switch = _Switch()
    with serve_wsgi(switch) as url:
        yield switch, url


@pytest.fixture
def channels(_server: tuple[_Switch, str]) -> Iterator[Channels]:
    """Fresh SENS, Telegram and Slack stand-ins for this test, served on 127.0.0.1."""
    switch, url = _server
    world = Channels(url)
    switch.app = world
    try:
        yield world
    finally:
        world.release()
        switch.app = None


def config_with_rules(tmp_path: Path, extra_rules: str = "") -> Path:
    """A configuration directory: the default `config/` (stores, templates, rules) with `extra_rules` (YAML
    list items, as in rules.yaml) appended after the default rules."""
    target = tmp_path / "config"
    target.mkdir()
    for name in ("stores.yaml", "templates.yaml"):
        shutil.copy(CONFIG_DIR / name, target / name)
    rules = (CONFIG_DIR / "rules.yaml").read_text(encoding="utf-8")
    if extra_rules:
        rules = rules.rstrip("\n") + "\n\n" + textwrap.indent(textwrap.dedent(extra_rules).strip("\n"), "  ")
    (target / "rules.yaml").write_text(rules + "\n", encoding="utf-8")
    return target


def raw_item(target: DynamoTarget, booking_num: str, phone: str) -> dict[str, Any]:
    """The row as DynamoDB holds it, typed attribute values included (`{"BOOL": true}`, `{"S": ...}`),
    read with a plain boto3 client - not through the repository under test."""
    client = make_client(target)
    try:
        answer = client.get_item(
            TableName=target.sms_table,
            Key={"booking_num": {"S": booking_num}, "phone": {"S": phone}},
            ConsistentRead=True,
        )
    finally:
        client.close()
    item: dict[str, Any] = answer.get("Item", {})
    return item
