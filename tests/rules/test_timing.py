"""Relative time (issue 13 item 1): time since a booking started, ended or was made, its day relative to
today, and the time of day as a window - frozen clocks across midnight, a missed 09:00 run, the first run
after a deploy, and what `plan --explain` shows."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from naver_sms.config.models import AppConfig, SmsTemplate
from naver_sms.domain import Booking
from naver_sms.errors import ConfigError
from naver_sms.rules.conditions import CONDITIONS
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.facts import Facts
from tests.world import RecordingSms, booking, compile_rules, kst, naver_booking, plan_for, run_rules

BY_NAME = {c.name: c for c in CONDITIONS}


def holds(name: str, params: dict[str, Any], b: Booking, now: str) -> bool:
    ctype = BY_NAME[name]
    return ctype.check(Facts(b, None, kst(now), None, ()), ctype.params.model_validate(params))


def seen(name: str, params: dict[str, Any], b: Booking, now: str) -> dict[str, Any]:
    ctype = BY_NAME[name]
    return dict(ctype.observe(Facts(b, None, kst(now), None, ()), ctype.params.model_validate(params)))


def shoot(start: str = "2026-11-25 19:00", **kwargs: Any) -> Booking:
    """A completed 50-minute shoot (the world's bookings end 50 minutes after they start)."""
    return booking(status="RC08", start=start, **kwargs)


# --- the Booking carries the times -----------------------------------------------------------------------------


def test_a_booking_knows_its_end_and_when_it_was_made_in_korean_time() -> None:
    b = booking(start="2026-11-26 20:00", regDateTime="2026-11-20T11:05:42+09:00")
    assert b.end_at == kst("2026-11-26 20:50")
    assert b.registered_at == kst("2026-11-20 11:05")


@pytest.mark.parametrize("value", [None, "", "not a time", 17, "2026-13-40T00:00:00Z"])
def test_a_missing_or_unreadable_end_is_none_and_the_booking_is_kept(value: Any) -> None:
    raw = naver_booking(regDateTime=value)
    raw["snapshotJson"]["endDateTime"] = value
    b = Booking.from_naver(raw)
    assert (b.end_at, b.registered_at) == (None, None)


# --- time since --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-26 05:49", False),  # 9 h 59 after the end: not yet
        ("2026-11-26 05:50", True),  # exactly 10 h: the window's start is included
        ("2026-11-26 09:20", True),
        ("2026-11-27 01:49", True),
        ("2026-11-27 01:50", False),  # exactly 30 h: the window's end is not
        ("2026-11-27 09:20", False),  # the first run after a two-day deploy: too old to thank
    ],
)
def test_time_since_end_is_a_window_with_an_upper_bound(now: str, expected: bool) -> None:
    # GIVEN a shoot that ended at 2026-11-25 19:50 and "between 10 and 30 hours after its end"
    params = {"at_least": 10, "at_most": 30}
    assert holds("time_since_end", params, shoot(), now) is expected


def test_time_since_counts_days_as_24_hours() -> None:
    b = shoot()
    assert holds("time_since_start", {"at_least": 1, "at_most": 2, "unit": "days"}, b, "2026-11-26 19:00")
    assert not holds("time_since_start", {"at_least": 1, "unit": "days"}, b, "2026-11-26 18:59")


def test_time_since_start_never_holds_before_the_start() -> None:
    assert not holds("time_since_start", {}, booking(start="2026-11-26 20:00"), "2026-11-26 19:59")
    assert holds("time_since_start", {}, booking(start="2026-11-26 20:00"), "2026-11-26 20:00")


def test_time_since_booked_measures_from_the_registration() -> None:
    b = booking(start="2026-12-24 14:00", regDateTime="2026-11-26T09:00:00+09:00")
    assert not holds("time_since_booked", {"at_least": 3}, b, "2026-11-26 11:59")
    assert holds("time_since_booked", {"at_least": 3}, b, "2026-11-26 12:00")
    assert seen("time_since_booked", {"at_least": 3}, b, "2026-11-26 12:30") == {
        "registered_at": "2026-11-26 09:00",
        "now": "2026-11-26 12:30",
        "hours_since": 3.5,
    }


