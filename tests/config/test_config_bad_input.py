"""Bytes and shapes no configuration file should hold (issue 9, items 3, 6 and 7): each is one clean
`ConfigError` naming the file, the line (and column), what is wrong and the fix - exit 2 from every command
that loads the configuration, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.config.yaml_lines import MAX_DEPTH, MAX_VALUES
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.wiring import compile_config
from tests.conftest import CONFIG_DIR

EXAMPLES = CONFIG_DIR.parent / "examples" / "bookings"
FILES = ("rules.yaml", "templates.yaml", "stores.yaml")


def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def the_error(config_dir: Path) -> ConfigError:
    with pytest.raises(ConfigErrors) as info:
        compile_config(config_dir)
    errors = info.value.errors
    assert len(errors) == 1, [e.render() for e in errors]
    return errors[0]


def rules_check(config_dir: Path) -> tuple[int, str, dict[str, object]]:
    """`naver-sms rules check` in-process: exit code, stderr, and the `--json` answer."""
    runner = CliRunner()
    text = runner.invoke(app, ["rules", "check", "--config", str(config_dir)])
    assert text.exception is None or isinstance(text.exception, SystemExit), text.exception
    as_json = runner.invoke(app, ["rules", "check", "--config", str(config_dir), "--json"])
    return text.exit_code, text.stderr, json.loads(as_json.stdout)


def insert_line(path: Path, after: int, line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(after, line)
    path.write_text("".join(lines), encoding="utf-8")


# --- item 3: control characters, nesting, encodings -----------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\ufffe"])
def test_a_control_character_in_any_file_is_located_by_line_and_column(
    tmp_path: Path, name: str, char: str
) -> None:
    # GIVEN a control character written into line 3 of a configuration file, after "# note "
    cfg = config_copy(tmp_path)
    insert_line(cfg / name, 2, f"# note {char} here\n")
    # WHEN the configuration is checked
    error = the_error(cfg)
    code, stderr, answer = rules_check(cfg)
    # THEN one error: the file, line 3, column 8, the character, and what to do
    assert (error.file, error.line, error.column) == (str(cfg / name), 3, 8)
    assert f"U+{ord(char):04X}" in error.message
    assert "remove it" in error.message
    assert code == 2
    assert f"{cfg / name}:3:8:" in stderr and "Traceback" not in stderr
    assert answer["ok"] is False
    assert answer["errors"][0]["line"] == 3 and answer["errors"][0]["column"] == 8  # type: ignore[index]


@pytest.mark.parametrize("escape", [r"\x07", r"\0", r"\ud800", r"\e"])
def test_a_control_character_written_as_an_escape_is_refused_too(tmp_path: Path, escape: str) -> None:
    # GIVEN a template text whose double-quoted YAML escape makes a control character or a lone surrogate
    cfg = config_copy(tmp_path)
    with (cfg / "templates.yaml").open("a", encoding="utf-8") as f:
        f.write(f'  odd:\n    text: "a{escape}b"\n')
    last = len((cfg / "templates.yaml").read_text(encoding="utf-8").splitlines())
    # WHEN checked
    error = the_error(cfg)
    # THEN refused where it is written: it could never be stored, sent or printed
    assert (error.file, error.line) == (str(cfg / "templates.yaml"), last)
    assert "U+" in error.message


def test_a_tab_and_line_breaks_in_a_text_are_fine(tmp_path: Path) -> None:
    cfg = config_copy(tmp_path)
    with (cfg / "templates.yaml").open("a", encoding="utf-8") as f:
        f.write('  tabbed:\n    text: "a\\tb\\r\\nc"\n')
    config, _, _ = compile_config(cfg)
    assert config.sms_templates["tabbed"].text == "a\tb\r\nc"


@pytest.mark.parametrize("flow", [True, False])
def test_yaml_nested_thousands_deep_is_refused_at_the_bound(tmp_path: Path, flow: bool) -> None:
    # GIVEN a rules file nested 5,000 levels deep (flow `[[[...]]]` or block mappings)
    cfg = config_copy(tmp_path)
    if flow:
        text = "rules: " + "[" * 5000 + "]" * 5000 + "\n"
    else:
        text = "rules:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 5000))
    (cfg / "rules.yaml").write_text(text, encoding="utf-8")
    # WHEN checked
    error = the_error(cfg)
    code, stderr, _ = rules_check(cfg)
    # THEN a clear error at the level that crossed the bound, no RecursionError
    assert error.file == str(cfg / "rules.yaml")
    assert f"nested deeper than {MAX_DEPTH} levels" in error.message
    assert error.line == (1 if flow else MAX_DEPTH)  # the key of line 64 is the 65th level
    assert code == 2 and "RecursionError" not in stderr


def test_nesting_up_to_the_bound_loads(tmp_path: Path) -> None:
    from naver_sms.config.yaml_lines import load_yaml

    path = tmp_path / "deep.yaml"
    path.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, encoding="utf-8")
    value = load_yaml(path)
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []
    path.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="nested deeper"):
        load_yaml(path)


def test_aliases_that_expand_to_millions_of_values_are_refused(tmp_path: Path) -> None:
    # GIVEN the "billion laughs": each alias repeats the one before ten times
    cfg = config_copy(tmp_path)
    lines = ['a0: &a0 ["x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (cfg / "rules.yaml").write_text("\n".join(lines) + "\nrules: *a8\n", encoding="utf-8")
    # WHEN checked THEN refused at once, before any walk over the expansion
    error = the_error(cfg)
    assert error.file == str(cfg / "rules.yaml")
    assert f"more than {MAX_VALUES:,} values" in error.message


def test_an_alias_of_itself_is_refused(tmp_path: Path) -> None:
    cfg = config_copy(tmp_path)
    (cfg / "rules.yaml").write_text("rules: &r [*r]\n", encoding="utf-8")
    error = the_error(cfg)
    assert error.line == 1 and "itself" in error.message


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    from naver_sms.config.yaml_lines import load_yaml

    path = tmp_path / "anchors.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2]}\nmore:\n  <<: *b\n  z: 3\nagain: *b\n", encoding="utf-8")
    assert load_yaml(path) == {
        "base": {"x": 1, "y": [1, 2]},
        "more": {"x": 1, "y": [1, 2], "z": 3},
        "again": {"x": 1, "y": [1, 2]},
    }


@pytest.mark.parametrize("name", FILES)
def test_a_file_that_is_not_utf8_names_the_line_and_column(tmp_path: Path, name: str) -> None:
    # GIVEN line 2 of a file saved in EUC-KR ("# 예약" is not UTF-8 there)
    cfg = config_copy(tmp_path)
    lines = (cfg / name).read_bytes().splitlines(keepends=True)
    lines.insert(1, "# ok 예약\n".encode("euc-kr"))
    (cfg / name).write_bytes(b"".join(lines))
    # WHEN checked
    error = the_error(cfg)
    code, stderr, _ = rules_check(cfg)
    # THEN the line and the column of the first byte that is not UTF-8, and the fix
    assert (error.file, error.line, error.column) == (str(cfg / name), 2, 6)
    assert "not UTF-8" in error.message and "save the file as UTF-8" in error.message
    assert "0xbf" in error.message
    assert code == 2 and "Traceback" not in stderr


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    cfg = config_copy(tmp_path)
    text = (cfg / "stores.yaml").read_text(encoding="utf-8")
    (cfg / "stores.yaml").write_bytes(text.encode("utf-16"))
    error = the_error(cfg)
    assert (error.line, error.column) == (1, 1)
    assert "UTF-16" in error.message


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--bookings", str(EXAMPLES), "--now", "2026-11-26 18:40"],
        ["plan", "--bookings", str(EXAMPLES), "--now", "2026-11-26 18:40"],
        ["rules", "test"],
    ],
)
def test_every_command_that_loads_the_configuration_exits_2_with_the_located_error(
    tmp_path: Path, command: list[str]
) -> None:
    cfg = config_copy(tmp_path)
    insert_line(cfg / "rules.yaml", 0, "# \x07\n")
    result = CliRunner().invoke(
        app,
        [
            *command,
            "--config",
            str(cfg),
            *(["--db", str(tmp_path / "s.db")] if command[0] != "rules" else []),
        ],
    )
    assert result.exit_code == 2, result.output
    assert f"{cfg / 'rules.yaml'}:1:3:" in result.stderr
    assert result.stdout == ""


def test_aliases_that_nest_deeper_than_the_bound_when_expanded_are_refused(tmp_path: Path) -> None:
    # GIVEN anchors each 40 levels deep, each holding the one before: 40 written levels, 200 expanded
    cfg = config_copy(tmp_path)
    lines = ["a0: &a0 " + "[" * 40 + "]" * 40]
    lines += [f"a{i}: &a{i} " + "[" * 39 + f"*a{i - 1}" + "]" * 39 for i in range(1, 5)]
    (cfg / "rules.yaml").write_text("\n".join(lines) + "\nrules: *a4\n", encoding="utf-8")
    error = the_error(cfg)
    assert f"nested deeper than {MAX_DEPTH} levels" in error.message and "aliases" in error.message


# --- item 6: every numeric parameter is bounded at load ---------------------------------------------------------


def rule_with(condition: str) -> str:
    return f"""\
