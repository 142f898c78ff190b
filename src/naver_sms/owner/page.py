"""The report as one HTML page (`naver-sms report --html FILE`; on AWS the daily report's link): one file that
fetches nothing - the charts are inline SVG (owner/charts.py), the style is in the page - and reads on a phone
(one column, the charts as wide as the screen, wide tables scroll inside their box). Every value from the
configuration, the bookings or an error is HTML-escaped (Jinja2's autoescape); only the charts' SVG, which
pygal builds as XML with its text escaped, is inserted as markup."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from naver_sms.owner import charts
from naver_sms.owner.daily import DayReport
from naver_sms.owner.runlog import Count, counts_of
from naver_sms.ports import RunLog

_PAGE = """<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>naver-sms {{ r.day }}</title>
<style>
  body { font-family: sans-serif; margin: 0 auto; padding: 12px; max-width: 760px; color: #222; line-height: 1.45; }
  h1 { font-size: 1.35rem; margin: 0.2em 0 0.6em; } h2 { font-size: 1.1rem; margin: 1.4em 0 0.5em; }
  .cards { display: flex; flex-wrap: wrap; gap: 8px; }
  .card { flex: 1 1 140px; border: 1px solid #ddd; border-radius: 8px; padding: 8px 10px; }
  .card b { display: block; font-size: 1.4rem; }
  .chart svg { width: 100%; height: auto; display: block; }
  .scroll { overflow-x: auto; } table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
  th, td { border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left; vertical-align: top; }
  .bad { color: #b00020; } .muted { color: #777; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>{{ r.day }} 일일 보고 <span class="muted">daily report</span></h1>
<p class="muted">{{ generated }} · {{ r.runs }} runs{% if r.failed_runs %} ({{ r.failed_runs }} failed){% endif %}</p>
<div class="cards">
  <div class="card" id="card-sent"><b>{{ r.sent }}</b>문자 발송 / SMS sent</div>
  <div class="card{% if r.failed %} bad{% endif %}" id="card-failed"><b>{{ r.failed }}</b>실패 / failed</div>
  <div class="card" id="card-tomorrow"><b>{{ r.tomorrow | length if r.forecast else '?' }}</b>내일 예정 / tomorrow</div>
  {% if r.cost %}<div class="card" id="card-cost"><b>{{ r.cost.total }}원</b>비용 / cost</div>{% endif %}
</div>
<h2>오늘 매장별 / today by store</h2>
<div class="chart" id="chart-day-store">{{ day_store }}</div>
<h2>오늘 종류별 / today by kind</h2>
<div class="chart" id="chart-day-kind">{{ day_kind }}</div>
<h2>이번 달 / this month</h2>
<div class="chart" id="chart-month">{{ month }}</div>
<h2>문제 / failures</h2>
{% if r.failures %}<div class="scroll"><table id="failures"><tr><th>무엇 / what</th><th>할 일 / what to do</th></tr>
{% for f in r.failures %}<tr><td>{{ f.what }}</td><td>{{ f.fix }}</td></tr>{% endfor %}</table></div>
{% else %}<p id="failures">없음 / none</p>{% endif %}
{% if r.delivery %}<h2>전달 / delivery</h2>
<p id="delivery">{{ r.delivery.checked }} / {{ r.delivery.of }} checked: {{ r.delivery.delivered }} delivered,
{{ r.delivery.failed }} failed, {{ r.delivery.pending }} pending</p>
{% for d in r.delivery.failures %}<p class="bad">{{ d.to }} {{ d.kind }}: {{ d.detail }}</p>{% endfor %}{% endif %}
<h2>내일 예정 / upcoming</h2>
{% if r.tomorrow %}<div class="scroll"><table id="upcoming"><tr><th>run</th><th>kind</th><th>store</th><th>to</th></tr>
{% for p in r.tomorrow %}<tr><td>{{ p.at.strftime('%m-%d %H:%M') }}</td><td>{{ r.kind_of(p) }}{% if p.template and p.template != r.kind_of(p) %} <span class="muted">{{ p.template }}</span>{% endif %}</td>
<td>{{ stores[p.store_id].alias if p.store_id in stores else (p.store_id or '') }}</td><td>{{ p.to or '' }}</td></tr>
{% endfor %}</table></div>{% elif r.forecast %}<p id="upcoming">없음 / none</p>{% else %}<p id="upcoming">예측하지 못함 / no forecast</p>{% endif %}
</body>
</html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def month_days(day: date) -> list[date]:
    """The days of `day`'s month up to `day`."""
    first = day.replace(day=1)
    return [first + timedelta(days=i) for i in range((day - first).days + 1)]


def render_page(report: DayReport, runs: RunLog, *, generated: str) -> str:
    """The whole page: the day (`report`) and its month (the run log's totals per day)."""
    days = month_days(report.day)
    totals: dict[str, list[Count]] = {
        d: counts_of(t) for d, t in runs.day_totals([d.isoformat() for d in days]).items()
    }
    variables: dict[str, Any] = {
        "r": report,
        "stores": report.stores,
        "generated": generated,
        "day_store": Markup(charts.by_store(report.sends, report.stores, "매장별 / by store")),
        "day_kind": Markup(charts.by_kind(report.sends, "종류별 / by kind")),
        "month": Markup(charts.per_day(days, totals, f"{report.day:%Y-%m} 일별 / per day")),
    }
    return _ENV.from_string(_PAGE).render(**variables)
