"""Rule fixtures can express every condition and expect every action (issue 11, item 8): custom flags on
existing rows, a booking's registration time, option counts, the channels on or off; the SMS texts, the
Telegram and Slack messages and the summary - with a clear reason when one fails, and no raw log lines."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from naver_sms.cli import app
from tests.conftest import CONFIG_DIR

RULES = """
  - name: store_a_option_1_format_aa
    conditions:
      - type: booking_status
        params: {status: RC03}
      - type: store_id_matches
        params: {store_ids: ["1000001"]}
      - type: has_option_keyword
        params: {keywords: [보정]}
      - type: flag_not_set
        params: {flag: aa_sms}
    actions:
      - type: send_sms
        params: {template: format_aa}
      - type: update_flag
        params: {flag: aa_sms, value: true}
  - name: original_files_twice_digest
    mode: digest
    conditions:
      - type: booking_status
        params: {status: RC03}
      - type: date_range
        params: {start: 2026-11-01, end: 2026-11-30, field: registered_at}
      - type: has_multiple_options
        params: {keywords: [원본], min_count: 2}
      - type: flag_not_set
        params: {flag: slack_listed}
    actions:
      - type: send_slack
        params:
          message: "{{ count }}명: {% for b in bookings %}{{ b.booking_id }} {% endfor %}"
      - type: update_flag
        params: {flag: slack_listed, value: true}
  - name: staff_telegram
    conditions:
      - type: store_id_matches
        params: {store_ids: ["1000003"]}
      - type: flag_not_set
        params: {flag: staff_told}
    actions:
      - type: send_telegram
        params: {message: "{{ store.alias }} 새 예약 {{ booking.booking_id }}"}
      - type: update_flag
        params: {flag: staff_told, value: true}
"""
TEMPLATES = {
    "format_aa": {
        "type": "LMS",
        "label": "보정안내",
        "text": "[예시스튜디오 {{ store.alias }}] {{ booking.name }}님, 보정을 선택해 주셔서 감사합니다.\n",
    }
}


def configured(tmp: Path) -> Path:
    config = tmp / "config"
    shutil.copytree(CONFIG_DIR, config)
    rules = config / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + RULES, encoding="utf-8")
    path = config / "templates.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sms"].update(TEMPLATES)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def rules_test(tmp: Path, fixtures: str) -> Result:
    path = tmp / "fixtures.yaml"
    path.write_text(textwrap.dedent(fixtures), encoding="utf-8")
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NAVER_SMS_")}
    return CliRunner().invoke(app, ["rules", "test", str(path), "--config", str(configured(tmp))], env=env)


def test_a_fixture_can_set_custom_flags_on_rows_and_expect_the_sms_text(tmp_path: Path) -> None:
    result = rules_test(
        tmp_path,
        """\
        tests:
          - name: a retouching customer gets format aa once, with the name in its text
            now: "2026-11-26 10:00"
            bookings:
              - {id: 1, store: "1000001", start: "2026-11-28 14:00", name: 김보정, options: ["전문가 보정"]}
              - {id: 2, store: "1000001", start: "2026-11-28 15:00", options: ["전문가 보정"], phone: "01000000002"}
            records:
              - {booking: 1, confirm_sms: true}
              - {booking: 2, confirm_sms: true, flags: {aa_sms: true}}
            expect:
              sms:
                - {booking: 1, template: format_aa, type: LMS, contains: "김보정님, 보정을 선택해"}
              flags:
                - {booking: 1, aa_sms: true}
                - {booking: 2, aa_sms: true}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.output


def test_a_fixture_can_set_registration_times_and_option_counts_and_expect_a_slack_digest(
    tmp_path: Path,
) -> None:
    result = rules_test(
        tmp_path,
        """\
        tests:
          - name: the digest lists November bookings with the original files twice, on Slack
            now: "2026-11-26 18:40"
            bookings:
              - {id: 11, store: "1000002", start: "2026-11-28 14:00", registered: "2026-11-20 10:00",
                 options: [{name: 원본 파일, count: 2}]}
              - {id: 12, store: "1000002", start: "2026-11-28 15:00", registered: "2026-10-31 23:00",
                 options: [{name: 원본 파일, count: 2}], phone: "01000000012"}
              - {id: 13, store: "1000002", start: "2026-11-28 16:00", registered: "2026-11-21 09:00",
                 options: [원본 파일], phone: "01000000013"}
            expect:
              sms:
                - {booking: 11, template: confirmation}
                - {booking: 12, template: confirmation}
                - {booking: 13, template: confirmation}
              notifications:
                - {channel: slack, rule: original_files_twice_digest, text: "1명: 11 "}
              flags:
                - {booking: 11, slack_listed: true}
                - {booking: 12, slack_listed: false}
              summary_contains: "010-0000-0012 예약확정 문자 발송 완료"
        """,
    )
    assert result.exit_code == 0, result.output


def test_a_fixture_can_turn_a_channel_off_and_expect_the_message_not_posted(tmp_path: Path) -> None:
    result = rules_test(
        tmp_path,
        """\
        tests:
          - name: with Telegram off the staff message is not posted, and stays due
            now: "2026-11-26 10:00"
            channels: {telegram: false}
            bookings:
              - {id: 21, store: "1000003", start: "2026-11-28 14:00"}
            expect:
              sms:
                - {booking: 21, template: confirmation}
              notifications:
                - {channel: telegram, status: disabled, booking: 21, text: "홍대점 새 예약 21"}
              flags:
                - {booking: 21, staff_told: false}
          - name: with Telegram on it is posted
            now: "2026-11-26 10:00"
            bookings:
              - {id: 22, store: "1000003", start: "2026-11-28 14:00"}
            expect:
              sms:
                - {booking: 22, template: confirmation}
              notifications:
                - {channel: telegram, booking: 22, text: "홍대점 새 예약 22"}
        """,
    )
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output


def test_a_failing_fixture_says_why_the_expected_sms_did_not_go_out(tmp_path: Path) -> None:
    result = rules_test(
        tmp_path,
        """\
        tests:
          - name: expects a guide three hours ahead
            now: "2026-11-26 10:00"
            bookings:
              - {id: 31, store: "1000002", start: "2026-11-26 13:00"}
            records:
              - {booking: 31, confirm_sms: true}
            expect:
              sms:
                - {booking: 31, template: guide_busan}
        """,
    )
    assert result.exit_code == 1
    text = result.stdout
    assert "sms: expected [('31', 'guide_busan')], got []" in text
    line = next(x for x in text.splitlines() if "guide_two_hours_before" in x)
    assert "did not match" in line and "conditions[1]" in line
    assert "minutes_left=180" in text  # what the window condition saw


def test_a_fixture_run_prints_no_raw_log_lines(tmp_path: Path) -> None:
    # GIVEN a fixture whose SMS cannot be sent (its text over the limit for this customer's name)
    config_text = """\
        tests:
          - name: a failing send is a problem of the fixture, not a log line
            now: "2026-11-26 10:00"
            bookings:
              - {id: 41, store: "1000001", start: "2026-11-28 14:00", name: "%s", options: ["전문가 보정"]}
            records:
              - {booking: 41, confirm_sms: true}
            expect:
              sms:
                - {booking: 41, template: format_aa}
        """ % ("가" * 1000)
    result = rules_test(tmp_path, config_text)
    # THEN it fails, the problem says so, and no JSON log line is printed
    assert result.exit_code == 1
    text = " ".join(result.stdout.split())
    assert "got [('41', 'format_aa', 'failed')]" in text and "over the limit of 2000" in text
    assert not [x for x in result.output.splitlines() if x.lstrip().startswith("{")], result.output
