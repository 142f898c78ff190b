"""The engine: combinators, side-effect-free plans with reasons, execution order, failure isolation,
digest rules, registries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.database.sqlite_repository import SqliteRepository
from naver_sms.domain import Booking
from naver_sms.domain.clock import KST
from naver_sms.errors import DeliveryError
from naver_sms.ports import ChannelReceipt
from naver_sms.rules.conditions import ConditionType, NoParams
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.report import RunReport
from tests.world import (
    RecordingChannel,
    RecordingSms,
    booking,
    compile_rules,
    execute_plan,
    kst,
    plan_for,
    record_for,
    run_rules,
    sens_down,
)

NOW = kst("2026-11-26 18:40")

COMBINATORS = """\
  - name: nested
    conditions:
      - type: booking_status
        params: {status: RC03}
      - any:
          - type: store_id_matches
            params: {store_ids: ["1000001"]}
          - all:
              - type: store_id_matches
                params: {store_ids: ["1000002"]}
              - not:
                  type: has_option_keyword
    actions:
      - type: log_event
        params: {message: "matched"}
"""


def test_a_list_means_all_and_any_all_not_nest(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    rules = compile_rules(engine, config, COMBINATORS, tmp_path)
    store1 = booking(store_id=1000001)
    store2_plain = booking(store_id=1000002)
    store2_option = booking(store_id=1000002, options=[("원본 파일", 1)])
    store3 = booking(store_id=1000003)
    completed = booking(store_id=1000001, status="RC08")
    plan = plan_for(
        engine, rules, config, services, [store1, store2_plain, store2_option, store3, completed], NOW
    )
    assert [ev[0].matched for ev in plan.evaluations] == [True, True, False, False, False]


def test_the_plan_names_the_first_failed_condition_and_what_it_saw(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    rules = compile_rules(engine, config, COMBINATORS, tmp_path)
    completed, confirmed = booking(status="RC08"), booking(store_id=1000003)
    plan = plan_for(engine, rules, config, services, [completed, confirmed], NOW)
    # (decided confirmed first: naver_sms.rules.order) - each booking's evaluation, by booking
    evaluation_of = {
        per_booking[0].facts.booking.booking_num: per_booking[0] for per_booking in plan.evaluations
    }
    first = evaluation_of[completed.booking_num].explain()
    assert first["failed"] == "conditions[0]"
    assert first["condition"] == {"type": "booking_status", "params": {"status": "RC03"}}
    assert first["seen"] == {"status": "RC08"}
    second = evaluation_of[confirmed.booking_num].explain()
    assert second["failed"] == "conditions[1]"
    assert "any" in second["condition"]
    assert second["seen"][0] == {"store_id": "1000003"}


def test_evaluation_has_no_side_effects(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    sms: RecordingSms,
    repo: SqliteRepository,
) -> None:
    rules = engine.compile(config)
    b = booking(start="2026-11-26 20:00")
    plan = plan_for(engine, rules, config, services, [b], NOW)
    assert [e.rule.name for e in plan.matches()] == ["new_booking_confirmation", "guide_two_hours_before"]
    assert sms.sent == [] and repo.records() == []


def test_actions_run_in_order_and_a_failure_stops_the_rules_later_actions_only(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    sms: RecordingSms,
    repo: SqliteRepository,
) -> None:
    # GIVEN a new booking inside the two-hour window, and SENS failing the first send only
    rules = engine.compile(config)
    first = booking(start="2026-11-26 20:00", phone="01000000001")
    second = booking(start="2026-11-27 20:00", phone="01000000002")
    sms.fail_next(sens_down())
    # WHEN the default rules run
    report = run_rules(engine, rules, config, services, [first, second], NOW)
    # THEN the failed confirmation did not set its flag, the guide rule still ran, the next booking went on
    row = repo.get((first.booking_num, first.phone))
    assert row is not None and row.confirm_sms is False and row.remind_sms is True
    assert row.extra["confirm_sms_attempts"] == 1
    assert [m.to for m in sms.sent] == ["01000000001", "01000000002"]
    assert report.actions[("new_booking_confirmation", "send_sms", "failed")] == 1
    # the send committed the flag, so the update_flag after it had nothing left to do (idempotent)
    assert report.actions[("new_booking_confirmation", "update_flag", "noop")] == 1  # only the second booking
    [error] = report.errors
    assert error.kind == "action" and error.rule == "new_booking_confirmation" and error.action == "send_sms"
    assert error.booking_num == first.booking_num
    assert [s.status for s in report.sms] == ["failed", "sent", "sent"]


def test_an_unexpected_executor_exception_is_wrapped_and_logged(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    telegram: RecordingChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = compile_rules(
        engine,
        config,
        """\
  - name: ping
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_telegram
        params: {message: "new booking at {{ store.alias }}"}
      - type: log_event
        params: {message: "after"}
