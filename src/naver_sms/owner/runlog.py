"""A run as the state store keeps it (`ports.RunRecord`): what `naver-sms status` and the daily report read
back - never a phone number unmasked, never a name - and the version of the configuration it ran with.

Counters are keyed `"<kind>|<store>|<type>|<status>"`: the kind is the SMS template's `label` (예약확정, 안내,
옵션 in the default configuration; the template's name when it has none), the store its id, the type SMS or
LMS, the status as in the run report (`sent`, `outbox`, `failed`, `unknown`, `reconciled`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from naver_sms.config.models import AppConfig
from naver_sms.domain.clock import KST
from naver_sms.domain.privacy import mask_phone, mask_text
from naver_sms.ports import RunRecord
from naver_sms.rules.context import SmsRecord
from naver_sms.rules.report import RunError, RunReport

#: what a summary lists of a run at most (a run item stays far below DynamoDB's 400 KB)
MAX_SMS, MAX_ERRORS = 200, 20

#: what the owner can do about each kind of error (docs/owner.md, "When something failed")
FIXES: Mapping[str, str] = {
    "action": "다음 실행에서 자동으로 다시 시도합니다 / retried by the next runs (bounded); "
    "if it keeps failing see docs/owner.md",
    "flag_failed": "재시도 한도 초과: 원인을 고친 뒤 db reset / failed for good: fix the cause, then run the "
    "reset command shown",
    "store": "매장 예약을 가져오지 못함: naver-sms status 로 로그인 상태 확인 / the store could not be fetched: "
    "check the login (naver-sms status)",
    "record_read": "상태 저장소에서 이 예약을 읽지 못함 / the state store could not read this booking's row",
    "booking": "네이버에서 받은 예약 하나가 형식이 잘못되어 건너뜀 / a malformed booking was skipped",
    "summary": "텔레그램 요약 전송 실패: 토큰과 채팅 확인 / the Telegram summary failed: check token and chat",
    "owner": "실행 기록 또는 일일 보고 실패 / the run log or the daily report failed",
}


def kind_of(config: AppConfig, template: str) -> str:
    """The kind of an SMS in reports: its template's label, else the template's name."""
    tpl = config.sms_templates.get(template)
    label = tpl.label if tpl is not None and tpl.label else template
    return label.replace("|", "/")


def counter_key(kind: str, store: str, type_: str, status: str) -> str:
    return "|".join(part.replace("|", "/") for part in (kind, store, type_ or "?", status))


@dataclass(frozen=True, slots=True)
class Count:
    """One counter of the run log: kind, store, type, status and how many."""

    kind: str
    store: str
    type: str
    status: str
    n: int


def counts_of(counters: Mapping[str, int]) -> list[Count]:
    found = []
    for key, n in counters.items():
        parts = key.split("|")
        if len(parts) == 4:
            kind, store, type_, status = parts
            found.append(Count(kind, store, type_, status, int(n)))
    return found


def _sms(config: AppConfig, s: SmsRecord) -> dict[str, Any]:
    return {
        "rule": s.rule,
        "kind": kind_of(config, s.template),
        "template": s.template,
        "store": s.store_id,
        "type": s.type,
        "status": s.status,
        "request_id": s.request_id,
        "to": mask_phone(s.phone),
        "booking_num": s.booking_num,
    }


def _error(e: RunError) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "message": mask_text(e.message)[:500],
        "rule": e.rule,
        "store_id": e.store_id,
        "booking_num": e.booking_num,
        "fix": FIXES.get(e.kind, ""),
    }


def summarise(report: RunReport, config: AppConfig, *, version: str | None = None) -> RunRecord:
    """The run log's record of a finished run."""
    sent = [s for s in report.sms if s.status != "planned"]
    counters: Counter[str] = Counter(
        counter_key(kind_of(config, s.template), s.store_id, s.type, s.status) for s in sent
    )
    finished = report.finished_at or datetime.now(UTC)
    posted = Counter(n.channel for n in report.notifications if n.status in ("sent", "outbox"))
    summary = {
        "run_id": report.run_id,
        "now": report.now.strftime("%Y-%m-%d %H:%M"),
        "started_at": report.started_at.isoformat(),
        "finished_at": finished.isoformat(),
        "mode": report.mode,
        "ok": report.ok,
        "failed": mask_text(report.failed) if report.failed else None,
        "counts": report.counts(),
        "sms": [_sms(config, s) for s in sent[:MAX_SMS]],
        "sms_more": max(0, len(sent) - MAX_SMS),
        "posted": dict(posted),
        "errors": [_error(e) for e in report.errors[:MAX_ERRORS]],
        "errors_more": max(0, len(report.errors) - MAX_ERRORS),
        "config_version": version,
    }
    day = report.now.astimezone(KST).strftime("%Y-%m-%d")
    return RunRecord(report.run_id, day, report.started_at.isoformat(), summary, dict(counters))


def all_errors(runs: Iterable[RunRecord]) -> list[dict[str, Any]]:
    """Every error the runs recorded, oldest first, each once (a failed-for-good flag is reported by every
    run until it is reset)."""
    seen: set[tuple[Any, ...]] = set()
    found = []
    for run in runs:
        for e in run.summary.get("errors", []):
            key = (e.get("kind"), e.get("booking_num"), e.get("rule"), e.get("message"))
            if key not in seen:
                seen.add(key)
                found.append({**e, "at": run.summary.get("now")})
    return found
