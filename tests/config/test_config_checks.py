"""`rules check` finds what the run would trip on, where it is written (issue 11, items 4-7 and 2):

- every SMS template is compiled and its names checked at load - used by a rule or not - filters, tests and
  the attributes of loop variables of known shapes included (item 4);
- a template with variables is measured as it renders: with every variable of known length at its longest,
  or a warning with the bytes left for what only a booking knows; `type: auto` suggested (item 5);
- errors are at the template's own line of templates.yaml with the rule that uses it; a store missing a role
  gets no suggestion of itself; a field indented one level too deep is found where it was written; a tab
  says to use spaces; a pattern says what a valid value looks like (item 6);
- one pass reports the errors of every file: stores.yaml's do not hide rules.yaml's and templates.yaml's
  (item 7);
- a send due only while the booking has no row, that nothing sends again, is a warning (item 2).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.domain.sms_text import euc_kr_length
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.wiring import compile_config
from tests.conftest import CONFIG_DIR


def copy(tmp: Path) -> Path:
    target = tmp / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors_of(config: Path) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as info:
        compile_config(config)
    return info.value.errors


def line_in(path: Path, needle: str) -> int:
    return next(
        n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line
    )


def check_json(config: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(config), "--json"])
    return json.loads(result.stdout)


# --- item 4: every template compiled, its names checked --------------------------------------------------


def test_an_unused_sms_template_with_an_unknown_filter_is_refused_at_its_line(tmp_path: Path) -> None:
    # GIVEN a template no rule uses yet, with `| date` (not a Jinja filter)
    cfg = copy(tmp_path)
    append(
        cfg / "templates.yaml",
        "  later:\n    type: LMS\n    text: |\n      예약 {{ booking.reserve_at | date }} 확인\n",
    )
    # WHEN the configuration is checked THEN it is refused at the line of the filter, inside the block
    [error] = errors_of(cfg)
    assert error.file == str(cfg / "templates.yaml") and error.field == "sms.later.text"
    assert error.line == line_in(cfg / "templates.yaml", "| date }}")
    assert "unknown filter 'date'" in error.message


DIGEST = """
  - name: digest_of_bookings
    mode: digest
    conditions:
      - type: booking_status
        params: {status: RC03}
    actions:
      - type: send_slack
        params:
          message: |-
            {%- for b in bookings|sort(attribute='reserve_at') %}
            - {{ b.nmae }}
            {%- endfor %}
