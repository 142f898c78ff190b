"""What the operator sees of quiet hours and the opt-out list (issue 13 item 4): `plan` says a match is held and
until when, `run` lists what it held and what it suppressed - on the sandbox, through the command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from tests.conftest import CONFIG_DIR
from tests.world import naver_booking, write_bookings

AD_TEMPLATE = """
  year_end_ad:
    type: LMS
    contentType: AD
    label: 광고
    text: |
      (광고)예시스튜디오
      연말 가족사진 촬영 20% 할인
      무료수신거부 080-000-0000
"""

AD_RULE = """
  - name: year_end_ad
    conditions:
      - type: booking_status
        params: {status: RC08}
      - type: flag_not_set
        params: {flag: year_end_ad_sms}
    actions:
      - type: send_sms
        params: {template: year_end_ad}
      - type: update_flag
        params: {flag: year_end_ad_sms}
"""


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    with (config / "templates.yaml").open("a", encoding="utf-8") as f:
        f.write(AD_TEMPLATE)
    with (config / "rules.yaml").open("a", encoding="utf-8") as f:
        f.write(AD_RULE)
    (config / "opt-out.txt").write_text("# refused advertising\n010-5555-0002\n", encoding="utf-8")
    bookings = write_bookings(
        tmp_path / "bookings.json",
        [
            naver_booking(booking_id=920000001, status="RC08", start="2026-11-26 14:00", phone="01055550001"),
            naver_booking(booking_id=920000002, status="RC08", start="2026-11-26 15:00", phone="01055550002"),
        ],
    )
    return config, bookings


def cli(config: Path, bookings: Path, db: Path, command: str, now: str, *extra: str) -> tuple[int, str]:
    args = [command, "--config", str(config), "--bookings", str(bookings), "--db", str(db), "--now", now]
    result = CliRunner().invoke(app, [*args, *extra], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_plan_says_an_advertisement_found_at_night_is_held_until_0800(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    config, bookings = world
    code, output = cli(config, bookings, tmp_path / "s.sqlite3", "plan", "2026-11-26 22:10", "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert [(h["booking_num"], h["until"]) for h in shown["held"]] == [
        ("1000001_920000001", "2026-11-27 08:00"),
        ("1000001_920000002", "2026-11-27 08:00"),
    ]
    assert shown["sms"] == []
    rule = next(r for r in shown["bookings"][0]["rules"] if r["rule"] == "year_end_ad")
    assert rule["matched"] and rule["held"]["why"] == "advertising: no sends 21:00-08:00 (정보통신망법 §50)"
    code, table = cli(config, bookings, tmp_path / "s.sqlite3", "plan", "2026-11-26 22:10")
    assert code == 0 and "held until 11-27 08:00" in table and "nothing would be sent now" in table


def test_run_lists_what_it_held_and_at_0800_what_it_suppressed(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    config, bookings = world
    db = tmp_path / "s.sqlite3"
    code, night = cli(config, bookings, db, "run", "2026-11-26 22:10")
    assert code == 0 and "held year_end_ad" in night and "until 11-27 08:00" in night
    code, output = cli(config, bookings, db, "run", "2026-11-27 08:00", "--json")
    report = json.loads(output)
    assert [(s["booking_num"], s["status"]) for s in report["sms"]] == [
        ("1000001_920000001", "outbox"),
        ("1000001_920000002", "suppressed"),
    ]
    assert report["counts"]["sms_suppressed"] == 1 and report["held"] == []
    # the summary has the legacy line of the SMS that went out, and none for the suppressed one
    assert report["summary"] == "010-5555-0001 광고 문자 발송 완료"
    code, console = cli(config, bookings, db, "run", "2026-11-27 08:20")
    assert code == 0 and "suppressed" not in console


def test_rules_check_refuses_an_advertisement_without_its_opt_out_line(world: tuple[Path, Path]) -> None:
    config, _ = world
    templates = config / "templates.yaml"
    templates.write_text(
        templates.read_text(encoding="utf-8").replace("      무료수신거부 080-000-0000\n", "")
    )
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert "sms.year_end_ad.text: an advertising text must carry a free opt-out line" in " ".join(
        result.output.split()
    )
