"""What `plan` and `run --dry-run` show is what the run does (issue 11, items 1, 2, 3 and 9).

- a rendered SMS over 90 bytes, or an LMS over 2,000, is `failed` with `MessageTooLong` in the plan, the dry
  run and the run alike - measured by the one function the SMS composition and the SENS client use - and the
  run fails its flag for good at once, with the fix and the reset command, in the report and the summary;
- a message to a disabled channel is `disabled` in the plan and the dry run, and the run's console says it
  was not posted; a message guarded by a flag stays due until the channel is on;
- `plan --explain` piped (80 columns) is a two-column layout of lines in words, nothing cut, every parameter
  of the failed condition shown with the defaulted ones marked.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from naver_sms.cli import Seams, app
from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRepository
from naver_sms.domain import FixedClock
from tests.test_cli import CONFIG_DIR
from tests.world import kst, naver_booking, write_bookings

NOW = "2026-11-26 18:40"
LONG_NAME = "가나다라마바사아자차" * 5  # 50 Hangul: 100 bytes in EUC-KR

RULES = """\
  - name: short_notice_rule
    conditions:
      - type: store_id_matches
        params: {store_ids: ["1000001"]}
      - type: flag_not_set
        params: {flag: short_sms}
    actions:
      - type: send_sms
        params: {template: short_notice}
      - type: update_flag
        params: {flag: short_sms, value: true}
  - name: long_notice_rule
    conditions:
      - type: store_id_matches
        params: {store_ids: ["1000002"]}
      - type: flag_not_set
        params: {flag: long_sms}
    actions:
      - type: send_sms
        params: {template: long_notice}
      - type: update_flag
        params: {flag: long_sms, value: true}
