"""Every kind of invalid configuration refuses to load with an error naming file, line, rule and field
(and a suggestion for near-miss names); a warning never changes a text."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from naver_sms.config.loader import load_config
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.wiring import compile_config
from tests.conftest import CONFIG_DIR

RULE_HEAD = "rules:\n"


def write_config(
    tmp_path: Path,
    *,
    rules: str | None = None,
    templates_extra: str = "",
    stores_replace: tuple[str, str] | None = None,
) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    if rules is not None:
        (target / "rules.yaml").write_text(RULE_HEAD + textwrap.dedent(rules), encoding="utf-8")
    if templates_extra:
        with (target / "templates.yaml").open("a", encoding="utf-8") as f:
            f.write(templates_extra)
    if stores_replace:
        path = target / "stores.yaml"
        text = path.read_text(encoding="utf-8")
        assert stores_replace[0] in text
        path.write_text(text.replace(stores_replace[0], stores_replace[1], 1), encoding="utf-8")
    return target


def errors_of(config_dir: Path) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as info:
        compile_config(config_dir)
    return info.value.errors


def line_in(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


GOOD_ACTIONS = """\
    actions:
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: confirm_sms}
"""


def test_the_default_configuration_is_valid(tmp_path: Path) -> None:
    config, _, rules = compile_config(CONFIG_DIR)
    assert [r.name for r in rules] == [
        "new_booking_confirmation",
        "existing_booking_confirmation",
        "guide_two_hours_before",
        "review_request_event",
    ]
    assert len(config.stores) == 8


def test_an_unknown_condition_type_is_located_and_a_close_name_suggested(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_dbb
"""
        + GOOD_ACTIONS,
    )
    [error] = errors_of(cfg)
    assert error.file == str(cfg / "rules.yaml")
    assert error.line == line_in(cfg / "rules.yaml", "booking_not_in_dbb")
    assert error.rule == "r1"
    assert error.field == "conditions[0].type"
    assert error.suggestion == "booking_not_in_db"
    assert f"rules.yaml:{error.line}: rule 'r1': conditions[0].type:" in error.render()
    assert "did you mean 'booking_not_in_db'?" in error.render()


def test_an_unknown_parameter_suggests_the_right_one(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: time_before_booking
        params:
          hour: 2
"""
        + GOOD_ACTIONS,
    )
    errors = errors_of(cfg)
    unknown = next(e for e in errors if e.message == "unknown field")
    assert unknown.field == "conditions[0].params.hour"
    assert unknown.suggestion == "hours"
    assert unknown.line == line_in(cfg / "rules.yaml", "hour: 2")
    missing = next(e for e in errors if "missing" in e.message)
    assert missing.field == "conditions[0].params.hours"


def test_a_missing_parameter_is_named(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: current_hour
"""
        + GOOD_ACTIONS,
    )
    [error] = errors_of(cfg)
    assert error.field == "conditions[0].params.hour"
    assert error.message == "required field is missing"
    assert error.line == line_in(cfg / "rules.yaml", "type: current_hour")


def test_a_parameter_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: time_before_booking
        params: {hours: two}
"""
        + GOOD_ACTIONS,
    )
    [error] = errors_of(cfg)
    assert error.field == "conditions[0].params.hours"
    assert "number" in error.message
    assert error.line == line_in(cfg / "rules.yaml", "hours: two")


def test_an_out_of_range_hour_is_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: current_hour
        params: {hour: 24}
"""
        + GOOD_ACTIONS,
    )
    [error] = errors_of(cfg)
    assert "0-23" in error.message


def test_an_unknown_action_type_is_suggested(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_telegramm
        params: {message: hi}
""",
    )
    [error] = errors_of(cfg)
    assert error.field == "actions[0].type"
    assert error.suggestion == "send_telegram"
    assert error.line == line_in(cfg / "rules.yaml", "send_telegramm")


def test_an_unknown_sms_template_is_suggested(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_sms
        params:
          template: confirmaton
      - type: update_flag
        params: {flag: confirm_sms}
""",
    )
    [error] = errors_of(cfg)
    assert error.field == "actions[0].params.template"
    assert error.suggestion == "confirmation"
    assert error.line == line_in(cfg / "rules.yaml", "template: confirmaton")


def test_an_unknown_template_variable_is_found_at_load_time(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_slack
        params:
          message: "new booking {{ booking.nmae }} at {{ store.alias }}"
""",
    )
    [error] = errors_of(cfg)
    assert error.field == "actions[0].params.message"
    assert "booking has no attribute 'nmae'" in error.message
    assert error.suggestion == "name"


def test_an_undefined_variable_in_an_sms_template_is_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        templates_extra="""\
  hello:
    text: "안녕하세요 {{ customer }}님"
""",
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_sms
        params: {template: hello}
      - type: update_flag
        params: {flag: hello_sms}
""",
    )
    [error] = errors_of(cfg)
    assert "unknown template variable 'customer'" in error.message


def test_a_template_that_reaches_into_python_is_refused_by_the_sandbox(tmp_path: Path) -> None:
    from naver_sms.rules.templates import TemplateProblem, render

    with pytest.raises(TemplateProblem):
        render("{{ booking.__class__.__mro__ }}", {"booking": object()})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    (cfg / "rules.yaml").write_text("rules:\n  - name: r1\n    conditions: [\n", encoding="utf-8")
    [error] = errors_of(cfg)
    assert error.file == str(cfg / "rules.yaml")
    assert error.line is not None and error.line >= 3
    assert "invalid YAML" in error.message


