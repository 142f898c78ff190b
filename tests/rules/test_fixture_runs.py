"""`rules test` fixtures that run several times (`then`), with the fields of issue 13 (end and registration
times, a row's booking_time and stale claims, opt-out numbers, held and suppressed expectations): what a
failing expectation says, and bad fields located at load."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from naver_sms.cli import app
from tests.conftest import CONFIG_DIR

runner = CliRunner()


def rules_test(tmp_path: Path, text: str) -> tuple[str, int]:
    fixture = tmp_path / "mine.yaml"
    fixture.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", str(fixture), "--config", str(CONFIG_DIR)])
    return " ".join(result.output.split()), result.exit_code


def test_each_run_of_a_fixture_is_checked_and_a_failure_names_its_run(tmp_path: Path) -> None:
    # GIVEN a fixture whose second run expects a guide too early, and whose third is right
    output, code = rules_test(
        tmp_path,
        """\
tests:
  - name: confirmation now, guide later
    now: "2026-11-26 17:00"
    bookings:
      - {id: 5, store: "1000001", start: "2026-11-26 20:00"}
    expect:
      sms: [{booking: 5, template: confirmation}]
    then:
      - now: "2026-11-26 17:40"
        expect:
          sms: [{booking: 5, template: guide_gangnam}]
      - now: "2026-11-26 18:20"
        expect:
          sms: [{booking: 5, template: guide_gangnam}]
""",
    )
    # THEN only the wrong run is reported, by its place in `then`
    assert code == 1
    assert "then[0] sms: expected [('5', 'guide_gangnam')], got []" in output
    assert "then[1]" not in output


def test_a_later_run_sees_the_bookings_as_naver_gives_them_by_then(tmp_path: Path) -> None:
    # GIVEN a booking confirmed at 17:00 and cancelled before 18:20: its guide never goes
    output, code = rules_test(
        tmp_path,
        """\
tests:
  - name: cancelled before its guide
    now: "2026-11-26 17:00"
    bookings:
      - {id: 6, store: "1000001", start: "2026-11-26 20:00"}
    expect:
      sms: [{booking: 6, template: confirmation}]
    then:
      - now: "2026-11-26 18:20"
        bookings:
          - {id: 6, store: "1000001", status: RC04, start: "2026-11-26 20:00"}
        expect:
          sms: []
          flags: [{booking: 6, confirm_sms: true, remind_sms: false}]
""",
    )
    assert code == 0, output
    assert "1 passed, 0 failed" in output


def test_a_row_holding_another_start_and_a_stale_claim_can_be_given(tmp_path: Path) -> None:
    # a crashed run's claim on the guide: the next run looks it up (the outbox never saw it) and sends it
    output, code = rules_test(
        tmp_path,
        """\
tests:
  - name: a stale claim of the guide is taken over
    now: "2026-11-26 18:40"
    bookings:
      - {id: 7, store: "1000001", start: "2026-11-26 20:00", end: "2026-11-26 20:50", registered: "2026-11-20 10:00"}
    records:
      - {booking: 7, booking_time: "2026-11-26 19:00", confirm_sms: true, claimed: [remind_sms]}
    expect:
      sms: [{booking: 7, template: guide_gangnam}]
""",
    )
    assert code == 0, output


def test_bad_new_fields_are_located(tmp_path: Path) -> None:
    output, code = rules_test(
        tmp_path,
        """\
tests:
  - name: bad
    now: "2026-11-26 18:40"
    bookings:
      - {id: 8, store: "1000001", start: "2026-11-26 20:00", end: "tonight"}
    opt_out: ["1588-0000"]
    expect: {}
""",
    )
    assert code == 2
    assert "mine.yaml:5" in output and "tests[0].bookings[0].end" in output and "'tonight'" in output
    assert "mine.yaml:6" in output and "tests[0].opt_out[0]" in output and "not a Korean" in output


def test_then_steps_are_checked_against_the_configuration(tmp_path: Path) -> None:
    output, code = rules_test(
        tmp_path,
        """\
tests:
  - name: unknown store later
    now: "2026-11-26 18:40"
    bookings:
      - {id: 8, store: "1000001", start: "2026-11-26 20:00"}
    expect: {}
    then:
      - now: "2026-11-26 19:00"
        bookings:
          - {id: 8, store: "9999999", start: "2026-11-26 20:00"}
        expect:
          suppressed: [{booking: 8, template: no_such_template}]
""",
    )
    assert code == 2
    assert "mine.yaml:10" in output and "tests[0].then[0].bookings[0].store" in output
    assert "tests[0].then[0].expect.suppressed[0].template" in output