"""
TEMPLATES = {
    "short_notice": {"type": "SMS", "label": "짧은안내", "text": "{{ booking.name }}님 예약 확인"},
    "long_notice": {"type": "LMS", "label": "긴안내", "text": "{{ booking.item_name }}\n" + "안내" * 460},
}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NAVER_SMS_")}
    clean.update(env or {})
    return CliRunner().invoke(app, list(args), env=clean, obj=Seams(clock=FixedClock(kst(NOW))))


def configured(tmp: Path, rules: str, templates: dict[str, Any] | None = None) -> Path:
    """config/ with `rules` (YAML list items) after the default rules and `templates` added."""
    config = tmp / "config"
    shutil.copytree(CONFIG_DIR, config)
    path = config / "rules.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + rules, encoding="utf-8")
    if templates:
        tpl = config / "templates.yaml"
        data = yaml.safe_load(tpl.read_text(encoding="utf-8"))
        data["sms"].update(templates)
        tpl.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def args(command: str, tmp: Path, config: Path, bookings: Path, *extra: str) -> list[str]:
    db = str(tmp / "state.sqlite3")
    return [command, "--bookings", str(bookings), "--db", db, "--config", str(config), "--now", NOW, *extra]


def long_texts_world(tmp: Path) -> tuple[Path, Path]:
    config = configured(tmp, RULES, TEMPLATES)
    bookings = write_bookings(
        tmp / "bookings.json",
        [
            naver_booking(booking_id=900000101, store_id=1000001, start="2026-11-28 14:00", name=LONG_NAME),
            naver_booking(
                booking_id=900000102,
                store_id=1000002,
                start="2026-11-28 14:00",
                phone="01000000102",
                bizItemName="긴 상품 이름" * 20,
            ),
        ],
    )
    return config, bookings


def notices(report: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {
        s["template"]: (s["status"], s["error"])
        for s in report["sms"]
        if s["template"] in ("short_notice", "long_notice")
    }


# --- 1. byte limits: the preview applies the run's check ---------------------------------------------------


def test_plan_dry_run_and_run_all_fail_a_text_over_the_sms_or_lms_limit(tmp_path: Path) -> None:
    # GIVEN an SMS template that renders to 118 bytes for this customer's long name, and an LMS template
    # that renders over 2,000 bytes for that product's long name (both pass `rules check`: they fit when
    # the names are short)
    config, bookings = long_texts_world(tmp_path)
    assert invoke("rules", "check", "--config", str(config)).exit_code == 0
    # WHEN the plan, a dry run and a run are asked for
    plan = json.loads(invoke(*args("plan", tmp_path, config, bookings, "--json")).stdout)
    dry = json.loads(invoke(*args("run", tmp_path, config, bookings, "--dry-run", "--json")).stdout)
    ran = invoke(*args("run", tmp_path, config, bookings, "--json"))
    run = json.loads(ran.stdout)
    # THEN all three say the same: failed, with MessageTooLong over the SMS and the LMS limit
    for report in (plan, dry, run):
        shown = notices(report)
        assert {t: status for t, (status, _) in shown.items()} == {
            "short_notice": "failed",
            "long_notice": "failed",
        }, report["sms"]
        assert "MessageTooLong" in str(shown["short_notice"][1]) and "limit of 90" in str(
            shown["short_notice"][1]
        )
        assert "MessageTooLong" in str(shown["long_notice"][1]) and "limit of 2000" in str(
            shown["long_notice"][1]
        )
    # AND nothing of them went to the outbox
    assert ran.exit_code == 0
    assert not [s for s in run["sms"] if s["template"] in TEMPLATES and s["status"] == "outbox"]


def test_the_plan_console_says_the_sms_would_fail_and_what_to_change(tmp_path: Path) -> None:
    # GIVEN the same world  WHEN the plan is shown for people (80 columns)
    config, bookings = long_texts_world(tmp_path)
    result = invoke(*args("plan", tmp_path, config, bookings, "--booking", "900000101"))
    # THEN the SMS is shown as failed, with the reason and the fix
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "short_notice · SMS · failed" in text
    assert "over the limit of 90" in text and "`type: auto`" in text


# --- 9. no retry can fix it: failed for good at once, reported once with the fix -------------------------


def test_a_text_over_the_limit_fails_for_good_at_once_and_the_summary_says_what_to_do(tmp_path: Path) -> None:
    # GIVEN the SMS whose text renders over 90 bytes
    config, bookings = long_texts_world(tmp_path)
    # WHEN a run comes
    first = json.loads(invoke(*args("run", tmp_path, config, bookings, "--json")).stdout)
    # THEN its flag failed for good at once (one attempt), and the report says what to change and the
    # command that sends it again
    repo = SqliteRepository(SqliteDatabase(tmp_path / "state.sqlite3"))
    row = repo.get(("1000001_900000101", "010-0000-0001"))
    assert row is not None
    assert row.extra.get("short_sms_failed") is True and row.extra.get("short_sms_attempts") == 1
    (short,) = [s for s in first["sms"] if s["template"] == "short_notice"]
    assert "`type: auto`" in short["fix"] and "naver-sms db reset 1000001_900000101 short_sms" in short["fix"]
    (error,) = [e for e in first["errors"] if e["rule"] == "short_notice_rule"]
    assert "no retry can fix it" in error["message"] and "naver-sms db reset" in error["message"]
    lines = first["summary"].splitlines()
    assert "010-0000-0001 짧은안내 문자 발송 실패" in lines
    assert any(line.startswith("010-0000-0001 짧은안내: ") and "db reset" in line for line in lines), lines
    # WHEN the next run comes
    second = json.loads(invoke(*args("run", tmp_path, config, bookings, "--json")).stdout)
    # THEN it is not tried, nor reported again: once was enough
    assert [s for s in second["sms"] if s["template"] == "short_notice"] == []
    assert [e for e in second["errors"] if "1000001_900000101" in str(e["booking_num"])] == []
    assert "짧은안내" not in second["summary"]
    # AND history lists it as failed for good
    history = json.loads(invoke("history", "--db", str(tmp_path / "state.sqlite3"), "--json").stdout)
    assert ("1000001_900000101", "short_sms") in {(e["booking_num"], e["flag"]) for e in history["failed"]}


# --- 2. a disabled channel -----------------------------------------------------------------------------------


def documented_rule() -> str:
    """The new-booking rule of docs/rules/actions.md ("New bookings and a channel that is off"), as a list
    item of rules.yaml: what this test runs is what the page tells the operator to write."""
    from tests.test_docs import DOCS, blocks

    (block,) = [
        b
        for b in blocks(
            DOCS / "rules" / "actions.md", "yaml", section="New bookings and a channel that is off"
        )
        if "name:" in b.text
    ]
    return (
        "\n".join(("  - " if i == 0 else "    ") + line for i, line in enumerate(block.text.splitlines()))
        + "\n"
    )


NEW_BOOKING_TO_SLACK = documented_rule()
RULE = "doc_new_booking_to_slack"
TEXT = "홍대점 새 예약: 홍*동, 11/28 14:00"


def one_booking(tmp: Path) -> Path:
    return write_bookings(
        tmp / "bookings.json",
        [naver_booking(booking_id=900000201, store_id=1000003, start="2026-11-28 14:00")],
    )


def slack_posts(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["status"], n["text"]) for n in report["notifications"] if n["channel"] == "slack"]


def test_plan_and_dry_run_show_a_message_to_a_disabled_channel_as_disabled(tmp_path: Path) -> None:
    # GIVEN a rule posting to Slack, and Slack off (the default)
    config, bookings = configured(tmp_path, NEW_BOOKING_TO_SLACK), one_booking(tmp_path)
    # WHEN the plan and a dry run are asked for
    plan = json.loads(invoke(*args("plan", tmp_path, config, bookings, "--json")).stdout)
    dry = json.loads(invoke(*args("run", tmp_path, config, bookings, "--dry-run", "--json")).stdout)
    # THEN the message is `disabled`, never `planned`, and the rule's update_flag is not planned either
    for report in (plan, dry):
        assert slack_posts(report) == [("disabled", TEXT)]
        assert not [f for f in report["flags"] if f["flag"] == "slack_new"]
    assert {"rule": RULE, "action": "send_slack", "status": "disabled", "count": 1} in dry["actions"]
    # AND the plan for people says it would not be posted
    shown = invoke(*args("plan", tmp_path, config, bookings))
    assert f"slack · {RULE} · disabled: not posted" in " ".join(shown.stdout.split())


def test_a_run_says_on_the_console_that_a_message_was_not_posted(tmp_path: Path) -> None:
    config, bookings = configured(tmp_path, NEW_BOOKING_TO_SLACK), one_booking(tmp_path)
    result = invoke(*args("run", tmp_path, config, bookings))
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("not posted:")]
    assert "slack is disabled" in line and RULE in line and "1000003_900000201" in line
    assert "NAVER_SMS_SLACK_ENABLED=true" in line


def test_a_new_booking_message_stays_due_while_slack_is_off_and_goes_out_once_it_is_on(
    tmp_path: Path,
) -> None:
    # GIVEN the documented new-booking rule (keyed on its flag, not on the row being absent) and Slack off
    config, bookings = configured(tmp_path, NEW_BOOKING_TO_SLACK), one_booking(tmp_path)
    # WHEN a run comes: the default rules write the booking's row and send its confirmation
    off = json.loads(invoke(*args("run", tmp_path, config, bookings, "--json")).stdout)
    assert slack_posts(off) == [("disabled", TEXT)]
    repo = SqliteRepository(SqliteDatabase(tmp_path / "state.sqlite3"))
    row = repo.get(("1000003_900000201", "010-0000-0001"))
    assert row is not None and row.confirm_sms and not row.flag("slack_new")
    # WHEN Slack is switched on for the next run
    on = json.loads(
        invoke(
            *args("run", tmp_path, config, bookings, "--json"), env={"NAVER_SMS_SLACK_ENABLED": "true"}
        ).stdout
    )
    # THEN the message goes out then, and the flag is set
    assert slack_posts(on) == [("outbox", TEXT)]
    row = repo.get(("1000003_900000201", "010-0000-0001"))
    assert row is not None and row.flag("slack_new")
    # AND never again
    again = json.loads(
        invoke(
            *args("run", tmp_path, config, bookings, "--json"), env={"NAVER_SMS_SLACK_ENABLED": "true"}
        ).stdout
    )
    assert slack_posts(again) == []


# --- 3. plan --explain for people: readable at 80 columns and piped, defaults shown --------------------------

MANY_PRINTS = """\
  - name: many_prints_note
    conditions:
      - type: has_multiple_options
        params: {keywords: [인화]}
    actions:
      - type: log_event
        params: {message: "{{ booking.booking_id }} ordered prints"}
