"""`reports.yaml` (optional): what the owner is told - the per-run Telegram summary's timing, the daily report,
the prices of the cost line (docs/owner.md, "The daily report"). Without the file: the legacy summary after
every run, no daily report - the legacy job's behaviour.

    summary: every_run              # every_run (legacy, default) | when_something_happened
    daily_report:
      at: "21:00"                   # a period spec (domain/period.py): the first run at or after it posts it
      covers: today                 # today | yesterday (for a morning report)
      telegram: true                # to the Telegram chat (NAVER_SMS_TELEGRAM_CHAT_ID, or `chat`)
      chat: "-1001234567890"        # optional: a chat of its own
      slack: false                  # also to the Slack webhook
      html: true                    # the HTML page (on AWS a time-limited link to it in reports/ of the bucket)
      link_hours: 24                # how long that link works (S3 allows 7 days at most)
      delivery_checks: 50           # SENS look-ups of the day's SMS (delivered or not), at most
      template: |                   # optional: the report's text, a Jinja2 template in the sandbox
        ...
    prices: {SMS: 9.9, LMS: 30.8}   # KRW per message: the report shows the day's cost
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from naver_sms.config.yaml_lines import load_yaml
from naver_sms.domain.period import PeriodError, PeriodSpec
from naver_sms.errors import ConfigError

REPORTS_FILE = "reports.yaml"

SummaryMode = Literal["every_run", "when_something_happened"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DailyReport(_Strict):
    at: str = "21:00"
    #: the day it reports on: the day its period starts (`today`), or the day before (`yesterday`, for a
    #: morning report)
    covers: Literal["today", "yesterday"] = "today"
    telegram: bool = True
    chat: str | None = Field(default=None, pattern=r"^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$")
    slack: bool = False
    html: bool = True
    link_hours: int = Field(default=24, ge=1, le=168)
    delivery_checks: int = Field(default=50, ge=0, le=500)
    template: str | None = Field(default=None, min_length=1, max_length=20_000)

    @field_validator("at")
    @classmethod
    def _period(cls, value: str) -> str:
        try:
            PeriodSpec.parse(value)
        except PeriodError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def period(self) -> PeriodSpec:
        return PeriodSpec.parse(self.at)


class ReportsFile(_Strict):
    summary: SummaryMode = "every_run"
    daily_report: DailyReport | None = None
    prices: dict[Literal["SMS", "LMS", "MMS"], float] | None = None

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(not 0 <= p <= 10_000 for p in value.values()):
            raise ValueError("a price is KRW per message, 0 to 10000")
        return value


#: pydantic's errors as located `ConfigError`s (the loader's `validation_errors`)
Locate = Callable[..., list[ConfigError]]


def load_reports(config_dir: Path, errors: list[ConfigError], locate: Locate) -> tuple[ReportsFile, Any]:
    """`reports.yaml` of `config_dir` (the defaults when there is none) and its raw YAML (for lines);
    problems are appended to `errors` with file, line and field."""
    path = config_dir / REPORTS_FILE
    if not path.exists():
        return ReportsFile(), None
    try:
        raw = load_yaml(path)
    except ConfigError as exc:
        errors.append(exc)
        return ReportsFile(), None
    if raw is None:
        return ReportsFile(), None
    if not isinstance(raw, dict):
        errors.append(ConfigError("expected a mapping at the top of the file", file=str(path), line=1))
        return ReportsFile(), None
    try:
        return ReportsFile.model_validate(raw), raw
    except ValidationError as exc:
        known = set(ReportsFile.model_fields) | set(DailyReport.model_fields)
        errors.extend(locate(exc, raw, file=str(path), known_fields=known))
        return ReportsFile(), raw