""",
        tmp_path,
    )
    telegram.failures.append(RuntimeError("boom"))
    report = run_rules(engine, rules, config, services, [booking()], NOW)
    assert report.actions[("ping", "send_telegram", "failed")] == 1
    assert ("ping", "log_event", "ok") not in report.actions
    assert report.errors[0].message == "boom"
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "naver_sms.engine"]
    assert logged[0]["event"] == "action_failed" and logged[0]["skipped_actions"] == ["log_event"]


def test_a_send_already_done_elsewhere_ends_the_rule_quietly(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    repo: SqliteRepository,
    sms: RecordingSms,
) -> None:
    # GIVEN the evaluation saw confirm_sms open, but another run set it meanwhile
    rules = engine.compile(config)
    b = booking(start="2026-11-26 20:00")
    plan = plan_for(engine, rules, config, services, [b], NOW)
    repo.create(record_for(b, confirm_sms=True, remind_sms=True))
    report = execute_plan(engine, plan, config, services, NOW)
    # THEN nothing was sent and no error reported; the actions after the send did not run
    assert sms.sent == []
    assert report.errors == []
    assert report.actions[("new_booking_confirmation", "send_sms", "skipped")] == 1
    assert ("new_booking_confirmation", "update_flag", "ok") not in report.actions


DIGEST = """\
  - name: retouch_digest
    mode: digest
    conditions:
      - type: booking_in_db
      - type: date_range
        params: {start: "2026-11-01", end: "2026-11-30"}
      - type: has_multiple_options
        params: {keywords: ["보정"], min_count: 2}
      - type: flag_not_set
        params: {flag: retouch_listed}
    actions:
      - type: send_slack
        params:
          message: |
            {{ count }} bookings chose retouching twice or more:
            {% for b in bookings %}- {{ b.reserve_at.strftime('%m-%d %H:%M') }} {{ b.name }} ({{ b.phone_last4 }})
            {% endfor %}
      - type: update_flag
        params: {flag: retouch_listed}