"""


def test_a_misspelt_attribute_of_a_loop_variable_over_sorted_bookings_is_refused(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    append(cfg / "rules.yaml", DIGEST)
    [error] = errors_of(cfg)
    assert error.rule == "digest_of_bookings" and error.field == "actions[0].params.message"
    assert "booking has no attribute 'nmae'" in error.message and error.suggestion == "name"


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ("{% for b in bookings|sort(attribute='reserv_at') %}{{ b.name }}{% endfor %}", "'reserv_at'"),
        ("{% for o in bookings[0].options %}{{ o.nmae }}{% endfor %}", "option has no attribute 'nmae'"),
        ("{{ stores[bookings[0].store_id].alis }}", "store has no attribute 'alis'"),
        ("{{ (bookings|first).phone_last }}", "booking has no attribute 'phone_last'"),
        ("{{ now.strftme('%H') }}", "datetime has no attribute 'strftme'"),
        ("{{ bookings|map(attribute='nme')|join(', ') }}", "booking has no attribute 'nme'"),
        ("{% for g in by_store %}{{ g.store.alis }}{% endfor %}", "store has no attribute 'alis'"),
        (
            "{% for g in by_store %}{{ g.bokings|length }}{% endfor %}",
            "store_group has no attribute 'bokings'",
        ),
        ("{{ bookings[0].registered_at.strftme('%m') }}", "datetime has no attribute 'strftme'"),
    ],
)
def test_attributes_are_checked_through_filters_indexes_and_loops(
    tmp_path: Path, message: str, named: str
) -> None:
    cfg = copy(tmp_path)
    append(
        cfg / "rules.yaml",
        DIGEST.replace(
            "|-\n            {%- for b in bookings|sort(attribute='reserve_at') %}\n            - {{ b.nmae }}\n            {%- endfor %}",
            json.dumps(message),
        ),
    )
    [error] = errors_of(cfg)
    assert named in error.message


# --- item 5: measured as it renders ----------------------------------------------------------------------

SHORT_SMS = (
    "[예시스튜디오 {{ store.alias }}] {{ booking.reserve_at.strftime('%m/%d %H:%M') }} 촬영 예약이 "
    "확인되었습니다. 문의: {{ store.sender or '0200000000' }}"
)


def test_an_sms_template_longer_as_written_than_as_rendered_passes(tmp_path: Path) -> None:
    # GIVEN a type SMS template of 150 bytes as written that renders to at most 78 (the longest store alias)
    assert euc_kr_length(SHORT_SMS) > 90
    cfg = copy(tmp_path)
    append(
        cfg / "templates.yaml",
        f"  short_notice:\n    type: SMS\n    text: {json.dumps(SHORT_SMS, ensure_ascii=False)}\n",
    )
    # WHEN checked THEN it is valid: measured as it renders, not as written
    assert check_json(cfg)["ok"] is True


def test_an_sms_template_over_the_limit_as_rendered_is_refused_with_type_auto_suggested(
    tmp_path: Path,
) -> None:
    cfg = copy(tmp_path)
    text = SHORT_SMS + " {{ store.name }} {{ store.name }}"
    append(
        cfg / "templates.yaml",
        f"  long_notice:\n    type: SMS\n    text: {json.dumps(text, ensure_ascii=False)}\n",
    )
    [error] = errors_of(cfg)
    assert (
        error.field == "sms.long_notice.text"
        and error.line == line_in(cfg / "templates.yaml", "long_notice:") + 2
    )
    assert "renders to 1" in error.message and "over the SMS limit of 90" in error.message
    assert "`type: auto`" in error.message


def test_a_name_of_no_known_length_is_a_warning_with_the_bytes_left(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    append(
        cfg / "templates.yaml",
        '  hello:\n    type: SMS\n    text: "{{ booking.name }}님, 오늘 촬영 예약을 확인합니다."\n',
    )
    checked = check_json(cfg)
    assert checked["ok"] is True
    [warning] = [w for w in checked["warnings"] if "sms.hello" in w]  # type: ignore[union-attr]
    assert (
        "booking.name" in warning and "bytes (" in warning and "left" in warning and "`type: auto`" in warning
    )


# --- item 6: located where they are written -----------------------------------------------------------


def test_a_template_error_is_at_the_templates_line_and_names_the_rule_that_uses_it(tmp_path: Path) -> None:
    # GIVEN the confirmation template with a misspelt variable on the third line of its block
    cfg = copy(tmp_path)
    replace(
        cfg / "templates.yaml",
        "      - 촬영 10분 전까지 도착해 주세요.\n",
        "      - {{ booking.nmae }}님, 촬영 10분 전까지 도착해 주세요.\n",
    )
    # WHEN checked THEN one error, at that line of templates.yaml, naming both rules that send it
    [error] = errors_of(cfg)
    assert (error.file, error.line) == (
        str(cfg / "templates.yaml"),
        line_in(cfg / "templates.yaml", "booking.nmae"),
    )
    assert "booking has no attribute 'nmae'" in error.message and error.suggestion == "name"
    assert (
        "'new_booking_confirmation'" in error.message and "'existing_booking_confirmation'" in error.message
    )


def test_a_store_missing_a_role_is_told_what_to_add_not_its_own_name(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    replace(cfg / "stores.yaml", "    templates: {guide: guide_seongsu}\n", "")
    [error] = errors_of(cfg)
    assert (
        "store(s) 1000008 have no 'guide' template" in error.message
        and "`guide: <template>`" in error.message
    )
    assert error.suggestion is None and "did you mean" not in error.render()


def test_a_field_indented_one_level_too_deep_is_found_where_it_was_written(tmp_path: Path) -> None:
    # GIVEN the Busan store's `alias:` indented under its `templates:` (valid YAML, a missing alias)
    cfg = copy(tmp_path)
    replace(
        cfg / "stores.yaml",
        '    alias: 부산점\n    sender: "0510000000"          # this store sends its guide from its own number\n'
        "    templates: {guide: guide_busan}\n",
        '    sender: "0510000000"\n    templates:\n      guide: guide_busan\n      alias: 부산점\n',
    )
    [error] = [e for e in errors_of(cfg) if e.field == "stores[1].alias"]
    assert error.line == line_in(cfg / "stores.yaml", "alias: 부산점")
    assert "indented too deep" in error.message


def test_a_rules_actions_indented_under_its_conditions_are_found_where_they_were_written(
    tmp_path: Path,
) -> None:
    cfg = copy(tmp_path)
    append(
        cfg / "rules.yaml",
        "\n  - name: deep\n    conditions:\n      - type: booking_in_db\n        actions:\n          - create_db_record\n",
    )
    errors = [e for e in errors_of(cfg) if e.rule == "deep" and e.field == "actions"]
    assert [e.line for e in errors] == [line_in(cfg / "rules.yaml", "        actions:")]
    assert "indented too deep" in errors[0].message


def test_a_tab_says_to_indent_with_spaces(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    replace(cfg / "rules.yaml", "      - type: booking_not_in_db\n", "\t- type: booking_not_in_db\n")
    [error] = errors_of(cfg)
    assert "indent with spaces" in error.message and error.line == line_in(cfg / "rules.yaml", "\t- type")


def test_a_value_that_does_not_match_its_pattern_is_shown_a_valid_one(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    replace(cfg / "rules.yaml", "params: {status: RC08}", "params: {status: rc08}")
    replace(cfg / "stores.yaml", 'sender: "0510000000"', 'sender: "051-000-0000"')
    messages = {e.field: e.message for e in errors_of(cfg)}
    assert messages["conditions[0].params.status"].startswith("must look like 'RC03' (RC and two digits")
    assert "got 'rc08'" in messages["conditions[0].params.status"]
    assert messages["stores[1].sender"].startswith("must look like '0200000000'")


# --- item 7: every file's errors in one pass -------------------------------------------------------------


def test_an_error_in_stores_yaml_hides_no_error_of_the_other_files(tmp_path: Path) -> None:
    # GIVEN one mistake in each file
    cfg = copy(tmp_path)
    replace(cfg / "stores.yaml", 'default_sender: "0200000000"', 'default_sender: "02-000-0000"')
    append(cfg / "templates.yaml", '  broken:\n    text: "{{ booking.nmae }}"\n')
    replace(cfg / "rules.yaml", "type: booking_in_db", "type: booking_in_dbb")
    # WHEN checked THEN all three are reported at once
    files = {Path(str(e.file)).name for e in errors_of(cfg)}
    assert files == {"stores.yaml", "templates.yaml", "rules.yaml"}


def test_a_broken_templates_file_does_not_bury_the_rules_under_unknown_template_errors(
    tmp_path: Path,
) -> None:
    cfg = copy(tmp_path)
    (cfg / "templates.yaml").write_text("sms: [\n", encoding="utf-8")
    replace(cfg / "rules.yaml", "type: booking_in_db", "type: booking_in_dbb")
    errors = errors_of(cfg)
    assert [Path(str(e.file)).name for e in errors] == ["templates.yaml", "rules.yaml"]
    assert not any("unknown SMS template" in e.message for e in errors)


# --- item 2: due only while the booking has no row -------------------------------------------------------

NEW_BOOKING_SLACK = """
  - name: tell_slack_once
    conditions:
      - type: booking_status
        params: {status: RC03}
      - booking_not_in_db
    actions:
      - type: send_slack
        params: {message: "new booking {{ booking.booking_id }}"}
      - type: update_flag
        params: {flag: slack_told, value: true}
"""


def test_a_message_due_only_while_the_booking_has_no_row_is_a_warning(tmp_path: Path) -> None:
    cfg = copy(tmp_path)
    append(cfg / "rules.yaml", NEW_BOOKING_SLACK)
    checked = check_json(cfg)
    assert checked["ok"] is True
    [warning] = [w for w in checked["warnings"] if "tell_slack_once" in w]  # type: ignore[union-attr]
    assert "flag_not_set(slack_told)" in warning and "channel off" in warning


def test_the_default_rules_are_not_warned_about(tmp_path: Path) -> None:
    warnings = check_json(CONFIG_DIR)["warnings"]
    assert not [w for w in warnings if "no row" in w]  # type: ignore[union-attr]