rules:
  - name: bounded
    conditions:
      - {condition}
    actions:
      - type: log_event
        params: {{message: hi}}
"""


@pytest.mark.parametrize(
    ("condition", "field", "words"),
    [
        ("{type: time_before_booking, params: {hours: 1e400}}", "hours", "finite"),
        ("{type: time_before_booking, params: {hours: 1.0e400}}", "hours", "finite"),
        ("{type: time_before_booking, params: {hours: .inf}}", "hours", "finite"),
        ("{type: time_before_booking, params: {hours: .nan}}", "hours", "finite"),
        ("{type: time_before_booking, params: {hours: 1e10}}", "hours", "8760"),
        ("{type: time_before_booking, params: {hours: 8761}}", "hours", "8760"),
        ("{type: time_before_booking, params: {hours: 0}}", "hours", "greater than 0"),
        ("{type: time_before_booking, params: {hours: true}}", "hours", "number"),
        ("{type: current_hour, params: {hour: 24}}", "", "0-23"),
        ("{type: current_hour, params: {hour: 99999999999999999999999}}", "", "0-23"),
        ("{type: current_hour, params: {hour: true}}", "", "integer"),
        ("{type: current_hour, params: {hour: 20.5}}", "", "integer"),
        ("{type: has_multiple_options, params: {keywords: [x], min_count: 0}}", "min_count", "1"),
        ("{type: has_multiple_options, params: {keywords: [x], min_count: 1001}}", "min_count", "1000"),
        ("{type: has_multiple_options, params: {keywords: [x], min_count: 1e400}}", "min_count", "integer"),
        ("{type: date_range, params: {start: 2026-01-01, end: 99999-01-01}}", "end", "date"),
    ],
)
def test_a_numeric_parameter_out_of_its_documented_range_is_refused_at_load(
    tmp_path: Path, condition: str, field: str, words: str
) -> None:
    # GIVEN a rule whose parameter is infinite, not a number, or far outside any sane range
    cfg = config_copy(tmp_path)
    (cfg / "rules.yaml").write_text(rule_with(condition), encoding="utf-8")
    # WHEN checked THEN refused at the parameter's line, naming the field and the bound
    error = the_error(cfg)
    assert (error.file, error.line, error.rule) == (str(cfg / "rules.yaml"), 4, "bounded")
    # (current_hour's one check covers both of its shapes: it names the parameters, as it always did)
    assert error.field is not None and error.field.endswith(f"params.{field}".rstrip(".")), error.render()
    assert words in error.message, error.render()


@pytest.mark.parametrize(
    "condition",
    [
        "{type: time_before_booking, params: {hours: 8760}}",
        "{type: time_before_booking, params: {hours: 0.01}}",
        "{type: current_hour, params: {hour: [0, 23]}}",
        "{type: has_multiple_options, params: {keywords: [x], min_count: 1000}}",
    ],
)
def test_the_bounds_themselves_are_allowed(tmp_path: Path, condition: str) -> None:
    cfg = config_copy(tmp_path)
    (cfg / "rules.yaml").write_text(rule_with(condition), encoding="utf-8")
    compile_config(cfg)


def test_the_widest_window_decides_without_overflow(tmp_path: Path) -> None:
    # GIVEN the widest window allowed, a booking far in the future and one long past
    from naver_sms.config.settings import Settings
    from naver_sms.domain import FixedClock
    from naver_sms.runner import run_once
    from naver_sms.wiring import build_runtime
    from tests.world import kst, naver_booking

    cfg = config_copy(tmp_path)
    (cfg / "rules.yaml").write_text(
        rule_with("{type: time_before_booking, params: {hours: 8760}}"), encoding="utf-8"
    )
    raws = [
        naver_booking(booking_id=900000071, start="9999-12-30 10:00"),
        naver_booking(booking_id=900000072, start="2026-12-25 10:00"),
        naver_booking(booking_id=900000073, start="0001-01-05 10:00"),
    ]
    (tmp_path / "b.json").write_text(json.dumps(raws), encoding="utf-8")
    settings = Settings(config_dir=cfg, db=str(tmp_path / "s.db"), bookings_path=tmp_path / "b.json")
    runtime, _ = build_runtime(settings, clock=FixedClock(kst("2026-11-26 18:40")), run_id="r1")
    # WHEN a run decides THEN no overflow: only the booking inside the year matched
    report = run_once(runtime, run_id="r1")
    assert report.ok, report.failed
    assert report.rules_matched == {"bounded": 1}


# --- item 7: templates the sandbox would refuse, unknown top-level keys ----------------------------------------------


@pytest.mark.parametrize("key", ["rulez", "Rules", "rule"])
def test_a_misspelt_top_level_key_of_rules_yaml_is_refused_with_a_suggestion(
    tmp_path: Path, key: str
) -> None:
    cfg = config_copy(tmp_path)
    text = (cfg / "rules.yaml").read_text(encoding="utf-8")
    (cfg / "rules.yaml").write_text(text.replace("\nrules:\n", f"\n{key}:\n", 1), encoding="utf-8")
    error = the_error(cfg)
    assert error.file == str(cfg / "rules.yaml")
    assert error.line == line_in(cfg / "rules.yaml", f"{key}:")
    assert (error.field, error.suggestion) == (key, "rules")
    assert "unknown" in error.message


def test_an_extra_top_level_key_beside_rules_is_refused(tmp_path: Path) -> None:
    cfg = config_copy(tmp_path)
    with (cfg / "rules.yaml").open("a", encoding="utf-8") as f:
        f.write("\nrulez:\n  - name: forgotten\n")
    error = the_error(cfg)
    assert (error.field, error.suggestion) == ("rulez", "rules")
    assert error.line == line_in(cfg / "rules.yaml", "rulez:")


def line_in(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(needle):
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_documented_bounds_are_the_bounds_of_the_code() -> None:
    from naver_sms.rules.conditions import MAX_HOURS, MAX_OPTION_COUNT

    doc = (CONFIG_DIR.parent / "docs" / "rules" / "conditions.md").read_text(encoding="utf-8")
    assert f"| `time_before_booking.hours` | a number, `0 < hours <= {MAX_HOURS}` (one year) |" in doc
    assert f"| `has_multiple_options.min_count` | an integer `1`–`{MAX_OPTION_COUNT}` |" in doc
    assert f"{MAX_DEPTH} YAML levels" in doc


@pytest.mark.parametrize("digits", ["9" * 5000, "-" + "9" * 5000, "0x" + "f" * 5000, "1" + "0" * 100])
def test_a_number_with_more_digits_than_python_converts_is_located_not_a_traceback(
    tmp_path: Path, digits: str
) -> None:
    # found by the fuzz suite: PyYAML's int() raised ValueError (Python's 4,300-digit limit), and a long hex
    # number, which int() takes, raised it later from pydantic's str() of it
    cfg = config_copy(tmp_path)
    text = (cfg / "rules.yaml").read_text(encoding="utf-8")
    (cfg / "rules.yaml").write_text(text.replace("hour: 20", f"hour: {digits}"), encoding="utf-8")
    error = the_error(cfg)
    code, stderr, _ = rules_check(cfg)
    assert (error.file, error.line) == (
        str(cfg / "rules.yaml"),
        line_in(cfg / "rules.yaml", "        params: {hour:"),
    )
    assert "more than 100 digits" in error.message
    assert code == 2 and "Traceback" not in stderr
