"""The Lambda image, run as Lambda runs it (issue 8, items 1-2): `make image-test` only.

Inside the container, `awslambdaric` (the image's entry point) talks to a Runtime API stand-in on the host
(tests/standins/lambda_runtime.py); the handler reaches the Naver, SENS and Telegram stand-ins and dynalite
on the host over the host network. The container gets what Lambda gives a function: a read-only file system
but /tmp, a non-root user, no capabilities, 1024 MB, the AWS_LAMBDA_* variables of the function's
LoggingConfig, and the stack's NAVER_SMS_* settings (the configuration bind-mounted read-only: the image
has none of its own).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from naver_sms.config.loader import load_config
from naver_sms.database.dynamo_target import DynamoTarget
from naver_sms.database.dynamodb_client import DynamoSessionRepository
from naver_sms.domain.clock import KST
from tests.deploy.docker import docker, image_tag, run_container
from tests.deploy.template import emitted_metrics_assumed, function_environment
from tests.integration.conftest import raw_item
from tests.standins.dynamo import dynalite_endpoint, new_target
from tests.standins.lambda_runtime import LambdaRuntimeStandIn
from tests.standins.naver import NaverStandIn, make_booking
from tests.standins.sens import SensStandIn
from tests.standins.server import serve_wsgi
from tests.standins.telegram import TelegramStandIn

__all__ = ["dynalite_endpoint"]

pytestmark = [pytest.mark.image, pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "config")
STORE = "1000001"  # Example Studio Gangnam in the synthetic config/
GUEST_PHONE = "01055500101"  # synthetic
#: how long the runtime may take to answer one invocation (a Chromium login included) before the test fails
ANSWER_TIMEOUT = 180.0

#: A scheduled event as EventBridge delivers it to the function.
SCHEDULED_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "000000000000",
    "time": "2026-11-26T09:40:00Z",
    "region": "ap-northeast-2",
    "resources": ["arn:aws:events:ap-northeast-2:000000000000:rule/naver-sms-Every20Minutes"],
    "detail": {},
}


class Outside:
    """SENS and Telegram behind one base URL (the paths tell them apart), like production's two hosts."""

    def __init__(self) -> None:
        self.sens = SensStandIn()
        self.telegram = TelegramStandIn()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/bot"):
            return self.telegram(environ, start_response)
        return self.sens(environ, start_response)


@dataclass
class World:
    naver: NaverStandIn
    outside: Outside
    runtime: LambdaRuntimeStandIn
    target: DynamoTarget
    env: dict[str, str]
    config_dir: Path


