"""The recipes of docs/rules/recipes.md work as written (issue 13 item 5): each recipe's rules on top of the
default configuration, its fixtures passing `rules test`, and the Slack recipes run in the sandbox with Slack
on - one message each, as the page shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from naver_sms.config.settings import Settings
from naver_sms.domain.clock import FixedClock, parse_kst
from naver_sms.rule_fixtures import load_fixtures, run_fixture
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime, fixture_runtimes
from tests.test_docs import DOCS, Block, blocks, config_with, is_templates_block, rules_of, sections
from tests.world import naver_booking

RECIPES = DOCS / "rules" / "recipes.md"


def recipe(section: str) -> tuple[list[dict[str, Any]], dict[str, Any], list[Block]]:
    """The rules, the templates and the fixture blocks of one recipe (one `##` section of the page)."""
    rules: list[dict[str, Any]] = []
    templates: dict[str, Any] = {}
    fixtures = []
    for block in blocks(RECIPES, "yaml", section=section):
        data = yaml.safe_load(block.text)
        if is_templates_block(block):
            templates.update(data["sms"])
        elif isinstance(data, dict) and "tests" in data:
            fixtures.append(block)
        else:
            rules += rules_of(data) or []
    return rules, templates, fixtures


def with_fixtures() -> list[tuple[str, Block]]:
    return [(name, b) for name in sections(RECIPES) for b in recipe(name)[2]]


def test_the_page_has_recipes_with_fixtures_and_slack_recipes() -> None:
    assert len(with_fixtures()) >= 3
    assert all(recipe(name)[0] for name in sections(RECIPES))


@pytest.mark.parametrize(("section", "block"), with_fixtures(), ids=lambda v: str(v)[:40])
def test_a_recipes_fixtures_pass_rules_test(section: str, block: Block, tmp_path: Path) -> None:
    # GIVEN the default configuration with the recipe's rules and templates
    rules, templates, _ = recipe(section)
    directory = config_with(tmp_path, rules, templates)
    fixture_file = tmp_path / "recipe.yaml"
    fixture_file.write_text(block.text, encoding="utf-8")
    make = fixture_runtimes(directory)
    # WHEN its fixtures run THEN each passes, every run of it
    for fixture, line in load_fixtures(fixture_file):
        result = run_fixture(fixture, make_runtime=make, file=str(block), line=line)
        assert result.passed, f"{block}: {fixture.name}: {result.problems}"


def sandbox_runs(tmp_path: Path, section: str, runs: list[tuple[str, list[dict[str, Any]]]]) -> list[Any]:
    """The recipe's rules in the sandbox with Slack on: one run per (now, bookings), on one database."""
    rules, templates, _ = recipe(section)
    settings = Settings(
        config_dir=config_with(tmp_path, rules, templates),
        db=str(tmp_path / "state.sqlite3"),
        bookings_path=tmp_path / "bookings.json",
        slack_enabled=True,
    )
    reports = []
    for i, (now, bookings) in enumerate(runs):
        (tmp_path / "bookings.json").write_text(json.dumps(bookings, ensure_ascii=False), encoding="utf-8")
        runtime, _ = build_runtime(settings, clock=FixedClock(parse_kst(now)), run_id=f"recipe-{i}")
        report = run_once(runtime, run_id=f"recipe-{i}")
        assert report.ok and report.errors == [], report.errors
        reports.append(report)
    return reports


def slack(report: Any) -> list[str]:
    return [n.text for n in report.notifications if n.channel == "slack"]


def test_the_cancellation_recipe_tells_the_owner_once_and_the_guide_never_goes(tmp_path: Path) -> None:
    booked = naver_booking(booking_id=900000101, start="2026-11-26 20:00", name="홍길동")
    cancelled = {**booked, "bookingStatusCode": "RC04"}
    first, second, third = sandbox_runs(
        tmp_path,
        "Tell the owner on Slack when a booking is cancelled",
        [
            ("2026-11-26 17:00", [booked]),
            ("2026-11-26 18:20", [cancelled]),
            ("2026-11-26 18:40", [cancelled]),
        ],
    )
    assert [s.template for s in first.sms] == ["confirmation"] and slack(first) == []
    # the message is the one the page shows; the guide (due from 18:00) never goes
    assert slack(second) == ["예약 취소: 강남점 11/26 20:00 · 예약 900000101 · 홍*동"]
    assert second.sms == [] and third.sms == [] and slack(third) == []


def test_the_unconfirmed_request_recipe_tells_the_owner_once_and_the_confirmation_goes_at_once(
    tmp_path: Path,
) -> None:
    request = naver_booking(
        booking_id=900000201,
        status="RC02",
        start="2026-12-03 14:00",
        regDateTime="2026-11-26T15:00:00+09:00",
    )
    confirmed = {**request, "bookingStatusCode": "RC03"}
    runs = [
        ("2026-11-26 17:40", [request]),
        ("2026-11-26 18:00", [request]),
        ("2026-11-26 18:20", [request]),
        ("2026-11-26 18:40", [confirmed]),  # the store confirms it
    ]
    waiting, told, quiet, after = sandbox_runs(
        tmp_path, "Remind the owner of requests left unconfirmed", runs
    )
    assert slack(waiting) == [] and slack(quiet) == [] and slack(after) == []
    assert slack(told) == ["확정 대기 3시간: 강남점 12/03 14:00 · 예약 900000201"]
    # its confirmation goes out in the run that sees it confirmed, not two hours before the shoot
    assert [s.template for s in after.sms] == ["confirmation"]


def test_the_nine_oclock_recipe_posts_todays_bookings_once_a_day(tmp_path: Path) -> None:
    morning = naver_booking(booking_id=900000301, start="2026-11-27 11:00")
    afternoon = naver_booking(booking_id=900000302, start="2026-11-27 15:00")
    late = naver_booking(booking_id=900000303, start="2026-11-27 17:00")
    reports = sandbox_runs(
        tmp_path,
        "A list of today's bookings at 09:00",
        [
            ("2026-11-27 00:00", [morning, afternoon]),  # already today's, in the period of the 26th's 09:00
            ("2026-11-27 08:40", [morning, afternoon]),
            ("2026-11-27 09:00", [morning, afternoon]),
            ("2026-11-27 09:20", [morning, afternoon, late]),  # a new booking: not posted again today
        ],
    )
    midnight, before, nine, after = (slack(r) for r in reports)
    assert midnight == before == after == []
    shown = blocks(RECIPES, "text", section="A list of today's bookings at 09:00")
    assert nine == [shown[0].text.strip()]
