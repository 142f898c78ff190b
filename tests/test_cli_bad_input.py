"""A run that acted never loses its report to bad input (issue 9, items 4, 5 and 8): the malformed booking or
file is skipped and named in the report, every other booking is handled, and the report is printed - as one
valid JSON object with `--json`, as tables without - whatever text it carries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from tests.test_cli import sandbox_args
from tests.world import naver_booking

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NAVER_SMS_"):
            monkeypatch.delenv(name)


def console_script(*argv: str) -> subprocess.CompletedProcess[str]:
    """The installed `naver-sms`, its stdout a pipe that takes UTF-8 and nothing else (errors="strict", as
    in a UTF-8 locale; the C.UTF-8 locale's "surrogateescape" would write bytes that are not UTF-8)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVER_SMS_")}
    env["PYTHONIOENCODING"] = "utf-8:strict"
    exe = Path(sys.executable).parent / "naver-sms"
    result = subprocess.run([str(exe), *argv], capture_output=True, timeout=120, env=env)
    stdout = result.stdout.decode("utf-8")  # stdout is always UTF-8, whatever the report holds
    return subprocess.CompletedProcess(result.args, result.returncode, stdout, result.stderr.decode("utf-8"))


def good(n: int) -> dict[str, Any]:
    return naver_booking(
        booking_id=900000200 + n, store_id=1000001, start="2026-11-27 15:00", phone=f"0100000{n:04d}"
    )


def sms_to(report: dict[str, Any]) -> list[str]:
    return sorted(s["to"] for s in report["sms"])


def test_a_lone_surrogate_in_a_booking_id_no_longer_loses_the_report_of_the_run(tmp_path: Path) -> None:
    # GIVEN one good booking and one whose bookingId is a lone surrogate (valid JSON: "\ud800")
    bad = good(2)
    bad["bookingId"] = "\ud800"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "a.json").write_text(json.dumps([good(1), bad]), encoding="utf-8")
    # WHEN the real console script runs with --json
    result = console_script(*sandbox_args("run", tmp_path / "s.db", "--json", bookings=tmp_path / "b"))
    # THEN the run acted for the good booking and its report is printed whole, naming the bad one
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sms_to(report) == ["01000000001"]
    [error] = report["errors"]
    assert error["kind"] == "booking"
    assert error["message"].startswith("booking \\ud800 in a.json: ")
    assert report["counts"]["bookings_skipped"] == 1


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("command", ["run", "plan"])
def test_a_report_carrying_text_stdout_cannot_encode_is_still_printed(
    tmp_path: Path, as_json: bool, command: str
) -> None:
    # GIVEN bookings in a directory whose name is not UTF-8 (the file system hands it over with a lone
    # surrogate, and the report names its source), one good file and one bad file in it
    bookings = tmp_path / os.fsdecode(b"b\xff")
    bookings.mkdir()
    (bookings / "a.json").write_text(json.dumps([good(3)]), encoding="utf-8")
    (bookings / os.fsdecode(b"\xff.json")).write_text("{", encoding="utf-8")
    # WHEN the real console script runs, with --json and without
    result = console_script(
        *sandbox_args(command, tmp_path / "s.db", *(["--json"] if as_json else []), bookings=bookings)
    )
    # THEN no crash: the good booking is handled, the bad file named, the report printed as valid UTF-8
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr
    if as_json:
        report = json.loads(result.stdout)
        assert [s["to"] for s in report["sms"]] == ["01000000003"]
        [error] = report["errors"]
        assert error["message"] == (
            "file \\udcff.json: not JSON: Expecting property name enclosed in double quotes at line 1 column 2"
        )
        if command == "run":  # the source is named as it is, the lone surrogate as its JSON escape
            assert report["source"] == f"files: {bookings}"
            assert '"source": "files: ' + str(tmp_path) + '/b\\udcff"' in result.stdout
    else:
        assert "\\udcff.json" in result.stderr
        assert "010-****-0003" in result.stdout