def test_a_booking_without_an_end_never_matches_and_says_so() -> None:
    raw = naver_booking(status="RC08", start="2026-11-25 19:00")
    del raw["snapshotJson"]["endDateTime"]
    b = Booking.from_naver(raw)
    assert not holds("time_since_end", {}, b, "2026-11-26 09:00")
    assert seen("time_since_end", {}, b, "2026-11-26 09:00")["end"] is None


# --- the booking's day, across midnight ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-11-26 23:59", "tomorrow"),
        ("2026-11-27 00:00", "today"),  # one minute later, across midnight
        ("2026-11-28 00:00", "yesterday"),
        ("2026-11-24 12:00", 3),
        ("2026-11-30 12:00", -3),
    ],
)
def test_booking_day_counts_korean_calendar_days(now: str, day: Any) -> None:
    # GIVEN a booking at 2026-11-27 00:30 Korean time (2026-11-26 15:30 UTC: the UTC date is the day before)
    b = booking(start="2026-11-27 00:30")
    assert holds("booking_day", {"day": day}, b, now)
    others = [d for d in ("yesterday", "today", "tomorrow") if d != day]
    assert not holds("booking_day", {"day": others}, b, now)


def test_booking_day_shows_both_days_and_the_difference() -> None:
    b = booking(start="2026-11-27 00:30")
    assert seen("booking_day", {"day": "today"}, b, "2026-11-26 23:59") == {
        "reserve_day": "2026-11-27",
        "today": "2026-11-26",
        "day": 1,
    }


# --- the time of day --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("between", "now", "expected"),
    [
        (["09:00", "10:00"], "2026-11-26 08:59", False),
        (["09:00", "10:00"], "2026-11-26 09:00", True),
        (["09:00", "10:00"], "2026-11-26 09:59", True),
        (["09:00", "10:00"], "2026-11-26 10:00", False),
        (["21:00", "08:00"], "2026-11-26 20:59", False),
        (["21:00", "08:00"], "2026-11-26 21:00", True),
        (["21:00", "08:00"], "2026-11-27 00:00", True),
        (["21:00", "08:00"], "2026-11-27 07:59", True),
        (["21:00", "08:00"], "2026-11-27 08:00", False),
    ],
)
def test_time_of_day_is_half_open_and_may_cross_midnight(
    between: list[str], now: str, expected: bool
) -> None:
    assert holds("time_of_day", {"between": between}, booking(), now) is expected


def test_time_of_day_shows_the_time_and_the_window() -> None:
    assert seen("time_of_day", {"between": ["09:00", "10:00"]}, booking(), "2026-11-26 18:40") == {
        "time": "18:40",
        "window": "09:00-10:00",
    }


# --- bounds and shapes, at load ----------------------------------------------------------------------------------


def refused(engine: RuleEngine, config: AppConfig, tmp_path: Path, condition: str) -> str:
    with pytest.raises(ConfigError) as error:
        compile_rules(
            engine,
            config,
            f"""\
  - name: r
    conditions:
      - {condition}
    actions:
      - type: log_event
""",
            tmp_path,
        )
    return error.value.render()


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        ("{type: time_since_end, params: {at_least: 8761}}", "at most 8760 hours"),
        ("{type: time_since_end, params: {at_most: 366, unit: days}}", "at most 8760 hours (365 days)"),
        ("{type: time_since_end, params: {at_least: 5, at_most: 5}}", "at_most must be more than at_least"),
        ("{type: time_since_end, params: {at_least: -1}}", "greater than or equal to 0"),
        ("{type: time_since_end, params: {at_most: .inf}}", "finite number"),
        ("{type: time_since_start, params: {at_least: true}}", "expected a number, got true"),
        ("{type: time_since_booked, params: {unit: weeks}}", "'hours' or 'days'"),
        ("{type: booking_day, params: {day: 367}}", "from -366 to 366"),
        ("{type: booking_day, params: {day: next week}}", "today, tomorrow, yesterday"),
        ("{type: booking_day, params: {day: []}}", "non-empty list"),
        ("{type: time_of_day, params: {between: [09:00, 10:00]}}", 'write the time in quotes, "10:00"'),
        ("{type: time_of_day, params: {between: ['9am', '10:00']}}", 'expected a time "HH:MM"'),
        ("{type: time_of_day, params: {between: ['09:00', '09:00']}}", "two different times"),
        ("{type: time_of_day, params: {between: ['09:00']}}", "between takes two times"),
    ],
)
def test_a_parameter_out_of_bounds_is_refused_at_load_with_its_rule(
    engine: RuleEngine, config: AppConfig, tmp_path: Path, condition: str, says: str
) -> None:
    text = refused(engine, config, tmp_path, condition)
    assert says in text and "rule 'r'" in text and "conditions[0].params" in text


