"""`summary: when_something_happened` (reports.yaml): the per-run summary comes when this run sent or failed
an SMS, posted a message or met new trouble; an error that every run reports again until someone acts (the
example bookings' booking without a phone, skipped as malformed on every run) brings it once a day only."""

from __future__ import annotations

from naver_sms.rules.report import RunReport
from tests.owner.conftest import Sandbox


def _summaries(report: RunReport) -> list[str]:
    return [n.text for n in report.notifications if n.rule == "(summary)"]


def test_a_booking_malformed_on_every_run_brings_the_summary_once_a_day(sandbox: Sandbox) -> None:
    sandbox.write("reports.yaml", "summary: when_something_happened\n")
    first, state = sandbox.run_at("2026-11-26 18:40")
    (told,) = _summaries(first)  # SMS went out: the summary, with the malformed booking counted
    assert "예약확정 문자 발송 완료" in told and told.endswith("확인할 문제 1건: naver-sms status")
    assert [e.kind for e in first.errors] == ["booking"]
    for when in ("2026-11-26 21:00", "2026-11-26 21:20", "2026-11-26 23:40"):
        quiet, state = sandbox.run_at(when, state)
        assert [e.kind for e in quiet.errors] == ["booking"] and _summaries(quiet) == [], when
    morning, state = sandbox.run_at("2026-11-27 00:20", state)
    assert _summaries(morning) == ["문자 발송 대상 없음\n확인할 문제 1건: naver-sms status"]
    later, state = sandbox.run_at("2026-11-27 00:40", state)
    assert _summaries(later) == []


def test_every_run_keeps_the_legacy_summary_without_the_problems_line(sandbox: Sandbox) -> None:
    sandbox.run_at("2026-11-26 18:40")
    report, _ = sandbox.run_at("2026-11-26 21:00")
    # the legacy summary and, since issue 11 item 10, what the source lost (the examples' malformed booking)
    assert _summaries(report) == [
        "문자 발송 대상 없음\n읽지 못한 예약 1건: booking 900000031 in other.json: missing (field 'phone')"
    ]
