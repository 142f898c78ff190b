"""The report's charts as inline SVG, drawn by pygal (a pure-Python SVG charting library; its tooltips' script,
which it would load from the network, is switched off): the page stays one self-contained file."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pygal
from pygal.style import Style

from naver_sms.domain.booking import Store
from naver_sms.owner.runlog import Count

SENT = ("sent", "outbox", "reconciled")

#: readable on a phone: large labels, the legend under the chart (never beside it), no tooltips' script
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="sans-serif",
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
)
_OPTIONS = {
    "js": [],
    "disable_xml_declaration": True,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 3,
    "truncate_label": -1,
    "truncate_legend": -1,
    "print_values": False,
    "style": _STYLE,
    "width": 640,
    "height": 360,
    "no_data_text": "없음 / none",
}


#: pygal writes its tooltips' configuration as a <script> inside the SVG even without its script files: the
#: page runs no script at all (and keeps no data inside one), so it is taken out
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


def _svg(chart: Any) -> str:
    return _SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _kinds(counts: Sequence[Count]) -> list[str]:
    return sorted({c.kind for c in counts if c.status in SENT})


def by_store(counts: Sequence[Count], stores: Mapping[str, Store], title: str) -> str:
    """The day's sends per store, stacked by kind."""
    chart = pygal.StackedBar(title=title, **_OPTIONS)
    ids = [s for s in stores if any(c.store == s and c.status in SENT for c in counts)]
    ids += sorted({c.store for c in counts if c.status in SENT} - set(ids))
    chart.x_labels = [stores[s].alias if s in stores else s for s in ids]
    for kind in _kinds(counts):
        chart.add(
            kind,
            [
                sum(c.n for c in counts if c.store == s and c.kind == kind and c.status in SENT) or None
                for s in ids
            ],
        )
    return _svg(chart)


def by_kind(counts: Sequence[Count], title: str) -> str:
    """The day's sends per kind, and the failures beside them."""
    chart = pygal.Bar(title=title, **_OPTIONS)
    kinds = sorted({c.kind for c in counts})
    chart.x_labels = kinds
    chart.add(
        "발송 / sent", [sum(c.n for c in counts if c.kind == k and c.status in SENT) or None for k in kinds]
    )
    chart.add(
        "실패 / failed",
        [sum(c.n for c in counts if c.kind == k and c.status not in SENT) or None for k in kinds],
    )
    return _svg(chart)


def per_day(days: Sequence[date], totals: Mapping[str, Sequence[Count]], title: str) -> str:
    """The month's sends per day, stacked by kind."""
    chart = pygal.StackedBar(title=title, x_label_rotation=0, show_minor_x_labels=False, **_OPTIONS)
    chart.x_labels = [f"{d.day}" for d in days]
    chart.x_labels_major = [f"{d.day}" for d in days if d.day in (1, 8, 15, 22, 29)]
    everything = [c for d in days for c in totals.get(d.isoformat(), ())]
    for kind in _kinds(everything):
        chart.add(
            kind,
            [
                sum(c.n for c in totals.get(d.isoformat(), ()) if c.kind == kind and c.status in SENT) or None
                for d in days
            ],
        )
    return _svg(chart)