"""


def test_a_digest_rule_sends_one_message_listing_every_match_once(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
    repo: SqliteRepository,
) -> None:
    # GIVEN three November bookings in the database, two of which chose retouching twice
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    twice = booking(
        start="2026-11-27 10:00", name="김철수", phone="01000001111", options=[("전문가 보정", 2)]
    )
    split = booking(
        start="2026-11-28 11:00", name="이영희", phone="01000002222", options=[("보정 A", 1), ("보정 B", 1)]
    )
    once = booking(start="2026-11-28 12:00", name="박민수", phone="01000003333", options=[("보정", 1)])
    december = booking(start="2026-12-01 12:00", phone="01000004444", options=[("보정", 3)])
    for b in (twice, split, once, december):
        repo.create(record_for(b))
    # WHEN the digest rule runs
    report = run_rules(engine, rules, config, services, [twice, split, once, december], NOW)
    # THEN exactly one Slack message lists exactly the two matches
    assert slack.messages == [
        "2 bookings chose retouching twice or more:\n- 11-27 10:00 김철수 (1111)\n"
        "- 11-28 11:00 이영희 (2222)\n\n"
    ]
    assert {f.booking_num for f in report.flags} == {twice.booking_num, split.booking_num}
    # AND a second run does not list them again
    run_rules(engine, rules, config, services, [twice, split, once, december], NOW, run_id="run-2")
    assert len(slack.messages) == 1


def retouched(n: int) -> Booking:
    return booking(start=f"2026-11-2{n} 10:00", phone=f"0100000{n:04d}", options=[("전문가 보정", 2)])


def listable(repo: SqliteRepository, *ns: int) -> list[Booking]:
    """Bookings `retouched(n)` the digest lists, each with its row."""
    bookings = [retouched(n) for n in ns]
    for b in bookings:
        repo.create(record_for(b))
    return bookings


def test_overlapping_runs_list_each_booking_in_one_digest_only(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
    repo: SqliteRepository,
) -> None:
    # GIVEN two runs that both evaluated the digest while nothing was listed yet; the second also sees a
    # booking made in between
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    first, second, late = listable(repo, 7, 8, 9)
    plan_a = plan_for(engine, rules, config, services, [first, second], NOW)
    plan_b = plan_for(engine, rules, config, services, [first, second, late], NOW)
    # WHEN run B executes while run A's Slack post is in flight
    post = slack.post_message
    reports: dict[str, RunReport] = {}
    overlapped = False

    def in_flight(text: str) -> ChannelReceipt:
        nonlocal overlapped
        if not overlapped:  # only A's post is interrupted; B's own post goes straight out
            overlapped = True
            reports["b"] = execute_plan(engine, plan_b, config, services, NOW, run_id="run-b")
        return post(text)

    slack.post_message = in_flight  # type: ignore[method-assign]
    report_a = execute_plan(engine, plan_a, config, services, NOW, run_id="run-a")
    # THEN each booking is listed once: A lists its two, B only the one A did not hold
    assert sorted(slack.messages) == sorted(
        [
            "2 bookings chose retouching twice or more:\n- 11-27 10:00 홍길동 (0007)\n"
            "- 11-28 10:00 홍길동 (0008)\n\n",
            "1 bookings chose retouching twice or more:\n- 11-29 10:00 홍길동 (0009)\n\n",
        ]
    )
    assert {f.booking_num for f in report_a.flags} == {first.booking_num, second.booking_num}
    assert {f.booking_num for f in reports["b"].flags} == {late.booking_num}
    assert reports["b"].errors == [] and report_a.errors == []
    # AND every listed booking is flagged, with no claim left behind
    for b in (first, second, late):
        row = repo.get((b.booking_num, b.phone))
        assert row is not None and row.flag("retouch_listed")
        assert not [k for k in row.extra if k.startswith("retouch_listed_claim")]


def test_a_digest_never_flags_a_booking_it_left_out_for_another_run(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
    repo: SqliteRepository,
) -> None:
    # GIVEN booking `held`, whose flag another run has claimed, and booking `free`
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    held, free = listable(repo, 7, 8)
    other = repo.claim(
        (held.booking_num, held.phone),
        "retouch_listed",
        run_id="run-2",
        now=datetime.now(KST),
        lease=timedelta(minutes=10),
    )
    # WHEN this run posts, and meanwhile the other run's post fails and releases `held`
    post = slack.post_message

    def other_run_fails(text: str) -> ChannelReceipt:
        repo.release(other, error="slack 500")
        return post(text)

    slack.post_message = other_run_fails  # type: ignore[method-assign]
    report = run_rules(engine, rules, config, services, [held, free], NOW, run_id="run-1")
    # THEN this run listed and flagged only `free`; `held` stays open for the next run to list
    assert "(0008)" in slack.messages[0] and "(0007)" not in slack.messages[0]
    assert [f.booking_num for f in report.flags] == [free.booking_num]
    assert report.actions[("retouch_digest", "update_flag", "noop")] == 1
    row = repo.get((held.booking_num, held.phone))
    assert row is not None and not row.flag("retouch_listed")


def test_a_failed_digest_post_lists_the_same_bookings_next_run_and_gives_up_at_the_bound(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
    repo: SqliteRepository,
) -> None:
    # GIVEN two listable bookings and a Slack that fails the first post
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    first, second = listable(repo, 7, 8)
    slack.failures.append(DeliveryError("500", channel="slack", status_code=500))
    # WHEN the digest runs: the post fails
    report = run_rules(engine, rules, config, services, [first, second], NOW, run_id="run-1")
    # THEN nothing is flagged, an attempt is counted, and the failure is reported
    assert report.actions[("retouch_digest", "send_slack", "failed")] == 1
    assert ("retouch_digest", "update_flag", "ok") not in report.actions
    row = repo.get((first.booking_num, first.phone))
    assert row is not None and not row.flag("retouch_listed")
    assert row.extra.get("retouch_listed_attempts") == 1
    # AND the next run posts them
    run_rules(engine, rules, config, services, [first, second], NOW, run_id="run-2")
    assert len(slack.messages) == 1 and "(0007)" in slack.messages[0] and "(0008)" in slack.messages[0]
    # AND a post that keeps failing stops at max_attempts (3): failed for good, never posted again
    [third] = listable(repo, 9)
    slack.failures.extend(DeliveryError("500", channel="slack", status_code=500) for _ in range(3))
    for i in range(4):
        run_rules(engine, rules, config, services, [third], NOW, run_id=f"run-fail-{i}")
    row = repo.get((third.booking_num, third.phone))
    assert row is not None and row.extra.get("retouch_listed_failed") is True
    assert len(slack.messages) == 1
    # AND when it is matched again beside a new booking, only the new one is listed and flagged: the
    # update_flag after the post never marks the given-up booking as listed
    [fourth] = listable(repo, 6)
    report = run_rules(engine, rules, config, services, [third, fourth], NOW, run_id="run-after")
    assert "(0006)" in slack.messages[-1] and "(0009)" not in slack.messages[-1]
    assert {f.booking_num for f in report.flags} == {fourth.booking_num}
    row = repo.get((third.booking_num, third.phone))
    assert row is not None and not row.flag("retouch_listed") and row.extra.get("retouch_listed_failed")


def test_a_digest_takes_over_the_claims_of_a_run_that_died_before_posting(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
    repo: SqliteRepository,
) -> None:
    # GIVEN a booking whose flag a crashed run claimed an hour ago (real time: leases are wall-clock)
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    [b] = listable(repo, 7)
    an_hour_ago = datetime.now(KST) - timedelta(hours=1)
    repo.claim(
        (b.booking_num, b.phone),
        "retouch_listed",
        run_id="dead",
        now=an_hour_ago,
        lease=timedelta(minutes=10),
    )
    # WHEN the next run's digest runs THEN its lease has expired: the booking is posted and flagged
    report = run_rules(engine, rules, config, services, [b], NOW, run_id="run-2")
    assert len(slack.messages) == 1 and "(0007)" in slack.messages[0]
    assert [f.booking_num for f in report.flags] == [b.booking_num]


def test_a_digest_to_a_disabled_channel_claims_nothing_and_counts_no_attempt(
    engine: RuleEngine, config: AppConfig, tmp_path: Path, repo: SqliteRepository, sms: RecordingSms
) -> None:
    # GIVEN Telegram off and a digest to Telegram
    telegram_off = RecordingChannel("telegram", enabled=False)
    services = ActionServicesBundle(repo, sms, telegram_off, RecordingChannel("slack"))
    rules = compile_rules(engine, config, DIGEST.replace("send_slack", "send_telegram"), tmp_path)
    [b] = listable(repo, 7)
    # WHEN it runs
    report = run_rules(engine, rules, config, services, [b], NOW)
    # THEN nothing was posted or flagged, and the row carries no claim and no attempt
    assert report.actions[("retouch_digest", "send_telegram", "disabled")] == 1
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and not row.flag("retouch_listed")
    assert not [k for k in row.extra if k.startswith("retouch_listed_")]


def test_a_message_between_an_sms_and_its_flag_is_posted_and_the_sms_stays_exactly_once(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    sms: RecordingSms,
    telegram: RecordingChannel,
) -> None:
    # GIVEN a rule that tells the staff between the confirmation and its flag
    rules = compile_rules(
        engine,
        config,
        """\
  - name: confirm_and_tell
    conditions:
      - type: booking_status
        params: {status: RC03}
      - type: flag_not_set
        params: {flag: confirm_sms}
    actions:
      - type: send_sms
        params: {template: confirmation}
      - type: send_telegram
        params: {message: "confirmed {{ booking.booking_id }}"}
      - type: update_flag
        params: {flag: staff_busy, value: false}
      - type: update_flag
        params: {flag: confirm_sms}
