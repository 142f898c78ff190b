"""The daily report's data and text (docs/owner.md, "The daily report"): the day's sends by kind and store, what
failed with what to do, what the SMS provider says was delivered, tomorrow's forecast, the cost when prices are
configured. The text is a Jinja2 template in the sandbox (reports.yaml `daily_report.template`, or the built-in
one below); its variables are `DAILY_VARIABLES`, checked when the configuration is loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from naver_sms.config.models import AppConfig
from naver_sms.config.reports import REPORTS_FILE, DailyReport
from naver_sms.config.yaml_lines import line_of, load_yaml
from naver_sms.domain.booking import Store
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.owner.runlog import Count, all_errors, counts_of, kind_of
from naver_sms.owner.upcoming import Planned
from naver_sms.ports import DeliveryLookup, DeliveryResult, RunLog, RunRecord
from naver_sms.rules.templates import TemplateProblem, check_template, render

#: every variable of the daily report's template (docs/owner.md lists them with their fields)
DAILY_VARIABLES = (
    "day",
    "now",
    "runs",
    "failed_runs",
    "sent",
    "failed",
    "by_kind",
    "by_store",
    "sends",
    "failures",
    "delivery",
    "forecast",
    "tomorrow",
    "tomorrow_by_kind",
    "cost",
    "link",
    "stores",
)

DEFAULT_TEMPLATE = """\
[{{ day }} 일일 보고]
문자 {{ sent }}건 발송{% if failed %}, 실패 {{ failed }}건{% endif %} (실행 {{ runs }}회{% if failed_runs %}, 실패한 실행 {{ failed_runs }}회{% endif %})
{%- for k in by_kind %}
- {{ k.kind }} {{ k.n }}건
{%- endfor %}
{%- if by_store %}
매장별: {% for s in by_store %}{{ s.store.alias }} {{ s.n }}{% if not loop.last %}, {% endif %}{% endfor %}
{%- endif %}
{%- if delivery %}
전달 확인 {{ delivery.checked }}건: 전달 {{ delivery.delivered }}, 실패 {{ delivery.failed }}, 대기 {{ delivery.pending }}
{%- for d in delivery.failures %}
- 전달 실패 {{ d.to }} {{ d.kind }}: {{ d.detail }}
{%- endfor %}
{%- endif %}
{%- if failures %}
확인할 문제 {{ failures | length }}건:
{%- for f in failures %}
- {{ f.what }}
  → {{ f.fix }}
{%- endfor %}
{%- endif %}
{% if forecast %}내일 예정 문자 {{ tomorrow | length }}건{% for k in tomorrow_by_kind %}{% if loop.first %}: {% endif %}{{ k.kind }} {{ k.n }}{% if not loop.last %}, {% endif %}{% endfor %}{% else %}내일 예정 문자: 예측하지 못함 (no forecast){% endif %}
{%- if cost %}
비용 약 {{ cost.total }}원
{%- endif %}
{%- if link %}
자세히 보기: {{ link }}
{%- endif %}"""


@dataclass(frozen=True, slots=True)
class KindCount:
    kind: str
    n: int


@dataclass(frozen=True, slots=True)
class StoreCount:
    store: Store
    n: int


@dataclass
class DayReport:
    """Everything the daily report shows about one Korean day (the template's variables)."""

    day: date
    now: datetime
    runs: int
    failed_runs: int
    sends: list[Count]
    failures: list[dict[str, Any]]
    stores: Mapping[str, Store]
    tomorrow: list[Planned] = field(default_factory=list)
    #: whether tomorrow was forecast at all (`tomorrow` empty and `forecast` false: unknown, not none)
    forecast: bool = False
    #: the SMS templates' kinds (their labels, `runlog.kind_of`): tomorrow's SMS are counted by them as the day's
    kinds: Mapping[str, str] = field(default_factory=dict)
    delivery: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    link: str | None = None

    @property
    def sent(self) -> int:
        return sum(c.n for c in self.sends if c.status in ("sent", "outbox", "reconciled"))

    @property
    def failed(self) -> int:
        return sum(c.n for c in self.sends if c.status in ("failed", "unknown"))

    def by_kind(self) -> list[KindCount]:
        counted: Counter[str] = Counter()
        for c in self.sends:
            if c.status in ("sent", "outbox", "reconciled"):
                counted[c.kind] += c.n
        return [KindCount(k, n) for k, n in counted.most_common()]

    def by_store(self) -> list[StoreCount]:
        counted: Counter[str] = Counter()
        for c in self.sends:
            if c.status in ("sent", "outbox", "reconciled"):
                counted[c.store] += c.n
        order = [s for s in self.stores if s in counted] + sorted(s for s in counted if s not in self.stores)
        return [StoreCount(self.stores.get(s) or Store(s, s, s), counted[s]) for s in order]

    def kind_of(self, planned: Planned) -> str:
        """A planned SMS's kind, as the day's sends are counted (the template's label)."""
        name = planned.template or planned.rule
        return self.kinds.get(name, name)

    def variables(self) -> dict[str, Any]:
        kinds: Counter[str] = Counter(self.kind_of(p) for p in self.tomorrow if p.channel == "sms")
        return {
            "day": self.day.isoformat(),
            "now": self.now,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "sent": self.sent,
            "failed": self.failed,
            "by_kind": self.by_kind(),
            "by_store": self.by_store(),
            "sends": self.sends,
            "failures": self.failures,
            "delivery": self.delivery,
            "forecast": self.forecast,
            "tomorrow": self.tomorrow,
            "tomorrow_by_kind": [KindCount(k, n) for k, n in kinds.most_common()],
            "cost": self.cost,
            "link": self.link,
            "stores": self.stores,
        }


def _what(e: Mapping[str, Any], stores: Mapping[str, Store]) -> str:
    store = stores.get(str(e.get("store_id") or ""))
    where = " ".join(x for x in (store.alias if store else None, e.get("rule"), e.get("booking_num")) if x)
    return f"{e.get('at') or ''} {where}: {e.get('message')}".strip()


def day_report(
    runs: RunLog, config: AppConfig, day: date, now: datetime, *, current: RunRecord | None = None
) -> DayReport:
    """The day's data from the run log (no scan of the `sms` table: a day's runs and their counters), with
    `current` - the run that posts the report, not recorded yet - counted in."""
    recorded = runs.runs_on(day.isoformat())
    totals = Counter(runs.day_totals([day.isoformat()]).get(day.isoformat(), {}))
    if (
        current is not None
        and current.day == day.isoformat()
        and all(r.run_id != current.run_id for r in recorded)
    ):
        recorded.append(current)
        totals.update(current.counters)
    failures = [
        {**e, "what": _what(e, config.stores), "fix": e.get("fix") or ""} for e in all_errors(recorded)
    ]
    result = DayReport(
        day=day,
        now=now,
        runs=len(recorded),
        failed_runs=sum(1 for r in recorded if not r.summary.get("ok", True)),
        sends=counts_of(totals),
        failures=failures,
        stores=config.stores,
        kinds={name: kind_of(config, name) for name in config.sms_templates},
    )
    prices = config.reports.prices
    if prices:
        by_type: Counter[str] = Counter()
        for c in result.sends:
            if c.status in ("sent", "reconciled"):  # the outbox costs nothing
                by_type[c.type] += c.n
        total = sum(n * prices.get(t, 0.0) for t, n in by_type.items())  # type: ignore[call-overload]
        result.cost = {"total": round(total, 1), "by_type": dict(by_type), "prices": dict(prices)}
    return result


def check_deliveries(
    report: DayReport, runs: Sequence[Any], lookup: DeliveryLookup | None, *, at_most: int
) -> None:
    """Ask the SMS provider what became of the day's SMS (at most `at_most` of them, the latest first)."""
    if lookup is None or at_most <= 0:
        return
    sent = [
        s for r in runs for s in r.summary.get("sms", []) if s.get("status") == "sent" and s.get("request_id")
    ]
    checked: list[tuple[dict[str, Any], DeliveryResult]] = []
    for s in list(reversed(sent))[:at_most]:
        try:
            checked.append((s, lookup.delivery_result(str(s["request_id"]))))
        except Exception:  # the provider cannot be asked now: what was checked is shown
            break
    counted = Counter(result.status for _, result in checked)
    report.delivery = {
        "checked": len(checked),
        "of": len(sent),
        "delivered": counted["delivered"],
        "failed": counted["failed"],
        "pending": counted["pending"] + counted["unknown"],
        "failures": [
            {"to": s.get("to"), "kind": s.get("kind"), "store": s.get("store"), "detail": r.detail}
            for s, r in checked
            if r.status == "failed"
        ],
    }


def render_report(report: DayReport, settings: DailyReport) -> str:
    return render(settings.template or DEFAULT_TEMPLATE, report.variables())


def check_daily_report(config: AppConfig) -> None:
    """The daily report's template, as the rules' templates are checked: its names at load, and a render
    with a sample day (an attribute misspelt inside a loop fails here, not at 21:00). Raises `ConfigErrors`."""
    daily = config.reports.daily_report
    if daily is None or daily.template is None:
        return
    path = config.config_dir / REPORTS_FILE
    line = None
    try:
        raw = load_yaml(path)
        line = line_of(raw.get("daily_report"), "template") if isinstance(raw, dict) else None
    except ConfigError:
        pass
    try:
        check_template(daily.template, allowed=DAILY_VARIABLES)
        render(daily.template, sample(config).variables())
    except TemplateProblem as exc:
        raise ConfigErrors(
            [
                ConfigError(
                    str(exc),
                    file=str(path),
                    line=line,
                    field="daily_report.template",
                    suggestion=exc.suggestion,
                )
            ]
        ) from None


def sample(config: AppConfig) -> DayReport:
    """A day with something in every list (for checking a template, and the console's preview)."""
    store = next(iter(config.stores.values()), Store("1000001", "Example Studio", "예시점"))
    day = date(2026, 11, 26)
    at = datetime(2026, 11, 26, 21, 0)
    planned = Planned(
        at + timedelta(days=1),
        "rule",
        "sms",
        "text",
        "1000001_1",
        store.id,
        "010-****-0001",
        "홍*동",
        "confirmation",
        "LMS",
        183,
    )
    return DayReport(
        day=day,
        now=at,
        runs=63,
        failed_runs=1,
        sends=[Count("예약확정", store.id, "LMS", "sent", 3), Count("안내", store.id, "LMS", "failed", 1)],
        failures=[
            {"what": f"21:00 {store.alias}: SENS refused", "fix": "retried by the next runs", "at": "21:00"}
        ],
        stores=config.stores,
        tomorrow=[planned],
        forecast=True,
        delivery={
            "checked": 3,
            "of": 3,
            "delivered": 2,
            "failed": 1,
            "pending": 0,
            "failures": [{"to": "010-****-0001", "kind": "안내", "store": store.id, "detail": "결번"}],
        },
        cost={"total": 92.4, "by_type": {"LMS": 3}, "prices": {"LMS": 30.8}},
        link="https://example.invalid/report.html",
    )
