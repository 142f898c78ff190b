"""Quiet hours and advertising (issue 13 item 4): what an advertising text must say, no advertising from
21:00 until 08:00 (the rule waits, and the plan says so), quiet hours for any rule, and the opt-out list."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from types import MappingProxyType

import pytest

from naver_sms.config.loader import load_config
from naver_sms.config.models import AppConfig, SmsTemplate
from naver_sms.config.opt_out import FileOptOut
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.flags.state import FlagAttrs, read_flag
from naver_sms.rules.context import ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule
from tests.conftest import CONFIG_DIR
from tests.rules.test_changes import default_rules_and
from tests.world import (
    RecordingChannel,
    RecordingSms,
    booking,
    compile_rules,
    kst,
    plan_for,
    run_rules,
)

AD_TEXT = "(광고)예시스튜디오\n연말 이벤트: 가족사진 촬영 20% 할인\n무료수신거부 080-000-0000\n"

AD_RULE = """\
  - name: year_end_ad
    conditions:
      - type: booking_status
        params: {status: RC08}
      - type: flag_not_set
        params: {flag: ad_sms}
    actions:
      - type: create_db_record
      - type: send_sms
        params: {template: year_end}
      - type: update_flag
        params: {flag: ad_sms}
"""


# --- what an advertising text must say -----------------------------------------------------------------------------


def config_with_template(tmp_path: Path, text: str, content_type: str = "AD") -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    indented = "".join(f"      {line}\n" for line in text.splitlines())
    with (target / "templates.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  year_end:\n    type: LMS\n    contentType: {content_type}\n    text: |\n{indented}")
    return target


def load_errors(directory: Path) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as refused:
        load_config(directory)
    return refused.value.errors


def test_a_lawful_advertising_text_loads(tmp_path: Path) -> None:
    config = load_config(config_with_template(tmp_path, AD_TEXT))
    assert config.sms_templates["year_end"].content_type == "AD"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "연말 이벤트\n무료수신거부 080-000-0000",
            'must start with "(광고)" and the sender\'s name: begin it with "(광고)예시스튜디오"',
        ),
        ("[이벤트] (광고)예시스튜디오\n무료수신거부 080-000-0000", 'must start with "(광고)"'),
        (
            "(광고)\n예시스튜디오 연말 이벤트\n무료수신거부 080-000-0000",
            'name its sender right after "(광고)"',
        ),
        ("(광고)예시스튜디오\n연말 이벤트", 'end it with a line like "무료수신거부 080-000-0000"'),
        ("(광고)예시스튜디오\n수신거부 02-000-0000", "free opt-out line with an 080 number"),
    ],
)
def test_an_unlawful_advertising_text_is_a_configuration_error_with_the_fix(
    tmp_path: Path, text: str, says: str
) -> None:
    directory = config_with_template(tmp_path, text)
    errors = load_errors(directory)
    assert [e.field for e in errors] == ["sms.year_end.text"]
    (error,) = errors
    assert says in error.message and error.file == str(directory / "templates.yaml")
    lines = (directory / "templates.yaml").read_text(encoding="utf-8").splitlines()
    assert error.line is not None and lines[error.line - 1].strip() == "text: |"


def test_the_same_text_as_ordinary_content_is_not_checked(tmp_path: Path) -> None:
    assert load_config(config_with_template(tmp_path, "연말 이벤트", content_type="COMM"))


# --- no advertising from 21:00 until 08:00 ----------------------------------------------------------------------


@pytest.fixture
def advertising(config: AppConfig) -> AppConfig:
    year_end = SmsTemplate(type="LMS", content_type="AD", text=AD_TEXT, label="광고")
    return dataclasses.replace(
        config, sms_templates=MappingProxyType({**config.sms_templates, "year_end": year_end})
    )


@pytest.fixture
def ad_rules(engine: RuleEngine, advertising: AppConfig, tmp_path: Path) -> tuple[CompiledRule, ...]:
    return compile_rules(engine, advertising, AD_RULE, tmp_path)


@pytest.mark.parametrize(
    ("now", "sends", "until"),
    [
        ("2026-11-26 20:59", True, None),
        ("2026-11-26 21:00", False, "2026-11-27 08:00"),
        ("2026-11-27 00:00", False, "2026-11-27 08:00"),
        ("2026-11-27 07:59", False, "2026-11-27 08:00"),
        ("2026-11-27 08:00", True, None),
    ],
)
def test_an_advertising_rule_waits_from_2100_until_0800_and_does_nothing_meanwhile(
    engine: RuleEngine,
    advertising: AppConfig,
    ad_rules: tuple[CompiledRule, ...],
    services: ActionServicesBundle,
    sms: RecordingSms,
    now: str,
    sends: bool,
    until: str | None,
) -> None:
    b = booking(status="RC08", start="2026-11-26 14:00")
    report = run_rules(engine, ad_rules, advertising, services, [b], kst(now))
    assert bool(sms.sent) is sends
    row = services.db_repo.get((b.booking_num, b.phone))
    if sends:
        assert row is not None and row.flag("ad_sms") and report.held == []
        return
    # held: no row written, nothing claimed - the first run from 08:00 decides again
    assert row is None and report.sms == []
    assert [h.to_json() for h in report.held] == [
        {
            "rule": "year_end_ad",
            "booking_num": b.booking_num,
            "until": until,
            "why": "advertising: no sends 21:00-08:00 (정보통신망법 §50)",
        }
    ]
    assert report.counts()["held"] == 1


def test_the_plan_says_a_match_is_held_and_until_when(
    engine: RuleEngine,
    advertising: AppConfig,
    ad_rules: tuple[CompiledRule, ...],
    services: ActionServicesBundle,
) -> None:
    b = booking(status="RC08", start="2026-11-26 14:00")
    plan = plan_for(engine, ad_rules, advertising, services, [b], kst("2026-11-26 22:10"))
    assert plan.evaluations[0][0].explain()["held"]["until"] == "2026-11-27 08:00"


def test_an_advertising_digest_waits_too(
    engine: RuleEngine,
    advertising: AppConfig,
    services: ActionServicesBundle,
    slack: RecordingChannel,
    tmp_path: Path,
) -> None:
    # a store-specific role mapped to an advertising template makes its rule quiet; so does any rule's own
    # quiet_hours - here a digest to the owner that must not wake anyone
    digest = """\
  - name: night_owl_digest
    mode: digest
    quiet_hours: {between: ["22:00", "09:00"]}
    conditions: [{type: booking_status, params: {status: RC03}}]
    actions:
      - type: send_slack
        params: {message: "{{ count }} bookings"}
