"""`naver-sms rules test`: the operator's fixtures run through the real rules and catch a changed decision."""

from __future__ import annotations

from pathlib import Path

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
