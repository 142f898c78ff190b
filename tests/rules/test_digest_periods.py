"""Digests once per period (issue 13 item 3): `once_per` posts a digest once in each period in Korean time,
across overlapping and missed runs; a failed post is retried within the period and bounded; `when_empty`
posts a text (or nothing) when nobody matched; a digest has its own chat; `by_store` names the stores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.errors import ConfigErrors, DeliveryUnavailable
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule
from tests.world import RecordingChannel, booking, compile_rules, execute_plan, kst, plan_for, run_rules

MORNING = """
- name: morning_digest
  mode: digest
  once_per: "09:00"
  when_empty: "오늘 예약이 없습니다 ({{ now.strftime('%m/%d') }})"
  conditions:
    - type: booking_status
      params: {status: RC03}
    - type: date_range
      params: {start: 2026-11-26, end: 2026-11-27}
  actions:
    - type: send_telegram
      params:
        chat: "-1009990001"
        message: |-
          오늘 예약 {{ count }}건
          {%- for g in by_store %}
          {{ g.store.alias }}: {{ g.bookings | length }}건
          {%- endfor %}
"""


@pytest.fixture
def rules(engine: RuleEngine, config: AppConfig, tmp_path: Path) -> tuple[CompiledRule, ...]:
    return compile_rules(engine, config, MORNING, tmp_path)


def _today() -> list:
    return [
        booking(store_id=1000001, start="2026-11-26 14:00", phone="01000000001"),
        booking(store_id=1000002, start="2026-11-26 15:00", phone="01000000002"),
        booking(store_id=1000002, start="2026-11-26 16:00", phone="01000000003"),
    ]


def test_the_digest_posts_once_in_its_period_with_the_stores_named_and_its_own_chat(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    bookings = _today()
    first = run_rules(engine, rules, config, services, bookings, kst("2026-11-26 09:00"), run_id="r1")
    # a booking made at 09:10 matches at 09:20: the period is posted already, no second digest
    later = [*bookings, booking(store_id=1000003, start="2026-11-26 18:00", phone="01000000004")]
    second = run_rules(engine, rules, config, services, later, kst("2026-11-26 09:20"), run_id="r2")
    assert telegram.messages == ["오늘 예약 3건\n강남점: 1건\n부산점: 2건"]
    assert telegram.chats == ["-1009990001"]
    assert first.rules_matched["morning_digest"] == 3 and second.rules_matched["morning_digest"] == 0
    assert second.notifications == [] and second.errors == []


def test_the_next_period_posts_again_and_a_missed_nine_o_clock_run_posts_at_the_next_run(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    run_rules(engine, rules, config, services, _today(), kst("2026-11-26 09:00"), run_id="r1")
    # 08:40 the next morning is still the period that began at 09:00 yesterday: nothing
    run_rules(engine, rules, config, services, _today(), kst("2026-11-27 08:40"), run_id="r2")
    # the 09:00 and 09:20 runs were missed: 09:40 posts the new period's digest
    run_rules(engine, rules, config, services, _today(), kst("2026-11-27 09:40"), run_id="r3")
    assert len(telegram.messages) == 2


def test_a_run_overlapping_the_post_posts_nothing(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    """Run B starts while run A is posting (inside A's send): the period is claimed, B posts nothing."""
    bookings = _today()
    inner: list = []
    original = telegram.send_message

    def send_and_race(text: str, *, chat_id: str | None = None):
        if not inner:
            inner.append(
                run_rules(engine, rules, config, services, bookings, kst("2026-11-26 09:20"), run_id="b")
            )
        return original(text, chat_id=chat_id)

    telegram.send_message = send_and_race  # type: ignore[method-assign]
    run_rules(engine, rules, config, services, bookings, kst("2026-11-26 09:00"), run_id="a")
    assert len(telegram.messages) == 1
    assert inner[0].notifications == [] and inner[0].errors == []


def test_a_failed_post_is_retried_within_the_period_and_then_bounded(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    down = DeliveryUnavailable("502 after 3 attempts", channel="telegram", status_code=502)
    telegram.failures = [down]
    failed = run_rules(engine, rules, config, services, _today(), kst("2026-11-26 09:00"), run_id="r1")
    retried = run_rules(engine, rules, config, services, _today(), kst("2026-11-26 09:20"), run_id="r2")
    assert [e.kind for e in failed.errors] == ["action"] and retried.errors == []
    assert len(telegram.messages) == 1
    # every post of the next period fails: after max_attempts (3) it is reported, failed for good
    telegram.failures = [down, down, down]
    for i, at in enumerate(("2026-11-27 09:00", "2026-11-27 09:20", "2026-11-27 09:40")):
        run_rules(engine, rules, config, services, _today(), kst(at), run_id=f"f{i}")
    gone = run_rules(engine, rules, config, services, _today(), kst("2026-11-27 10:00"), run_id="f4")
    assert [e.kind for e in gone.errors] == ["flag_failed"]
    assert "morning_digest digest of 2026-11-27T09:00 failed for good" in gone.errors[0].message
    assert len(telegram.messages) == 1


def test_when_nobody_matched_the_when_empty_text_is_posted_once(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    run_rules(engine, rules, config, services, [], kst("2026-11-26 09:00"), run_id="r1")
    run_rules(engine, rules, config, services, [], kst("2026-11-26 09:20"), run_id="r2")
    assert telegram.messages == ["오늘 예약이 없습니다 (11/26)"]


def test_when_empty_skip_posts_nothing(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
    tmp_path: Path,
) -> None:
    rules = compile_rules(
        engine, config, MORNING.replace('when_empty: "오늘', 'when_empty: skip\n  # "'), tmp_path
    )
    report = run_rules(engine, rules, config, services, [], kst("2026-11-26 09:00"))
    assert telegram.messages == [] and report.errors == []


def test_the_plan_shows_the_digest_while_its_period_is_open_and_not_after(
    engine: RuleEngine,
    rules: tuple[CompiledRule, ...],
    config: AppConfig,
    services: ActionServicesBundle,
    telegram: RecordingChannel,
) -> None:
    now = kst("2026-11-26 09:00")
    plan = plan_for(engine, rules, config, services, _today(), now)
    before = execute_plan(engine, plan, config, services, now, dry_run=True)
    run_rules(engine, rules, config, services, _today(), now, run_id="r1")
    after = execute_plan(
        engine, plan_for(engine, rules, config, services, _today(), now), config, services, now, dry_run=True
    )
    assert [n.status for n in before.notifications] == ["planned"]
    assert after.notifications == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("  mode: digest\n", ""), "once_per", "once_per is for digest rules"),
        (('once_per: "09:00"', 'once_per: "9 o\'clock"'), "once_per", "not a period"),
        (('  once_per: "09:00"\n', ""), "when_empty", "when_empty needs once_per"),
        (("- type: send_telegram", "- type: log_event"), "when_empty", "the rule has none"),
        (("오늘 예약이 없습니다", "{{ booking.name }}"), "when_empty", "unknown template variable 'booking'"),
    ],
)
def test_a_misused_period_is_a_configuration_error_with_its_line(
    engine: RuleEngine, config: AppConfig, tmp_path: Path, change: tuple[str, str], field: str, message: str
) -> None:
    text = MORNING.replace(*change)
    if change[1] == "- type: log_event":
        text = text.replace('chat: "-1009990001"\n        ', "")
    with pytest.raises(ConfigErrors) as raised:
        compile_rules(engine, config, text, tmp_path)
    found = [e for e in raised.value.errors if e.field == field]
    assert found and message in found[0].message and found[0].line is not None, raised.value.errors


def test_the_per_run_summary_can_wait_for_something_to_happen(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, telegram: RecordingChannel
) -> None:
    from naver_sms.config.reports import ReportsFile
    from naver_sms.runner import run_once
    from tests.world import runtime

    quiet = replace(config, reports=ReportsFile(summary="when_something_happened"))
    rules = engine.compile(quiet)
    nothing = runtime(engine, rules, quiet, services, kst("2026-11-26 12:00"), [])
    nothing.summary_channel = telegram
    run_once(nothing)
    assert telegram.messages == []  # nothing sent, nothing failed: no "문자 발송 대상 없음"
    new = booking(start="2026-11-27 14:00")
    something = runtime(engine, rules, quiet, services, kst("2026-11-26 12:00"), [new])
    something.summary_channel = telegram
    run_once(something)
    assert telegram.messages == ["010-0000-0001 예약확정 문자 발송 완료"]
    legacy = runtime(engine, engine.compile(config), config, services, kst("2026-11-26 12:20"), [new])
    legacy.summary_channel = telegram
    run_once(legacy)
    assert telegram.messages[-1] == "문자 발송 대상 없음"  # the default: legacy timing, after every run
