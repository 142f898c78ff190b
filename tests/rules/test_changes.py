"""Cancellations, requests and changes (issue 13 item 2): the conditions, which rules see the bookings
fetched on demand, a reschedule recorded once with the reminder following the new time exactly once, a
cancel between the claim and the send, and a request noted before it is confirmed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from naver_sms.config.models import AppConfig, SmsTemplate
from naver_sms.domain import Booking, BookingRecord
from naver_sms.domain.status import NOTED_AS, RESCHEDULED_AT, RESCHEDULED_FROM
from naver_sms.flags.state import read_flag
from naver_sms.rules.conditions import CONDITIONS
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.facts import Facts
from naver_sms.rules.plan import CompiledRule
from naver_sms.wiring import statuses_fetched_on_demand
from tests.conftest import CONFIG_DIR
from tests.world import (
    LEASE,
    RecordingChannel,
    RecordingSms,
    booking,
    compile_rules,
    execute_plan,
    kst,
    plan_for,
    record_for,
    run_rules,
)

BY_NAME = {c.name: c for c in CONDITIONS}


def holds(
    name: str, b: Booking, record: BookingRecord | None = None, now: str = "2026-11-26 18:40", **p: Any
) -> bool:
    ctype = BY_NAME[name]
    return ctype.check(Facts(b, record, kst(now), None, ()), ctype.params.model_validate(p))


def seen(
    name: str, b: Booking, record: BookingRecord | None = None, now: str = "2026-11-26 18:40", **p: Any
) -> Any:
    ctype = BY_NAME[name]
    return dict(ctype.observe(Facts(b, record, kst(now), None, ()), ctype.params.model_validate(p)))


def moved(b: Booking, to: str) -> Booking:
    """The same booking, its start moved by the customer or the store (Naver keeps the booking id)."""
    return dataclasses.replace(b, reserve_at=kst(to))


# --- the conditions -----------------------------------------------------------------------------------------------


def test_booking_cancelled_holds_for_rc04_only() -> None:
    assert holds("booking_cancelled", booking(status="RC04"))
    assert not holds("booking_cancelled", booking(status="RC03"))
    b = booking(status="RC04")
    assert seen("booking_cancelled", b, record_for(b)) == {"status": "RC04", "in_db": True}


def test_request_unconfirmed_counts_the_hours_since_the_request() -> None:
    b = booking(status="RC02", start="2026-11-28 14:00", regDateTime="2026-11-26T15:40:00+09:00")
    assert not holds("request_unconfirmed", b, now="2026-11-26 18:39", hours=3)
    assert holds("request_unconfirmed", b, now="2026-11-26 18:40", hours=3)
    assert not holds(
        "request_unconfirmed", dataclasses.replace(b, status="RC03"), now="2026-11-27 18:40", hours=3
    )
    assert seen("request_unconfirmed", b, hours=3) == {
        "status": "RC02",
        "registered_at": "2026-11-26 15:40",
        "hours_waiting": 3.0,
    }


def test_booking_rescheduled_compares_the_start_with_the_rows_booking_time() -> None:
    b = booking(start="2026-11-26 20:00")
    row = record_for(b)
    assert not holds("booking_rescheduled", b, row)
    later = moved(b, "2026-11-26 22:00")
    assert holds("booking_rescheduled", later, row)
    assert seen("booking_rescheduled", later, row) == {
        "booking_time": "2026-11-26 20:00:00",
        "reserve_at": "2026-11-26 22:00:00",
        "rescheduled_from": None,
    }
    # no row, an empty or unreadable booking_time: nothing to compare with
    assert not holds("booking_rescheduled", later, None)
    assert not holds("booking_rescheduled", later, dataclasses.replace(row, booking_time=""))
    assert not holds("booking_rescheduled", later, dataclasses.replace(row, booking_time="soon"))


# --- fetched on demand, seen only by the rules that ask -------------------------------------------------------------

CANCELLED_TO_SLACK = """\
  - name: cancelled_to_slack
    conditions:
      - booking_cancelled
      - booking_in_db
    actions:
      - type: send_slack
        params: {message: "예약 취소: {{ booking.booking_num }} {{ booking.reserve_at.strftime('%m-%d %H:%M') }}"}
      - type: update_flag
        params: {flag: cancel_notified}
"""

UNCONFIRMED_TO_SLACK = """\
  - name: unconfirmed_to_slack
    conditions:
      - type: request_unconfirmed
        params: {hours: 3}
    actions:
      - type: send_slack
        params: {message: "확정 대기 3시간: {{ booking.booking_num }}"}
      - type: update_flag
        params: {flag: unconfirmed_notified}
