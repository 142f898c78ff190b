"""`naver-sms rules test`: the operator's fixtures run through the real rules and catch a changed decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from tests.conftest import CONFIG_DIR

runner = CliRunner()


def test_the_shipped_fixtures_pass() -> None:
    result = runner.invoke(app, ["rules", "test", "--config", str(CONFIG_DIR)])
    assert result.exit_code == 0, result.output
    assert "7 passed, 0 failed" in result.output


def test_a_fixture_whose_expectation_no_longer_holds_fails_and_says_why(tmp_path: Path) -> None:
    fixture = tmp_path / "wrong.yaml"
    fixture.write_text(
        """\
tests:
  - name: expects a guide that the rules do not send yet
    now: "2026-11-26 10:00"
    bookings:
      - {id: 9, store: "1000002", start: "2026-11-26 20:00"}
    expect:
      sms:
        - {booking: 9, template: confirmation}
        - {booking: 9, template: guide_busan}
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "test", str(fixture), "--config", str(CONFIG_DIR)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "guide_busan" in result.output
    assert "0 passed, 1 failed" in result.output


def test_a_malformed_fixture_is_a_located_configuration_error(tmp_path: Path) -> None:
    fixture = tmp_path / "bad.yaml"
    fixture.write_text(
        "tests:\n  - name: x\n    now: '2026-11-26 10:00'\n    bookings: []\n    expect: {}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "test", str(fixture), "--config", str(CONFIG_DIR)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "bookings" in result.output


def run_fixture_file(tmp_path: Path, text: str) -> tuple[Path, str, int]:
    fixture = tmp_path / "mine.yaml"
    fixture.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["rules", "test", str(fixture), "--config", str(CONFIG_DIR)])
    return fixture, " ".join(result.output.split()), result.exit_code


@pytest.mark.parametrize(
    ("now", "start", "line", "field", "bad"),
    [
        ("2026-11-26 10:00", "2026/11/27 14:00", 5, "tests[0].bookings[0].start", "2026/11/27 14:00"),
        ("tomorrow", "2026-11-27 14:00", 3, "tests[0].now", "tomorrow"),
    ],
)
def test_a_fixture_time_that_is_not_korean_time_is_located(
    tmp_path: Path, now: str, start: str, line: int, field: str, bad: str
) -> None:
    # GIVEN a fixture whose clock or booking start is not "YYYY-MM-DD HH:MM"
    fixture, output, code = run_fixture_file(
        tmp_path,
        f"""\
tests:
  - name: slashes
    now: "{now}"
    bookings:
      - {{id: 9, store: "1000002", start: "{start}"}}
    expect: {{}}
""",
    )
    # THEN it is an error of the fixture file (exit 2) naming file, line and field - not a traceback
    assert code == 2, output
    assert f'{fixture}:{line}: {field}: expected "YYYY-MM-DD HH:MM" in Korean time, got {bad!r}' in output
    assert "Traceback" not in output and "isoformat" not in output


def test_a_fixture_booking_of_an_unknown_store_is_an_error_of_the_file(tmp_path: Path) -> None:
    # GIVEN a fixture booking of a store that stores.yaml does not have (a run would ignore it)
    fixture, output, code = run_fixture_file(
        tmp_path,
        """\
tests:
  - name: a store that is not configured
    now: "2026-11-26 10:00"
    bookings:
      - {id: 9, store: "2000001", start: "2026-11-27 14:00"}
    expect: {}
""",
    )
    # THEN the file is refused, naming the fixture and the store
    assert code == 2, output
    assert f"{fixture}:5: tests[0].bookings[0].store: fixture 'a store that is not configured': " in output
    assert "store '2000001' is not in stores.yaml" in output


def test_a_fixture_expecting_an_unknown_template_is_an_error_of_the_file(tmp_path: Path) -> None:
    fixture, output, code = run_fixture_file(
        tmp_path,
        """\
tests:
  - name: a misspelt template
    now: "2026-11-26 10:00"
    bookings:
      - {id: 9, store: "1000001", start: "2026-11-27 14:00"}
    expect:
      sms:
        - {booking: 9, template: confirmaton}
""",
    )
    assert code == 2, output
    assert f"{fixture}:8: tests[0].expect.sms[0].template: fixture 'a misspelt template': " in output
    assert "no SMS template 'confirmaton' in templates.yaml (did you mean 'confirmation'?)" in output
