"""The report page in a real browser at a phone's width: the three charts are there and as wide as the screen,
nothing makes the page scroll sideways, and its text is large enough to read (layout sizes, not pixels)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.cli.common import Seams
from naver_sms.domain.clock import FixedClock
from tests.console.conftest import ROOT, World
from tests.world import kst

pytestmark = [pytest.mark.browser]


def test_the_report_reads_on_a_phone(chrome, world: World, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    args = [
        "report",
        "--db",
        str(world.db),
        "--config",
        str(world.config_dir),
        "--bookings",
        str(ROOT / "examples" / "bookings"),
    ]
    result = CliRunner().invoke(
        app, [*args, "--html", str(page)], obj=Seams(clock=FixedClock(kst("2026-11-26 21:30")))
    )
    assert result.exit_code == 0, result.output
    chrome.get(page.as_uri())
    width = chrome.execute_script("return window.innerWidth")
    assert 300 <= width <= 420
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= width
    charts = chrome.execute_script(
        "return ['chart-day-store', 'chart-day-kind', 'chart-month'].map(function (id) {"
        "  var svg = document.querySelector('#' + id + ' svg'); if (!svg) { return null; }"
        "  var box = svg.getBoundingClientRect(); return [box.width, box.height, svg.querySelectorAll('rect').length]; })"
    )
    for chart in charts:
        assert chart is not None
        chart_width, chart_height, rects = chart
        assert width * 0.85 <= chart_width <= width and chart_height >= 150 and rects > 0
    sizes = chrome.execute_script(
        "return Array.from(document.querySelectorAll('td, .card, p')).map(function (e) {"
        "  return parseFloat(getComputedStyle(e).fontSize); })"
    )
    assert sizes and min(sizes) >= 12
    cards = chrome.execute_script(
        "return Array.from(document.querySelectorAll('.card')).map(function (e) { return e.getBoundingClientRect().right; })"
    )
    assert max(cards) <= width
    assert chrome.find_element("id", "card-sent").text.startswith("11")