# --- whole rules: a missed 09:00 run, and the first run after a deploy --------------------------------------------

THANKS_RULE = """\
  - name: thank_you_morning_after
    conditions:
      - type: booking_status
        params: {status: RC08}
      - type: booking_day
        params: {day: yesterday}
      - type: time_of_day
        params: {between: ["09:00", "12:00"]}
      - type: time_since_end
        params: {at_most: 24}
      - type: flag_not_set
        params: {flag: thanks_sms}
    actions:
      - type: send_sms
        params: {template: thanks}
      - type: update_flag
        params: {flag: thanks_sms}
"""


@pytest.fixture
def thanking(config: AppConfig) -> AppConfig:
    thanks = SmsTemplate(type="LMS", text="[예시스튜디오] 어제 촬영 감사합니다.", label="감사")
    return dataclasses.replace(
        config, sms_templates=MappingProxyType({**config.sms_templates, "thanks": thanks})
    )


def test_a_missed_0900_run_still_thanks_at_0920_and_only_once(
    engine: RuleEngine, thanking: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN yesterday evening's shoot and the morning-after rule; the 09:00 run never happened
    rules = compile_rules(engine, thanking, THANKS_RULE, tmp_path)
    b = shoot("2026-11-25 19:00")
    # WHEN the runs of 08:40, 09:20, 09:40 and 11:40 come
    sent = [
        len(run_rules(engine, rules, thanking, services, [b], kst(at), run_id=at).sms)
        for at in ("2026-11-26 08:40", "2026-11-26 09:20", "2026-11-26 09:40", "2026-11-26 11:40")
    ]
    # THEN the first run inside the window thanks, and no later one again
    assert sent == [0, 1, 0, 0]
    assert [m.content for m in sms.sent] == ["[예시스튜디오] 어제 촬영 감사합니다."]


def test_the_first_run_after_a_deploy_does_not_thank_a_two_day_old_shoot(
    engine: RuleEngine, thanking: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    # GIVEN a shoot of the day before yesterday and the job deployed this morning (nothing ran since)
    rules = compile_rules(engine, thanking, THANKS_RULE, tmp_path)
    old, recent = shoot("2026-11-24 19:00"), shoot("2026-11-25 19:00", phone="01000000002")
    # WHEN the first run comes at 09:20
    report = run_rules(engine, rules, thanking, services, [old, recent], kst("2026-11-26 09:20"))
    # THEN only yesterday's shoot is thanked ("어제" would be wrong for the other)
    assert [s.booking_num for s in report.sms] == [recent.booking_num]


def test_plan_explain_shows_the_values_a_relative_time_condition_saw(
    engine: RuleEngine, thanking: AppConfig, services: ActionServicesBundle, tmp_path: Path
) -> None:
    rules = compile_rules(engine, thanking, THANKS_RULE, tmp_path)
    plan = plan_for(engine, rules, thanking, services, [shoot("2026-11-24 19:00")], kst("2026-11-26 09:20"))
    (evaluation,) = plan.evaluations[0]
    assert evaluation.explain() == {
        "rule": "thank_you_morning_after",
        "matched": False,
        "failed": "conditions[1]",
        "condition": {"type": "booking_day", "params": {"day": "yesterday"}},
        "seen": {"reserve_day": "2026-11-24", "today": "2026-11-26", "day": -2},
    }


def test_the_documented_bounds_of_the_new_conditions_are_the_bounds_of_the_code() -> None:
    from naver_sms.rules.condition_type import MAX_DAYS, MAX_HOURS
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "rules" / "conditions.md").read_text(encoding="utf-8")
    assert f"each at most `{MAX_HOURS}` hours (`{MAX_HOURS // 24}` with `unit: days`)" in doc
    assert f"an integer `-{MAX_DAYS}`–`{MAX_DAYS}`" in doc
    assert f"| `request_unconfirmed.hours` | a number, `0 < hours <= {MAX_HOURS}` |" in doc