"""


def test_plan_explain_piped_at_80_columns_is_lines_of_words_with_the_defaults_shown(tmp_path: Path) -> None:
    from tests.test_cli import console_script

    # GIVEN a rule whose condition leaves `min_count` at its default (2), a booking without prints
    config = configured(tmp_path, MANY_PRINTS)
    bookings = write_bookings(
        tmp_path / "bookings.json",
        [
            naver_booking(
                booking_id=900000301,
                store_id=1000001,
                start="2026-11-28 14:00",
                options=[("50분 촬영", 1)],
            )
        ],
    )
    # WHEN its plan is explained into a pipe (not a terminal: 80 columns)
    proc = console_script(*args("plan", tmp_path, config, bookings, "--explain"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # THEN it fits 80 columns, in a two-column layout: every rule's decision in words on lines of their own,
    # not one-word cells (a few lines per rule, not hundreds)
    assert max(len(x) for x in lines) <= 80
    assert len(lines) < 40, proc.stdout
    said = " ".join(" ".join(x.strip("│ ") for x in lines).split())
    # AND the failed condition shows every parameter it was evaluated with, the defaulted one marked
    assert "has_multiple_options(keywords=[인화], min_count=2 (default))" in said, said
    assert "…" not in said  # nothing cut
    assert "saw options=[50분 촬영 x1], matching_count=0, keywords=[인화]" in said
    for rule in ("new_booking_confirmation", "guide_two_hours_before", "many_prints_note"):
        assert f"{rule}: " in said
    # AND the JSON says the same parameters
    shown = json.loads(invoke(*args("plan", tmp_path, config, bookings, "--explain", "--json")).stdout)
    (booking,) = shown["bookings"]
    (why,) = [r for r in booking["rules"] if r["rule"] == "many_prints_note"]
    assert why["condition"] == {
        "type": "has_multiple_options",
        "params": {"keywords": ["인화"], "min_count": 2},
    }