"""

RESCHEDULED = """\
  - name: rescheduled_tell_customer
    conditions:
      - type: booking_status
        params: {status: RC03}
      - booking_rescheduled
    actions:
      - type: record_reschedule
        params: {reopen: [remind_sms, new_time_sms]}
      - type: send_sms
        params: {template: new_time}
      - type: update_flag
        params: {flag: new_time_sms}
"""


def default_rules_and(
    engine: RuleEngine, config: AppConfig, extra: str, tmp_path: Path
) -> tuple[CompiledRule, ...]:
    """The default rules (config/rules.yaml) with the opt-in rules `extra` after them."""
    default = (CONFIG_DIR / "rules.yaml").read_text(encoding="utf-8").split("\nrules:\n", 1)[1]
    return compile_rules(engine, config, default + extra, tmp_path)


@pytest.fixture
def opt_in(config: AppConfig) -> AppConfig:
    new_time = SmsTemplate(
        type="LMS",
        label="변경",
        text="[예시스튜디오] 예약 시간이 {{ booking.reserve_at.strftime('%m월 %d일 %H:%M') }}으로 변경되었습니다.",
    )
    return dataclasses.replace(
        config, sms_templates=MappingProxyType({**config.sms_templates, "new_time": new_time})
    )


def test_the_default_rules_fetch_nothing_on_demand_and_the_opt_in_rules_ask_for_what_they_need(
    engine: RuleEngine, opt_in: AppConfig, tmp_path: Path
) -> None:
    assert statuses_fetched_on_demand(default_rules_and(engine, opt_in, "", tmp_path)) == ()
    assert statuses_fetched_on_demand(default_rules_and(engine, opt_in, CANCELLED_TO_SLACK, tmp_path)) == (
        "RC04",
    )
    both = default_rules_and(engine, opt_in, CANCELLED_TO_SLACK + UNCONFIRMED_TO_SLACK, tmp_path)
    assert statuses_fetched_on_demand(both) == ("RC02", "RC04")
    # a status named in booking_status (or under `not`) asks too; a disabled rule asks nothing
    named = "  - name: n\n    conditions: [{not: {type: booking_status, params: {status: RC04}}}]\n    actions: [log_event]\n"
    assert statuses_fetched_on_demand(compile_rules(engine, opt_in, named, tmp_path)) == ("RC04",)
    off = CANCELLED_TO_SLACK.replace("    conditions:", "    enabled: false\n    conditions:", 1)
    assert statuses_fetched_on_demand(compile_rules(engine, opt_in, off, tmp_path)) == ()


def test_a_cancelled_booking_is_seen_only_by_the_rules_that_ask_about_cancellations(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    # GIVEN a rule of the owner's that names no status, beside the cancellation rule
    any_status = "  - name: every_known_booking\n    conditions: [booking_in_db]\n    actions: [log_event]\n"
    rules = compile_rules(engine, opt_in, any_status + CANCELLED_TO_SLACK, tmp_path)
    gone = booking(status="RC04")
    services.db_repo.create(record_for(gone, confirm_sms=True))
    # WHEN a cancelled booking is evaluated
    plan = plan_for(engine, rules, opt_in, services, [gone], kst("2026-11-26 18:40"))
    first, cancellation = plan.evaluations[0]
    # THEN the rule that did not ask does not see it (and says why); the one that asks matches
    assert cancellation.matched and not first.matched
    assert first.explain()["failed"] == "(status)"
    # (a condition is described with every parameter it was evaluated with, defaults included: issue 11)
    assert first.explain()["condition"] == {"type": "asks_about_status", "params": {"asks": []}}
    assert first.explain()["seen"] == {"status": "RC04"}


def test_cancellation_to_slack_posts_once(
    engine: RuleEngine,
    opt_in: AppConfig,
    services: ActionServicesBundle,
    slack: RecordingChannel,
    sms: RecordingSms,
    tmp_path: Path,
) -> None:
    rules = default_rules_and(engine, opt_in, CANCELLED_TO_SLACK, tmp_path)
    b = booking(start="2026-11-26 20:00")
    services.db_repo.create(record_for(b, confirm_sms=True))
    gone = dataclasses.replace(b, status="RC04")
    for at in ("2026-11-26 18:40", "2026-11-26 19:00", "2026-11-26 19:20"):
        run_rules(engine, rules, opt_in, services, [gone], kst(at), run_id=at)
    assert slack.messages == [f"예약 취소: {b.booking_num} 11-26 20:00"]
    assert sms.sent == []  # its guide never goes out: the default rules ask for RC03


# --- a cancel between the claim and the send ------------------------------------------------------------------------


def test_a_pending_reminder_whose_claim_was_left_by_a_crashed_run_never_goes_out_after_a_cancel(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN a run that claimed the guide of a booking and died before sending it (its lease ran out) ...
    b = booking(start="2026-11-26 20:00")
    key = (b.booking_num, b.phone)
    services.db_repo.create(record_for(b, confirm_sms=True))
    real = datetime.now(UTC)
    services.db_repo.claim(key, "remind_sms", run_id="crashed", now=real - 2 * LEASE, lease=LEASE)
    # ... and the customer cancelled before the next run
    gone = dataclasses.replace(b, status="RC04")
    for rules in (
        default_rules_and(engine, opt_in, "", tmp_path),
        default_rules_and(engine, opt_in, CANCELLED_TO_SLACK, tmp_path),
    ):
        # WHEN the next runs decide (with the default rules, and with the cancellation rule too)
        report = run_rules(engine, rules, opt_in, services, [gone], kst("2026-11-26 18:40"))
        # THEN the guide is neither sent nor looked up: no rule about confirmed bookings sees it
        assert report.sms == [] and sms.sent == [] and sms.lookups == []
    assert read_flag(services.db_repo.get(key), "remind_sms", real).status == "stale"


# --- a reschedule: recorded once, the reminder follows the new time once -------------------------------------------


def moved_after_its_guide(services: ActionServicesBundle) -> tuple[Booking, Booking]:
    """A 20:00 booking whose confirmation and guide went out, and the same booking moved to 23:00."""
    b = booking(start="2026-11-26 20:00")
    services.db_repo.create(record_for(b, confirm_sms=True, remind_sms=True))
    return b, moved(b, "2026-11-26 23:00")


def test_without_the_opt_in_rule_a_moved_booking_gets_no_second_guide_as_in_the_legacy_job(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    rules = default_rules_and(engine, opt_in, "", tmp_path)
    b, later = moved_after_its_guide(services)
    for at in ("2026-11-26 18:40", "2026-11-26 21:20", "2026-11-26 22:40"):
        run_rules(engine, rules, opt_in, services, [later], kst(at), run_id=at)
    assert sms.sent == []
    row = services.db_repo.get((b.booking_num, b.phone))
    assert row is not None and row.booking_time == "2026-11-26 20:00:00"


def test_a_reschedule_across_the_two_hour_window_sends_the_new_time_once_and_the_guide_again_once(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN a 20:00 booking whose guide went out at 18:10, moved at 18:40 to 23:00 (out of the two hours)
    rules = default_rules_and(engine, opt_in, RESCHEDULED, tmp_path)
    b, later = moved_after_its_guide(services)
    sent: dict[str, list[str]] = {}
    # WHEN the runs of the evening come
    for at in (
        "2026-11-26 18:40",
        "2026-11-26 19:00",
        "2026-11-26 21:00",
        "2026-11-26 21:20",
        "2026-11-26 21:40",
    ):
        report = run_rules(engine, rules, opt_in, services, [later], kst(at), run_id=at)
        sent[at[-5:]] = [s.template for s in report.sms]
    # THEN the customer is told the new time at once, and gets the guide once, inside the new two hours
    assert sent == {
        "18:40": ["new_time"],
        "19:00": [],
        "21:00": [],  # exactly two hours before: an existing row's window is strict (legacy §3)
        "21:20": ["guide_gangnam"],
        "21:40": [],
    }
    assert "12월" not in sms.sent[0].content and "11월 26일 23:00" in sms.sent[0].content
    row = services.db_repo.get((b.booking_num, b.phone))
    assert row is not None and row.booking_time == "2026-11-26 23:00:00"
    assert row.extra[RESCHEDULED_FROM] == "2026-11-26 20:00:00" and RESCHEDULED_AT in row.extra
    assert row.remind_sms and row.flag("new_time_sms")


def test_a_reschedule_into_the_window_before_the_guide_went_out_sends_the_guide_once(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN a booking for tomorrow (confirmed, no guide yet), moved to tonight 20:00 - inside the two hours
    rules = default_rules_and(engine, opt_in, RESCHEDULED, tmp_path)
    b = booking(start="2026-11-27 14:00")
    services.db_repo.create(record_for(b, confirm_sms=True))
    tonight = moved(b, "2026-11-26 20:00")
    # WHEN two runs come
    first = run_rules(engine, rules, opt_in, services, [tonight], kst("2026-11-26 18:40"), run_id="a")
    second = run_rules(engine, rules, opt_in, services, [tonight], kst("2026-11-26 19:00"), run_id="b")
    # THEN the guide (sent by the default rule in the first run) is not reopened by the reschedule of that run
    assert [s.template for s in first.sms] == ["guide_gangnam", "new_time"]
    assert second.sms == []


def test_two_runs_racing_on_a_reschedule_record_it_once_and_tell_the_customer_once(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN two overlapping runs that both read the row before either acted
    rules = default_rules_and(engine, opt_in, RESCHEDULED, tmp_path)
    _, later = moved_after_its_guide(services)
    now = kst("2026-11-26 18:40")
    plans = [plan_for(engine, rules, opt_in, services, [later], now) for _ in range(2)]
    # WHEN both act
    reports = [execute_plan(engine, p, opt_in, services, now, run_id=f"run-{i}") for i, p in enumerate(plans)]
    # THEN one recorded the change and told the customer; the other's record_reschedule ended its rule
    assert [len(r.sms) for r in reports] == [1, 0]
    assert reports[1].actions[("rescheduled_tell_customer", "record_reschedule", "skipped")] == 1
    assert len(sms.sent) == 1


def test_a_second_reschedule_reopens_the_new_time_flag_and_tells_the_customer_again(
    engine: RuleEngine, opt_in: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    rules = default_rules_and(engine, opt_in, RESCHEDULED, tmp_path)
    b = booking(start="2026-11-28 14:00")
    services.db_repo.create(record_for(b, confirm_sms=True))
    run_rules(
        engine, rules, opt_in, services, [moved(b, "2026-11-28 16:00")], kst("2026-11-26 18:40"), run_id="a"
    )
    run_rules(
        engine, rules, opt_in, services, [moved(b, "2026-11-28 16:00")], kst("2026-11-26 19:00"), run_id="b"
    )
    run_rules(
        engine, rules, opt_in, services, [moved(b, "2026-11-29 10:00")], kst("2026-11-26 19:20"), run_id="c"
    )
    texts = [m.content for m in sms.sent]
    assert len(texts) == 2 and "11월 28일 16:00으로" in texts[0] and "11월 29일 10:00으로" in texts[1]
    row = services.db_repo.get((b.booking_num, b.phone))
    assert row is not None and row.extra[RESCHEDULED_FROM] == "2026-11-28 16:00:00"


# --- a request noted before it is confirmed -----------------------------------------------------------------------


def test_a_request_noted_for_the_owner_still_gets_its_confirmation_at_once_when_confirmed(
    engine: RuleEngine,
    opt_in: AppConfig,
    services: ActionServicesBundle,
    sms: RecordingSms,
    slack: RecordingChannel,
    tmp_path: Path,
) -> None:
    # GIVEN the opt-in reminder about unconfirmed requests, and a request for next week made at 15:00
    rules = default_rules_and(engine, opt_in, UNCONFIRMED_TO_SLACK, tmp_path)
    asked = booking(status="RC02", start="2026-12-03 14:00", regDateTime="2026-11-26T15:00:00+09:00")
    key = (asked.booking_num, asked.phone)
    # WHEN it waits three hours: the owner is told once, and its row is only a note holding that flag
    for at in ("2026-11-26 18:00", "2026-11-26 18:20", "2026-11-26 18:40"):
        run_rules(engine, rules, opt_in, services, [asked], kst(at), run_id=at)
    assert slack.messages == [f"확정 대기 3시간: {asked.booking_num}"]
    note = services.db_repo.get(key)
    assert note is not None and note.request_note and note.extra[NOTED_AS] == "RC02"
    # WHEN the store confirms it
    confirmed = dataclasses.replace(asked, status="RC03")
    report = run_rules(engine, rules, opt_in, services, [confirmed], kst("2026-11-26 19:00"), run_id="c")
    # THEN the confirmation goes out at once (not two hours before the booking), and the row is the booking's
    assert [s.template for s in report.sms] == ["confirmation"]
    row = services.db_repo.get(key)
    assert row is not None and not row.request_note and row.confirm_sms and row.flag("unconfirmed_notified")
    assert NOTED_AS not in row.extra
