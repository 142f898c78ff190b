"""The check at load refuses what the sandbox would refuse at render time (issue 9, item 7): a template
that passes `rules check` must never fail every SMS built from it (each failure counts an attempt)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.domain.clock import KST
from naver_sms.errors import ConfigErrors
from naver_sms.rules.templates import TemplateProblem, check_template, render
from naver_sms.wiring import compile_config
from tests.conftest import CONFIG_DIR
from tests.world import booking

EACH = ("booking", "store", "now", "rule")
DIGEST = ("bookings", "count", "now", "rule", "stores")


def context() -> dict[str, Any]:
    b = booking(booking_id=900000081)
    return {
        "booking": b,
        "store": None,
        "now": datetime(2026, 11, 26, 18, 40, tzinfo=KST),
        "rule": "r",
        "bookings": [b],
        "count": 1,
        "stores": {},
    }


#: Each refused by the sandbox when rendered, so each must be refused by the check at load.
REFUSED = [
    ("{{ ''.__class__ }}", "'__class__'"),
    ("{{ booking.name.__class__.__mro__ }}", "'__"),
    ("{{ now.__class__ }}", "'__class__'"),
    ("{{ booking._private }}", "'_private'"),
    ("{{ booking['__class__'] }}", "'__class__'"),
    ("{{ booking|attr('__class__') }}", "'__class__'"),
    ("{{ '{0.__class__}'.format(booking) }}", "'__class__'"),
    ("{{ '{0[__class__]}'.format(booking) }}", "'__class__'"),
    ("{{ '{b.__class__}'.format_map({'b': booking}) }}", "'__class__'"),
    ("{{ bookings.append(1) }}", "'append'"),
    ("{{ stores.update(x=1) }}", "'update'"),
    ("{{ stores.pop('x') }}", "'pop'"),
    ("{% for i in range(1000000) %}{% endfor %}", "range"),
    ("{% include 'other.txt' %}", "include"),
    ("{% extends 'base.txt' %}", "extends"),
    ("{% import 'm.txt' as m %}", "import"),
    ("{% from 'm.txt' import x %}", "import"),
    ("{{ booking.name|no_such_filter }}", "no_such_filter"),
    ("{% if count %}{{ count|no_such_filter }}{% endif %}", "no_such_filter"),
    ("{% if booking.name is no_such_test %}x{% endif %}", "no_such_test"),
]


@pytest.mark.parametrize(("text", "named"), REFUSED)
def test_what_the_sandbox_refuses_the_check_refuses(text: str, named: str) -> None:
    allowed = DIGEST if "bookings" in text or "stores" in text or "count" in text else EACH
    # GIVEN a template the sandbox refuses when it renders
    with pytest.raises(Exception) as at_render:
        render(text, context())
    assert not isinstance(at_render.value, AssertionError)
    # THEN the check at load refuses it, naming what it refused
    with pytest.raises(TemplateProblem) as at_load:
        check_template(text, allowed=allowed)
    assert named in str(at_load.value)


SAFE = [
    "{{ booking.reserve_at.strftime('%H:%M') }}",
    "{{ '{:>5}'.format(booking.name) }}",
    "{{ '{0.name}'.format(booking) }}",
    "{{ now.replace(hour=1).hour }}",
    "{{ booking.name|upper }}",
    "{% if booking.name is string %}x{% endif %}",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "{{ booking.options|map(attribute='name')|join(', ') }}",
    "{% set n = booking.name %}{{ n }}",
    "plain text, {braces} and {{ '{{' }}",
]


@pytest.mark.parametrize("text", SAFE)
def test_what_the_sandbox_allows_the_check_allows(text: str) -> None:
    check_template(text, allowed=EACH)
    render(text, context())


def test_an_sms_template_that_reaches_into_python_fails_rules_check_not_every_send(tmp_path: Path) -> None:
    # GIVEN the confirmation SMS text replaced by one the sandbox refuses
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    with (cfg / "templates.yaml").open("a", encoding="utf-8") as f:
        f.write("  evil:\n    text: \"{{ ''.__class__ }}\"\n")
    rules = (cfg / "rules.yaml").read_text(encoding="utf-8")
    (cfg / "rules.yaml").write_text(
        rules.replace("params: {template: confirmation}", "params: {template: evil}"), encoding="utf-8"
    )
    # WHEN checked THEN refused at load, naming the template and what the sandbox would refuse
    with pytest.raises(ConfigErrors) as info:
        compile_config(cfg)
    assert info.value.errors, info.value
    assert all("SMS template 'evil'" in e.message and "__class__" in e.message for e in info.value.errors)
    result = CliRunner().invoke(app, ["rules", "check", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "__class__" in result.stderr
