"""The daily report (issue 14 item 3): posted once per day exactly at the configured hour - the period claim per
channel - rendered from a template the owner can change, with the day's sends by kind and store, the failures
with what to do, tomorrow's forecast and the cost; its page kept as a file or in S3 behind a time-limited link."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.cli.common import Seams
from naver_sms.domain.clock import FixedClock
from naver_sms.errors import ConfigErrors
from naver_sms.owner.publish import S3Reports
from naver_sms.ports import DeliveryResult
from naver_sms.runner import run_once
from naver_sms.wiring import compile_config
from tests.owner.conftest import Sandbox
from tests.world import kst

REPORTS = """\
daily_report:
  at: "21:00"
  slack: true
prices: {LMS: 30.8}
"""


def _daily(report) -> list[str]:
    return [n.text for n in report.notifications if n.rule == "(daily report)"]


def test_the_report_is_posted_once_at_its_hour_on_each_channel(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS)
    sandbox.options["slack_enabled"] = True
    first, state = sandbox.run_at("2026-11-26 18:40")
    before, state = sandbox.run_at("2026-11-26 20:40", state)
    due, state = sandbox.run_at("2026-11-26 21:00", state)
    after, state = sandbox.run_at("2026-11-26 21:20", state)
    assert _daily(first) == _daily(before) == _daily(after) == []
    telegram, slack = [n for n in due.notifications if n.rule == "(daily report)"]
    assert (telegram.channel, slack.channel) == ("telegram", "slack") and telegram.text == slack.text
    text = telegram.text
    # the runs of 18:40 and 20:40 and the one posting it; 20:40 sent one more guide
    assert text.startswith("[2026-11-26 일일 보고]\n문자 12건 발송 (실행 3회)")
    assert "- 예약확정 8건" in text and "- 안내 4건" in text and "부산점 2" in text
    assert "확인할 문제 1건" in text and "a malformed booking was skipped" in text
    assert "내일 예정 문자 1건: 안내 1" in text  # by the label, as the day's sends are counted
    assert "비용 약 0원" in text  # the sandbox's outbox costs nothing
    box = [e for e in state.outbox.entries(channel="telegram") if "일일 보고" in e["payload"]["text"]]
    assert len(box) == 1


def test_a_run_overlapping_the_post_posts_nothing_and_a_failed_post_is_retried(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS.replace("  slack: true\n", ""))
    _, state = sandbox.run_at("2026-11-26 18:40")
    sandbox.clock.at = kst("2026-11-26 21:00")
    rt, state = sandbox.runtime(state=state)
    inner: list = []
    send = rt.services.telegram_service.send_message
    fails = [True]

    def racing(text: str, *, chat_id: str | None = None):
        if "일일 보고" in text:
            if not inner:
                other, _ = sandbox.runtime(state=state)
                inner.append(run_once(other, run_id="overlapping"))
            if fails.pop() if fails else False:
                raise RuntimeError("telegram answered 502")
        return send(text, chat_id=chat_id)

    rt.services.telegram_service.send_message = racing  # type: ignore[method-assign]
    failed = run_once(rt, run_id="a")
    assert _daily(inner[0]) == [] and _daily(failed) == []
    assert any("daily report to telegram not sent" in e.message for e in failed.errors)
    retried, state = sandbox.run_at("2026-11-26 21:20", state)
    assert len(_daily(retried)) == 1


def test_the_report_is_not_posted_on_another_day_than_its_own(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS)
    report, _ = sandbox.run_at("2026-11-27 08:00")  # yesterday's 21:00 was missed: no report at 08:00
    assert _daily(report) == []


def test_the_owner_changes_the_template_and_a_broken_one_is_refused_with_its_line(sandbox: Sandbox) -> None:
    sandbox.write(
        "reports.yaml",
        'daily_report:\n  at: "21:00"\n  template: "{{ day }}: {{ sent }}건, {% for k in by_kind %}{{ k.kind }}={{ k.n }} {% endfor %}"\n',
    )
    sandbox.run_at("2026-11-26 18:40")
    report, _ = sandbox.run_at("2026-11-26 21:00")
    assert _daily(report) == ["2026-11-26: 11건, 예약확정=8 안내=3 "]
    sandbox.write(
        "reports.yaml",
        'daily_report:\n  at: "21:00"\n  template: "{% for k in by_kind %}{{ k.knid }}{% endfor %}"\n',
    )
    with pytest.raises(ConfigErrors) as raised:
        compile_config(sandbox.config_dir)
    (error,) = raised.value.errors
    assert error.field == "daily_report.template" and error.line == 3 and "knid" in error.message
    sandbox.write("reports.yaml", 'daily_report:\n  at: "21:00"\n  template: "{{ secret }}"\n')
    with pytest.raises(ConfigErrors, match="unknown template variable 'secret'"):
        compile_config(sandbox.config_dir)
    sandbox.write("reports.yaml", 'daily_report:\n  at: "9pm"\n')
    with pytest.raises(ConfigErrors, match="not a period"):
        compile_config(sandbox.config_dir)


def test_the_page_is_one_file_that_fetches_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.write("reports.yaml", REPORTS)
    sandbox.run_at("2026-11-26 18:40")
    page = tmp_path / "report.html"
    args = [
        "report",
        "--db",
        str(sandbox.db),
        "--config",
        str(sandbox.config_dir),
        "--bookings",
        str(sandbox.bookings),
    ]
    result = CliRunner().invoke(
        app, [*args, "--html", str(page)], obj=Seams(clock=FixedClock(kst("2026-11-26 21:30")))
    )
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<script" not in html
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html) + re.findall(r"url\(([^)]*)\)", html)
    assert refs == []
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    } | {
        u
        for u in re.findall(r"https?://[^\s\"'<>]+", html)
        if u.startswith(("http://pygal.org", "http://github.com/Kozea"))
    }
    assert "guide_gangnam" in html and "010-****-0001" in html and "01000000001" not in html


def test_values_from_the_configuration_are_escaped_in_the_page(sandbox: Sandbox, tmp_path: Path) -> None:
    stores = sandbox.config_dir / "stores.yaml"
    stores.write_text(
        stores.read_text(encoding="utf-8").replace("alias: 강남점", 'alias: "<script>x()</script>"'),
        encoding="utf-8",
    )
    sandbox.run_at("2026-11-26 18:40")
    page = tmp_path / "report.html"
    args = ["report", "--db", str(sandbox.db), "--config", str(sandbox.config_dir), "--html", str(page)]
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 21:30"))))
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;" in html


def test_the_page_goes_to_s3_behind_a_link_that_opens_it(moto_endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="ap-northeast-2",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    s3.create_bucket(Bucket="cfg", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    link = S3Reports("s3://cfg/reports/", client=s3).publish("2026-11-26.html", "<p>리포트</p>", hours=24)
    assert "X-Amz-Expires=86400" in link and "/reports/2026-11-26.html" in link
    page = httpx.get(link)
    assert page.status_code == 200 and page.text == "<p>리포트</p>"
    assert page.headers["content-type"].startswith("text/html")


def test_the_report_names_what_the_provider_says_about_delivery(sandbox: Sandbox) -> None:
    from naver_sms.owner.daily import check_deliveries, day_report

    sandbox.run_at("2026-11-26 18:40")
    _, state = sandbox.run_at("2026-11-26 19:00")
    cfg, _, _ = compile_config(sandbox.config_dir)
    runs = state.runs.runs_on("2026-11-26")
    for run in runs:  # as a live run records them
        for s in run.summary["sms"]:
            s["status"] = "sent"

    class Lookup:
        def delivery_result(self, request_id: str) -> DeliveryResult:
            return DeliveryResult(request_id, "failed" if request_id == "outbox-2" else "delivered", "결번")

    data = day_report(state.runs, cfg, kst("2026-11-26 00:00").date(), kst("2026-11-26 21:00"))
    check_deliveries(data, runs, Lookup(), at_most=50)
    assert data.delivery is not None
    assert (data.delivery["checked"], data.delivery["delivered"], data.delivery["failed"]) == (11, 10, 1)
    assert data.delivery["failures"][0]["detail"] == "결번" and "****" in data.delivery["failures"][0]["to"]


def test_status_shows_the_last_run_the_failures_and_the_daily_report(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS)
    _, state = sandbox.run_at("2026-11-26 18:40")
    key = ("1000001_900000001", "010-0000-0001")
    for i in range(3):
        claim = state.repo.claim(
            key,
            "remind_sms",
            run_id=f"x{i}",
            now=kst("2026-11-26 18:40"),
            lease=timedelta(minutes=10),
        )
        state.repo.release(claim, error="400 rejected: 010-1234-5678")
    args = ["status", "--db", str(sandbox.db), "--config", str(sandbox.config_dir), "--json"]
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 18:50"))))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["last_run"]["run_id"] == "run-2026-11-26 18:40" and shown["last_run"]["ok"] is True
    assert shown["next_run"].startswith("2026-11-26T19:00")
    (failed,) = shown["failed"]
    assert failed["reset"] == "naver-sms db reset 1000001_900000001 remind_sms"
    assert failed["rule"] == "guide_two_hours_before" and "010-****-5678" in failed["last_error"]
    assert shown["daily_report"]["status"] == "open" and shown["config"]["version"].startswith("sha256:")
    people = CliRunner().invoke(
        app, args[:-1], obj=Seams(clock=FixedClock(kst("2026-11-26 18:50"))), env={"COLUMNS": "200"}
    )
    assert (
        "failed for good" in people.stdout
        and "naver-sms db reset 1000001_900000001 remind_sms" in people.stdout
    )


def test_status_shows_each_channel_of_the_daily_report_once_it_is_posted(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS)  # telegram and slack; the sandbox's Slack is off: never posted
    sandbox.run_at("2026-11-26 18:40")
    due, _ = sandbox.run_at("2026-11-26 21:00")
    assert [n.channel for n in due.notifications if n.rule == "(daily report)"] == ["telegram"]
    args = ["status", "--db", str(sandbox.db), "--config", str(sandbox.config_dir), "--json"]
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 21:10"))))
    assert result.exit_code == 0, result.output
    daily = json.loads(result.stdout)["daily_report"]
    assert daily["period"] == "2026-11-26T21:00"
    assert daily["channels"]["telegram"]["status"] == "done" and daily["channels"]["telegram"]["sent_at"]
    assert daily["channels"]["slack"]["status"] == "open" and daily["status"] == "open"
    sandbox.options["slack_enabled"] = True
    sandbox.run_at("2026-11-26 21:20")
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 21:30"))))
    daily = json.loads(result.stdout)["daily_report"]
    assert daily["status"] == "done" and daily["channels"]["slack"]["status"] == "done"
    people = CliRunner().invoke(
        app, args[:-1], obj=Seams(clock=FixedClock(kst("2026-11-26 21:30"))), env={"COLUMNS": "200"}
    )
    assert "telegram done, slack done" in people.stdout


def test_the_run_report_the_run_log_and_status_name_one_configuration_version(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", REPORTS)
    report, state = sandbox.run_at("2026-11-26 18:40")
    last = state.runs.last()
    assert last is not None and last.summary["config_version"] == report.config_version
    args = ["status", "--db", str(sandbox.db), "--config", str(sandbox.config_dir), "--json"]
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 18:50"))))
    config = json.loads(result.stdout)["config"]
    assert config["version"] == config["last_run_version"] == report.config_version
    assert config["changed_since_last_run"] is False
    sandbox.write("reports.yaml", REPORTS + "summary: every_run\n")
    result = CliRunner().invoke(app, args, obj=Seams(clock=FixedClock(kst("2026-11-26 18:50"))))
    assert json.loads(result.stdout)["config"]["changed_since_last_run"] is True


def test_report_without_bookings_says_it_made_no_forecast_and_counts_tomorrow_by_kind(
    sandbox: Sandbox,
) -> None:
    sandbox.run_at("2026-11-26 18:40")
    base = [
        "report",
        "--db",
        str(sandbox.db),
        "--config",
        str(sandbox.config_dir),
        "--now",
        "2026-11-26 21:30",
    ]
    blind = CliRunner().invoke(app, base, env={"NAVER_SMS_NAVER_ID": "", "NAVER_SMS_NAVER_PASSWORD": ""})
    assert blind.exit_code == 0, blind.output
    assert (
        "내일 예정 문자: 예측하지 못함 (no forecast)" in blind.stdout
        and "내일 예정 문자 0건" not in blind.stdout
    )
    seen = CliRunner().invoke(app, [*base, "--bookings", str(sandbox.bookings)])
    assert seen.exit_code == 0, seen.output
    assert "내일 예정 문자 1건: 안내 1" in seen.stdout and "guide_gangnam" not in seen.stdout
    page = sandbox.db.parent / "r.html"
    CliRunner().invoke(app, [*base, "--html", str(page)])
    assert "예측하지 못함 / no forecast" in page.read_text(encoding="utf-8")