def test_a_deep_bookings_file_is_named_and_the_other_files_bookings_are_handled(tmp_path: Path) -> None:
    bookings = tmp_path / "b"
    bookings.mkdir()
    (bookings / "a.json").write_text(json.dumps([good(4)]), encoding="utf-8")
    (bookings / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (bookings / "z.json").write_text(json.dumps([good(5)]), encoding="utf-8")
    result = CliRunner().invoke(app, sandbox_args("run", tmp_path / "s.db", "--json", bookings=bookings))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert sms_to(report) == ["01000000004", "01000000005"]
    [error] = report["errors"]
    assert error["message"].startswith("file deep.json: nested too deeply")


def test_misdirected_numbers_are_never_sent_and_korean_ones_are_sent_to_their_national_form(
    tmp_path: Path,
) -> None:
    # GIVEN a booking with its phone as a JSON number, one in +82 form, one in a foreign country
    as_number = good(6)
    as_number["phone"] = 1000000006
    international = good(7) | {"phone": "+82 10-0000-0007"}
    foreign = good(8) | {"phone": "+1 212 555 0108"}
    (tmp_path / "b.json").write_text(json.dumps([as_number, international, foreign]), encoding="utf-8")
    # WHEN run
    result = CliRunner().invoke(
        app, sandbox_args("run", tmp_path / "s.db", "--json", bookings=tmp_path / "b.json")
    )
    # THEN only the Korean number gets its SMS, at 010..., and the other two are named, never sent
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sms_to(report) == ["01000000007"]
    skipped = sorted(e["message"] for e in report["errors"])
    assert skipped[0].startswith("booking 900000206 in b.json: phone given as a JSON number")
    assert skipped[1].startswith("booking 900000208 in b.json: ") and "not a Korean number" in skipped[1]


# --- found by the fuzz suite (tests/fuzz): rich markup in the data printed for people ---------------------------


def test_a_booking_id_that_looks_like_markup_is_printed_as_written_not_a_crash(tmp_path: Path) -> None:
    # GIVEN a malformed booking whose id is "[/]" (a closing tag of rich markup), and a good one
    bad = good(9) | {"bookingId": "[/]"}
    (tmp_path / "b.json").write_text(json.dumps([good(10), bad]), encoding="utf-8")
    # WHEN run for people (tables and lines on the console, not --json)
    result = CliRunner().invoke(app, sandbox_args("run", tmp_path / "s.db", bookings=tmp_path / "b.json"))
    # THEN the run's report is printed, the bad booking named as written (it was a MarkupError, exit 1)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert "skipped booking [/] in b.json: not an id: '[/]' (field 'bookingId')" in result.stderr
    assert "010-****-0010" in result.stdout


def test_a_file_name_that_looks_like_markup_is_named_as_written(tmp_path: Path) -> None:
    bookings = tmp_path / "b"
    bookings.mkdir()
    (bookings / "[red]x.json").write_text("[", encoding="utf-8")
    (bookings / "ok.json").write_text(json.dumps([good(11)]), encoding="utf-8")
    result = CliRunner().invoke(app, sandbox_args("run", tmp_path / "s.db", bookings=bookings))
    assert result.exit_code == 0, result.output
    assert "skipped file [red]x.json: not JSON" in result.stderr  # not styled red and lost


def test_a_configuration_key_that_looks_like_markup_is_a_configuration_error_exit_2(tmp_path: Path) -> None:
    import shutil

    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    text = (cfg / "rules.yaml").read_text(encoding="utf-8")
    (cfg / "rules.yaml").write_text(
        text.replace(
            "  - name: new_booking_confirmation\n", "  - name: new_booking_confirmation\n    '[/]': 1\n"
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert "rule 'new_booking_confirmation': [/]: unknown field" in result.stderr


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("serve", "--every", "0"),
        ("serve", "--every", "-20"),
        ("serve", "--every", "1441"),
        ("history", "--limit", "0"),
    ],
)
def test_a_number_option_out_of_range_is_a_usage_error_not_a_traceback(
    tmp_path: Path, command: str, option: str, value: str
) -> None:
    # `serve --every 0` divided by zero (a traceback); `history --limit -1` dropped the last entry. (Other
    # values out of range are not tried here: without the bound, `serve` would keep serving.)
    result = CliRunner().invoke(app, [command, option, value, "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output


def test_a_yaml_key_holding_lone_surrogates_is_located_and_rules_check_json_stays_valid(
    tmp_path: Path,
) -> None:
    # found by the fuzz suite (on main): the key reached `rules check --json`, which crashed encoding it
    import shutil

    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    text = (cfg / "rules.yaml").read_text(encoding="utf-8")
    (cfg / "rules.yaml").write_text(
        text.replace(
            "  - name: new_booking_confirmation\n",
            '  - name: new_booking_confirmation\n    "\\ud800\\udc00": 1\n',
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(cfg), "--json"])
    assert result.exit_code == 2, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["column"]) == (12, 5)
    assert "U+D800" in error["message"]