""",
        tmp_path,
    )
    # THEN the SMS is guarded by confirm_sms (past the message and an update_flag to false) and the
    # message, whose flag the SMS sets, is not
    assert [getattr(a.params, "flag", None) for a in rules[0].actions] == [
        "confirm_sms",
        None,
        "staff_busy",
        "confirm_sms",
    ]
    # AND two runs send one SMS and one message
    b = booking()
    run_rules(engine, rules, config, services, [b], NOW, run_id="run-1")
    run_rules(engine, rules, config, services, [b], NOW, run_id="run-2")
    assert len(sms.sent) == 1
    assert telegram.messages == [f"confirmed {b.booking_id}"]


def test_a_digest_with_no_match_sends_nothing(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    slack: RecordingChannel,
) -> None:
    rules = compile_rules(engine, config, DIGEST, tmp_path)
    run_rules(engine, rules, config, services, [booking()], NOW)
    assert slack.messages == []


def test_a_disabled_rule_is_not_evaluated(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    rules = compile_rules(
        engine,
        config,
        """\
  - name: switched_off
    enabled: false
    conditions: [booking_not_in_db]
    actions: [{type: log_event}]
""",
        tmp_path,
    )
    plan = plan_for(engine, rules, config, services, [booking()], NOW)
    assert plan.evaluations == [[]]


def test_a_developer_can_register_a_new_condition(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    engine.register_condition(
        ConditionType(
            "has_coupon",
            NoParams,
            lambda f, p: bool(f.booking.coupons),
            lambda f, p: {"coupons": f.booking.coupons},
            "the booking used a coupon",
        )
    )
    rules = compile_rules(
        engine,
        config,
        """\
  - name: coupon
    conditions: [has_coupon]
    actions: [{type: log_event}]