def _readable_config() -> Path:
    """A copy of the synthetic config/ the container's user (uid 993) can read (pytest's tmp is 0700)."""
    where = Path(tempfile.mkdtemp(prefix="naver-sms-image-config-"))
    shutil.copytree(ROOT / "config", where / "config")
    for path in [where, *where.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return where


@pytest.fixture
def world(dynalite_endpoint: str) -> Iterator[World]:
    naver = NaverStandIn()
    outside = Outside()
    runtime = LambdaRuntimeStandIn()
    config_root = _readable_config()
    try:
        with serve_wsgi(naver) as naver_url, serve_wsgi(outside) as outside_url, serve_wsgi(runtime) as api:
            naver.base_url = naver_url
            target = new_target(dynalite_endpoint)
            env = function_environment(
                # what the stack sets, with the parts that name AWS resources pointed at the stand-ins
                NAVER_SMS_DB=target.url(),
                NAVER_SMS_CONFIG_DIR="/config",
                NAVER_SMS_REPORTS_DIR="",
                NAVER_SMS_SECRET_NAMES="",
                NAVER_SMS_LIVE="true",
            )
            env.update(
                {
                    # what Lambda sets for a function with this LoggingConfig
                    "AWS_LAMBDA_RUNTIME_API": api.removeprefix("http://"),
                    "AWS_LAMBDA_FUNCTION_NAME": "naver-sms-RunFunction",
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
                    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/naver-sms",
                    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/26/[$LATEST]0123456789abcdef",
                    "AWS_LAMBDA_LOG_FORMAT": "JSON",
                    "AWS_LAMBDA_LOG_LEVEL": "INFO",
                    "AWS_REGION": "ap-northeast-2",
                    "AWS_DEFAULT_REGION": "ap-northeast-2",
                    # the endpoints and credentials Secrets Manager would give, for the stand-ins
                    "NAVER_SMS_NAVER_API_BASE": naver_url,
                    "NAVER_SMS_NAVER_LOGIN_URL": f"{naver_url}/nidlogin.login?mode=form&url={quote(naver_url + '/')}",
                    "NAVER_SMS_NAVER_ID": naver.user_id,
                    "NAVER_SMS_NAVER_PASSWORD": naver.password,
                    "NAVER_SMS_SENS_BASE": outside_url,
                    "NAVER_SMS_SENS_ACCESS_KEY": outside.sens.access_key,
                    "NAVER_SMS_SENS_SECRET_KEY": outside.sens.secret_key,
                    "NAVER_SMS_SENS_SERVICE_ID": outside.sens.service_id,
                    "NAVER_SMS_TELEGRAM_BASE": outside_url,
                    "NAVER_SMS_TELEGRAM_TOKEN": outside.telegram.token,
                    "NAVER_SMS_TELEGRAM_CHAT_ID": next(iter(outside.telegram.chat_ids)),
                }
            )
            yield World(naver, outside, runtime, target, env, config_root / "config")
            runtime.close()
    finally:
        shutil.rmtree(config_root, ignore_errors=True)


def _booking(booking_id: int) -> dict[str, Any]:
    """A confirmed booking the day after tomorrow at 14:00 Korean time (in the confirmed window, far from
    the two-hour guide): the one SMS it gets is the confirmation."""
    day = (datetime.now(KST) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    return make_booking(booking_id, int(STORE), day, phone=GUEST_PHONE, name="김테스트")


def _json_lines(logs: str) -> list[dict[str, Any]]:
    found = []
    for line in logs.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def _metric_values(lines: list[dict[str, Any]], name: str) -> list[tuple[str, list[list[str]], float]]:
    """(namespace, dimension sets, value) of every embedded-metric-format record of `name`."""
    out = []
    for line in lines:
        aws = line.get("_aws")
        if not aws or name not in line:
            continue
        for directive in aws["CloudWatchMetrics"]:
            if any(m["Name"] == name for m in directive["Metrics"]):
                value = line[name]
                value = value[0] if isinstance(value, list) else value
                out.append((directive["Namespace"], directive["Dimensions"], float(value)))
    return out


# --- the run that logs in ---------------------------------------------------------------------------------


def test_a_run_whose_cookies_are_refused_logs_in_with_the_image_chromium_sends_and_answers(
    world: World,
) -> None:
    # GIVEN a new confirmed booking, and a cached session Naver no longer accepts
    world.naver.add(STORE, [_booking(970_100_001)])
    stale = [
        {"name": "NID_AUT", "value": "stale", "domain": "127.0.0.1", "path": "/", "secure": False},
        {"name": "NID_SES", "value": "stale-session", "domain": "127.0.0.1", "path": "/", "secure": False},
    ]
    DynamoSessionRepository(world.target).save_cookies(stale)
    with run_container(world.env, mounts=[(world.config_dir, "/config")]) as container:
        # WHEN EventBridge's scheduled event reaches the function
        first = world.runtime.invoke(SCHEDULED_EVENT).wait(ANSWER_TIMEOUT)
        logs = container.logs()
        # THEN the runtime answered through the Runtime API with the run's result
        assert first.outcome == "response", logs
        result = first.json()
        assert result["ok"] is True, (result, logs)
        assert result["counts"]["sms_sent"] == 1
        # AND the stale cookies were tried once and refused, then the image's Chromium logged in through the
        # login form (a browser's user agent posted it) and the new session fetched the bookings
        assert any(c.status == 401 for c in world.naver.api_calls("count")), "the stale session was not tried"
        assert world.naver.logins == 1
        [login_post] = [c for c in world.naver.calls if c.method == "POST" and c.path == "/nidlogin.login"]
        assert "Chrome/" in login_post.headers.get("User-Agent", "")
        saved = DynamoSessionRepository(world.target).load_cookies()
        assert saved and {c["value"] for c in saved if c["name"] == "NID_SES"} <= world.naver.sessions
        # AND SENS received the confirmation, its signature verified, and the ledger row holds its flag
        [message] = world.outside.sens.messages
        assert (message.to, message.content) == (GUEST_PHONE, CONFIG.sms_templates["confirmation"].text)
        assert [r.status for r in world.outside.sens.requests if r.method == "POST"] == [202]
        row = raw_item(world.target, f"{STORE}_970100001", "010-5550-0101")
        assert row["confirm_sms"] == {"BOOL": True}
        # AND the Telegram summary went out
        [summary] = world.outside.telegram.messages
        assert "발송 완료" in summary["text"]

        # WHEN the next scheduled event reaches the same (warm) container
        second = world.runtime.invoke(SCHEDULED_EVENT).wait(ANSWER_TIMEOUT)
        # THEN the saved session is reused - no browser - and nothing is sent twice
        assert second.outcome == "response" and second.json()["ok"] is True, container.logs()
        assert second.json()["counts"]["sms_sent"] == 0
        assert world.naver.logins == 1
        assert len(world.outside.sens.messages) == 1
        logs = container.logs()

    # AND the logs are JSON at INFO (the function's LoggingConfig), the report carries the request's run,
    # and the run-level metrics are what the template's alarms assume (namespace, name, dimensions)
    lines = _json_lines(logs)
    reports = [
        line
        for line in lines
        if isinstance(line.get("message"), dict) and line["message"].get("event") == "run_report"
    ]
    assert len(reports) == 2 and all(r["level"] == "INFO" for r in reports), logs
    assumed = emitted_metrics_assumed()
    for name in (assumed["RunFailed"], assumed["SmsFailed"], assumed["SmsSent"]):
        values = _metric_values(lines, name)
        assert len(values) == 2, (name, logs)
        for namespace, dimensions, _ in values:
            assert namespace == assumed["Namespace"]
            assert [assumed["ServiceDimension"]] in dimensions
    assert [v for _, _, v in _metric_values(lines, assumed["RunFailed"])] == [0.0, 0.0]
    assert [v for _, _, v in _metric_values(lines, assumed["SmsSent"])] == [1.0, 0.0]
    # AND no phone number of the guest in the logs (masked), no credential
    assert GUEST_PHONE not in logs and "010-5550-0101" not in logs
    for secret in (world.naver.password, world.outside.sens.secret_key, world.outside.telegram.token):
        assert secret not in logs


def test_a_login_naver_refuses_fails_the_run_visibly_and_answers(world: World) -> None:
    # GIVEN no cached session, and Naver asking for a captcha
    world.naver.add(STORE, [_booking(970_100_002)])
    world.naver.login_mode = "captcha"
    with run_container(world.env, mounts=[(world.config_dir, "/config")]) as container:
        # WHEN the scheduled event reaches the function
        answered = world.runtime.invoke(SCHEDULED_EVENT).wait(ANSWER_TIMEOUT)
        logs = container.logs()
    # THEN the run failed as a whole: the result says so, RunFailed is 1, the owner hears it on Telegram
    # with what to do, and nothing was sent
    assert answered.outcome == "response", logs
    assert answered.json()["ok"] is False and "LoginBlocked" in answered.json()["failed"]
    assumed = emitted_metrics_assumed()
    assert [v for _, _, v in _metric_values(_json_lines(logs), assumed["RunFailed"])] == [1.0]
    [summary] = world.outside.telegram.messages
    assert summary["text"].startswith("요청중 오류 발생") and "login" in summary["text"]
    assert world.outside.sens.messages == []
    assert world.naver.logins == 0


def test_a_crash_is_reported_through_the_error_route_and_the_runtime_serves_on(world: World) -> None:
    # GIVEN the image with a handler that raises on every event (a stand-in for any crash: the runtime,
    # not the application, reports it)
    with run_container(world.env, command=["json.loads"]) as container:
        # WHEN it is invoked twice
        first = world.runtime.invoke(SCHEDULED_EVENT).wait(60)
        second = world.runtime.invoke(SCHEDULED_EVENT).wait(60)
        logs = container.logs()
    # THEN each failure reached Lambda through /invocation/{id}/error with its type: Lambda counts it in
    # `Errors`, the alarm's metric; the runtime went on to the next invocation
    for answered in (first, second):
        assert answered.outcome == "error", logs
        assert answered.json()["errorType"] == "TypeError"
        assert answered.json()["requestId"] == answered.request_id


def test_a_handler_that_cannot_be_loaded_is_an_init_error(world: World) -> None:
    # GIVEN a function whose handler setting names nothing in the image
    with run_container(world.env, command=["naver_sms.handler.no_such_handler"]) as container:
        # THEN the runtime says so through /runtime/init/error and stops before taking any invocation
        assert container.exit_code() != 0
        logs = container.logs()
    [(headers, body)] = world.runtime.init_errors
    assert json.loads(body)["errorType"] == "Runtime.HandlerNotFound", logs
    assert headers.get("Lambda-Runtime-Function-Error-Type") == "Runtime.HandlerNotFound"
    assert world.runtime.invocations == {}


# --- what the image holds ---------------------------------------------------------------------------------


def test_importing_the_handler_loads_neither_the_browser_driver_nor_the_cli() -> None:
    # GIVEN the image, with no network at all
    probe = (
        "import sys, naver_sms.handler; "
        "print(sorted(m for m in ('selenium', 'typer', 'rich', 'click', 'pygments') if m in sys.modules))"
    )
    with run_container({}, network="none", entrypoint="python", command=["-c", probe]) as container:
        assert container.exit_code() == 0, container.logs()
        printed = container.logs().strip().splitlines()[-1]
    # THEN Selenium is imported only when a login happens, and the CLI's libraries are not even installed
    assert printed == "[]"
    installed = docker(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint=python",
        image_tag(),
        "-c",
        "import importlib.util as u; print([m for m in ('typer', 'rich', 'awslambdaric') if u.find_spec(m)])",
    ).stdout.strip()
    assert installed == "['awslambdaric']"


def test_chromium_and_its_driver_are_at_the_settings_paths_and_match() -> None:
    from naver_sms.config.settings import Settings

    settings = Settings()
    versions = docker(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint=bash",
        image_tag(),
        "-c",
        f"test -x {settings.chromium_path} && test -x {settings.chromedriver_path} && "
        f"{settings.chromium_path} --version && {settings.chromedriver_path} --version",
    ).stdout
    browser = re.search(r"Chromium (\d+\.\d+\.\d+\.\d+)", versions)
    driver = re.search(r"ChromeDriver (\d+\.\d+\.\d+\.\d+)", versions)
    assert browser and driver and browser.group(1) == driver.group(1), versions


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _certificates(bundle: bytes) -> list[bytes]:
    return [b"".join(block.split()) for block in _PEM.findall(bundle)]


def _host_only_certificates(bundle: bytes, public: Iterable[bytes]) -> list[bytes]:
    """The certificates of the host's CA bundle found in none of the public bundles (Debian's as the image
    has it, certifi's, botocore's): the ones only this machine trusts, such as a TLS-intercepting proxy's."""
    known = {cert for one in public for cert in _certificates(one)}
    return [cert for cert in _certificates(bundle) if cert not in known]


def test_the_build_secret_is_in_no_layer_of_the_image(tmp_path: Path) -> None:
    # GIVEN the CA bundle handed to pip as a build secret (deploy/build-image.sh)
    import os

    host_bundle_path = (
        os.environ.get("NAVER_SMS_PIP_CA") or os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    )
    if not host_bundle_path or not Path(host_bundle_path).exists():
        pytest.fail("no CA bundle was given to the build (NAVER_SMS_PIP_CA / PIP_CERT / SSL_CERT_FILE)")
    host_bundle = Path(host_bundle_path).read_bytes()
    host_digest = hashlib.sha256(host_bundle).hexdigest()
    image_bundle = docker(
        "run", "--rm", "--network=none", "--entrypoint=cat", image_tag(), "/etc/ssl/certs/ca-certificates.crt"
    ).stdout.encode()
    import botocore
    import certifi

    public = [image_bundle, Path(certifi.where()).read_bytes()]
    public.append((Path(botocore.__file__).parent / "cacert.pem").read_bytes())
    host_only = _host_only_certificates(host_bundle, public)
    # WHEN every file of every layer of the saved image is read
    saved = tmp_path / "image.tar"
    docker("save", "-o", str(saved), image_tag(), timeout=300)
    seen_files = 0
    with tarfile.open(saved) as image:
        layers = [
            m for m in image.getmembers() if m.name.endswith("layer.tar") or m.name.startswith("blobs/")
        ]
        for member in layers:
            extracted = image.extractfile(member)
            if extracted is None:
                continue
            blob = extracted.read()
            if not tarfile.is_tarfile(io.BytesIO(blob)):
                continue  # a config or manifest blob, not a layer
            with tarfile.open(fileobj=io.BytesIO(blob)) as layer:
                for entry in layer.getmembers():
                    assert not entry.name.lstrip("./").startswith("run/secrets"), entry.name
                    if not entry.isfile():
                        continue
                    seen_files += 1
                    data = layer.extractfile(entry)
                    content = data.read() if data else b""
                    # THEN no file is the host's bundle, and no certificate only the host trusts is anywhere
                    assert hashlib.sha256(content).hexdigest() != host_digest, entry.name
                    if host_only and b"-----BEGIN CERTIFICATE-----" in content:
                        flat = b"".join(content.split())
                        assert not any(cert in flat for cert in host_only), entry.name
    assert seen_files > 1000  # the layers were really read
    print(
        f"{seen_files} files in the layers; {len(host_only)} certificate(s) only the host trusts, in none of them"
    )