def test_duplicate_rule_names_are_refused(tmp_path: Path) -> None:
    rule = (
        """\
  - name: twice
    conditions:
      - type: booking_not_in_db
"""
        + GOOD_ACTIONS
    )
    cfg = write_config(tmp_path, rules=rule + rule)
    [error] = errors_of(cfg)
    assert error.message == "duplicate rule name"
    assert error.line == 10


def test_a_misspelt_rule_field_is_suggested(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    condtions:
      - type: booking_not_in_db
"""
        + GOOD_ACTIONS,
    )
    errors = errors_of(cfg)
    assert any(e.field == "condtions" and e.suggestion == "conditions" for e in errors)


def test_a_send_without_a_flag_is_refused_because_it_would_repeat_every_run(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_sms
        params: {template: confirmation}
""",
    )
    [error] = errors_of(cfg)
    assert "send on every run" in error.message


def test_two_sends_of_one_rule_guarded_by_one_flag_are_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_sms
        params: {template: confirmation, flag: confirm_sms}
      - type: send_telegram
        params: {message: "new booking", flag: confirm_sms}
""",
    )
    [error] = errors_of(cfg)
    assert error.rule == "r1" and error.field == "actions[1].params.flag"
    assert "would never go out" in error.message
    assert error.line == line_in(cfg / "rules.yaml", "type: send_telegram")


@pytest.mark.parametrize(
    ("actions", "field"),
    [
        (  # the message sets confirm_sms first: the customer's confirmation would be skipped for good
            """\
      - type: send_telegram
        params: {message: "new booking", flag: confirm_sms}
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: confirm_sms}
""",
            "actions[1]",
        ),
        (
            """\
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: confirm_sms}
      - type: send_sms
        params: {template: event}
      - type: update_flag
        params: {flag: confirm_sms}
""",
            "actions[2]",
        ),
    ],
)
def test_an_sms_whose_flag_an_earlier_send_of_its_rule_sets_is_refused(
    tmp_path: Path, actions: str, field: str
) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
"""
        + actions,
    )
    [error] = errors_of(cfg)
    assert (error.rule, error.field) == ("r1", field)
    assert "would never go out" in error.message


def test_a_digest_rule_cannot_send_sms(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: d1
    mode: digest
    conditions:
      - type: booking_in_db
"""
        + GOOD_ACTIONS,
    )
    errors = errors_of(cfg)
    assert any("cannot run in a digest rule" in e.message for e in errors)


def test_an_sms_text_over_the_lms_limit_counted_in_euc_kr_is_an_error(tmp_path: Path) -> None:
    long_text = "가" * 1001  # 2002 bytes in EUC-KR, 1001 characters
    cfg = write_config(
        tmp_path,
        templates_extra=f"""\
  too_long:
    text: "{long_text}"
""",
    )
    with pytest.raises(ConfigErrors) as info:
        load_config(cfg)
    [error] = info.value.errors
    assert error.field == "sms.too_long.text"
    assert "2002 bytes" in error.message
    assert error.line == line_in(cfg / "templates.yaml", "too_long:") + 1


def test_an_sms_type_template_over_90_bytes_is_an_error(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        templates_extra="""\
  short:
    type: SMS
    text: "가나다라마바사아자차카타파하가나다라마바사아자차카타파하가나다라마바사아자차카타파하가나다라"
""",
    )
    with pytest.raises(ConfigErrors) as info:
        load_config(cfg)
    assert "over the SMS limit of 90" in info.value.errors[0].message


def test_characters_outside_euc_kr_are_a_warning_and_the_text_is_kept(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        templates_extra="""\
  emoji:
    text: "주차 안내 ⚠️ 아래 ⬇"
""",
    )
    config = load_config(cfg)
    assert config.sms_templates["emoji"].text == "주차 안내 ⚠️ 아래 ⬇"
    warning = next(w for w in config.warnings if "sms.emoji" in w)
    assert "U+26A0" in warning and "U+FE0F" in warning and "U+2B07" in warning


def test_a_store_naming_an_unknown_template_is_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, stores_replace=("templates: {guide: guide_busan}", "templates: {guide: guide_busn}")
    )
    with pytest.raises(ConfigErrors) as info:
        load_config(cfg)
    [error] = info.value.errors
    assert error.file == str(cfg / "stores.yaml")
    assert error.field == "stores[1].templates.guide"
    assert error.suggestion == "guide_busan"
    assert error.line == line_in(cfg / "stores.yaml", "guide_busn")


def test_a_store_specific_send_needs_the_role_in_every_store(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, stores_replace=("templates: {guide: guide_busan}", "templates: {}"))
    errors = errors_of(cfg)
    assert any("1000002" in e.message and e.rule == "guide_two_hours_before" for e in errors)


def test_a_bad_sender_number_is_refused(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, stores_replace=('sender: "0510000000"', 'sender: "051-000-0000"'))
    with pytest.raises(ConfigErrors) as info:
        load_config(cfg)
    assert info.value.errors[0].field == "stores[1].sender"


def test_every_error_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: nope
"""
        + GOOD_ACTIONS
        + """\
  - name: r2
    conditions:
      - type: booking_status
        params: {status: confirmed}
"""
        + GOOD_ACTIONS,
    )
    errors = errors_of(cfg)
    assert {e.rule for e in errors} == {"r1", "r2"}


def test_a_flag_name_that_would_clash_with_a_flags_bookkeeping_is_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        rules="""\
  - name: r1
    conditions:
      - type: booking_not_in_db
    actions:
      - type: send_sms
        params: {template: confirmation}
      - type: update_flag
        params: {flag: confirm_sms_failed}
""",
    )
    errors = errors_of(cfg)
    assert any(e.field == "actions[1].params.flag" and "'_failed'" in e.message for e in errors)