""",
        tmp_path,
    )
    with_coupon = booking()
    plan = plan_for(engine, rules, config, services, [with_coupon], NOW)
    assert plan.evaluations[0][0].explain()["seen"] == {"coupons": ()}


def test_a_type_cannot_be_registered_twice(engine: RuleEngine) -> None:
    from naver_sms.rules.conditions import CONDITIONS

    with pytest.raises(ValueError, match="registered already"):
        engine.register_condition(CONDITIONS[0])


def test_a_dry_run_shows_an_sms_whose_text_cannot_be_built_as_the_run_would_report_it(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    tmp_path: Path,
    repo: SqliteRepository,
) -> None:
    import dataclasses

    from naver_sms.config.models import SmsTemplate

    # GIVEN a confirmation template that fails with this booking's data
    broken = SmsTemplate(type="SMS", text="{{ booking.name[50] }}님 예약 확인", label="확인")
    cfg = dataclasses.replace(config, sms_templates={**config.sms_templates, "confirmation": broken})
    rules = compile_rules(
        engine,
        cfg,
        """\
  - name: confirm
    conditions:
      - booking_not_in_db
    actions:
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: confirm_sms}
""",
        tmp_path,
    )
    b = booking()
    plan = plan_for(engine, rules, cfg, services, [b], NOW)
    # WHEN it is previewed
    report = execute_plan(engine, plan, cfg, services, NOW, run_id="dry", dry_run=True)
    # THEN the SMS shows as failed, the flag is not shown as set, and nothing was written
    assert [(s.status, s.template) for s in report.sms] == [("failed", "confirmation")]
    assert report.flags == []
    assert repo.get((b.booking_num, b.phone)) is None


def test_the_plan_decides_confirmed_bookings_before_completed_ones_whatever_the_source_order(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    # GIVEN bookings in the live source's order: store 1 confirmed and completed, then store 2's, then a request
    rules = compile_rules(engine, config, COMBINATORS, tmp_path)
    given = [
        booking(store_id=1000001, status="RC03"),
        booking(store_id=1000001, status="RC08"),
        booking(store_id=1000002, status="RC02"),
        booking(store_id=1000002, status="RC03"),
        booking(store_id=1000002, status="RC08"),
    ]
    # WHEN the plan is built
    plan = plan_for(engine, rules, config, services, given, NOW)
    # THEN every confirmed booking is decided first, then every completed one, then the rest - each in the
    # source's order (the legacy job's order: naver_sms.rules.order)
    assert [f.booking for f in plan.facts] == [given[0], given[3], given[1], given[4], given[2]]
    assert [per_booking[0].facts.booking for per_booking in plan.evaluations] == [
        f.booking for f in plan.facts
    ]