"""
    rules = compile_rules(engine, advertising, digest, tmp_path)
    b = booking()
    held = run_rules(engine, rules, advertising, services, [b], kst("2026-11-26 22:00"))
    assert slack.messages == [] and [h.to_json()["until"] for h in held.held] == ["2026-11-27 09:00"]
    run_rules(engine, rules, advertising, services, [b], kst("2026-11-27 09:00"))
    assert slack.messages == ["1 bookings"]


def test_quiet_hours_on_any_rule_hold_it_at_the_boundaries(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    slack: RecordingChannel,
    tmp_path: Path,
) -> None:
    rule = """\
  - name: quiet_new_booking_to_slack
    quiet_hours: {between: ["21:00", "08:00"]}
    conditions: [booking_not_in_db]
    actions:
      - type: send_slack
        params: {message: "new {{ booking.booking_num }}"}
      - type: update_flag
        params: {flag: slack_new}
"""
    rules = compile_rules(engine, config, rule, tmp_path)
    b = booking(start="2026-11-28 14:00")
    for at in ("2026-11-26 21:00", "2026-11-27 07:59"):
        assert run_rules(engine, rules, config, services, [b], kst(at)).held
    assert slack.messages == []
    run_rules(engine, rules, config, services, [b], kst("2026-11-27 08:00"))
    assert slack.messages == [f"new {b.booking_num}"]


def test_quiet_hours_that_leave_no_minute_to_act_are_refused(
    engine: RuleEngine, advertising: AppConfig, tmp_path: Path
) -> None:
    rule = AD_RULE.replace(
        "    conditions:", '    quiet_hours: {between: ["08:00", "21:00"]}\n    conditions:', 1
    )
    with pytest.raises(ConfigError) as refused:
        compile_rules(engine, advertising, rule, tmp_path)
    assert "cover the whole day: the rule could never act" in refused.value.render()
    assert "quiet_hours" in refused.value.render()


# --- the opt-out list ----------------------------------------------------------------------------------------------


def opted_out(services: ActionServicesBundle, tmp_path: Path, *numbers: str) -> ActionServicesBundle:
    path = tmp_path / "opt-out.txt"
    path.write_text("# refused advertising\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    return dataclasses.replace(services, opt_out=FileOptOut(path))


def test_an_advertising_sms_to_a_number_that_refused_is_suppressed_and_never_retried(
    engine: RuleEngine,
    advertising: AppConfig,
    ad_rules: tuple[CompiledRule, ...],
    services: ActionServicesBundle,
    sms: RecordingSms,
    tmp_path: Path,
) -> None:
    # GIVEN the customer's number on the opt-out list, written the way people write it
    b = booking(status="RC08", start="2026-11-26 14:00", phone="01012345678")
    with_list = opted_out(services, tmp_path, "+82 10-1234-5678")
    # WHEN the advertising rule runs, twice
    first = run_rules(engine, ad_rules, advertising, with_list, [b], kst("2026-11-26 10:00"))
    second = run_rules(engine, ad_rules, advertising, with_list, [b], kst("2026-11-26 10:20"))
    # THEN nothing is sent; the first run reports it suppressed and closes the flag, the second has nothing to do
    assert sms.sent == []
    assert [s.status for s in first.sms] == ["suppressed"] and first.counts()["sms_suppressed"] == 1
    assert first.errors == [] and first.summary == ""
    assert second.sms == [] and second.rules_matched["year_end_ad"] == 0
    state = read_flag(services.db_repo.get((b.booking_num, b.phone)), "ad_sms", kst("2026-11-26 10:20"))
    assert state.status == "done" and state.suppressed == "the number refused advertising (opt-out list)"
    assert state.request_id is None and FlagAttrs.of("ad_sms").suppressed == "ad_sms_suppressed"


def test_the_opt_out_list_does_not_stop_ordinary_messages(
    engine: RuleEngine, config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, tmp_path: Path
) -> None:
    rules = default_rules_and(engine, config, "", tmp_path)
    b = booking(start="2026-11-27 14:00", phone="01012345678")
    run_rules(
        engine, rules, config, opted_out(services, tmp_path, "010-1234-5678"), [b], kst("2026-11-26 18:40")
    )
    assert [m.content_type for m in sms.sent] == ["COMM"]


def test_an_unreadable_opt_out_list_sends_no_advertising_and_says_why(
    engine: RuleEngine,
    advertising: AppConfig,
    ad_rules: tuple[CompiledRule, ...],
    services: ActionServicesBundle,
    sms: RecordingSms,
    tmp_path: Path,
) -> None:
    with_list = opted_out(services, tmp_path, "01012345678", "not a number")
    b = booking(status="RC08", start="2026-11-26 14:00")
    report = run_rules(engine, ad_rules, advertising, with_list, [b], kst("2026-11-26 10:00"))
    assert sms.sent == [] and [s.status for s in report.sms] == ["failed"]
    assert "opt-out.txt:3" in report.errors[0].message


def test_a_bad_line_of_the_opt_out_file_is_refused_at_load_with_its_line(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    (directory / "opt-out.txt").write_text("010-1234-5678\n\n1588-0000\n", encoding="utf-8")
    (error,) = load_errors(directory)
    assert (error.file, error.line) == (str(directory / "opt-out.txt"), 3)
    assert "1588" not in error.render()  # a phone number is personal data: the line says where


def test_the_opt_out_file_is_read_again_by_every_run(tmp_path: Path) -> None:
    path = tmp_path / "opt-out.txt"
    path.write_text("010-1234-5678\n", encoding="utf-8")
    source = FileOptOut(path)
    assert source.numbers() == {"01012345678"}
    path.write_text("010-1234-5678\n010 2222 3333\n", encoding="utf-8")
    assert source.numbers() == {"01012345678", "01022223333"}
