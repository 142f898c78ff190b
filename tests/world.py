"""The test world, built one way for every test: Naver-format booking objects and files of them, bookings and
their rows, clocks, services at their protocols, a run's scope and the context of one action, and rules
compiled inline and run through the runner's own steps.

All names, numbers and ids are synthetic. Times are Korean wall-clock time; a booking object carries its start
the way Naver does, as UTC in `snapshotJson.startDateTime`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import textwrap
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import load_yaml
from naver_sms.domain import Booking, BookingRecord, FixedClock
from naver_sms.domain.clock import KST, Clock, SystemClock
from naver_sms.errors import DeliveryError, DeliveryUnavailable
from naver_sms.ports import ChannelReceipt, FetchResult, SmsMessage, SmsReceipt
from naver_sms.rules.context import ActionContext, ActionServicesBundle, RunScope
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.plan import CompiledRule, Plan
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, act, build_plan, new_report

LEASE = timedelta(minutes=10)

# --- clocks ---------------------------------------------------------------------------------------------------


def kst(text: str) -> datetime:
    """`"2026-11-26 18:40"` -> an aware datetime in Asia/Seoul."""
    return datetime.fromisoformat(text).replace(tzinfo=KST)


# --- Naver booking objects ----------------------------------------------------------------------------------

#: the option every booking has (no keyword in it)
BASE_OPTION = ("50분 촬영", 1)

NAMES = ("홍길동", "김철수", "이영희", "박민수", "최지우", "정하늘", "강바다", "조은별", "윤서준", "장미래")


def raw_booking(
    booking_id: int,
    *,
    store_id: int | str = 1000001,
    status: str = "RC03",
    start: datetime | str = "2026-11-26 20:00",
    name: str | None = None,
    phone: str | None = None,
    options: Sequence[tuple[str, int]] = (BASE_OPTION,),
    minutes: int = 50,
) -> dict[str, Any]:
    """One booking object as the partner API returns it (external-apis.md §1); name and phone follow the id."""
    start_kst = kst(start) if isinstance(start, str) else start.astimezone(KST)
    utc = start_kst.astimezone(UTC)
    name = name if name is not None else NAMES[booking_id % len(NAMES)]
    phone = phone if phone is not None else f"010{booking_id % 100_000_000:08d}"
    opts = [
        {"optionId": 100 + i, "name": n, "price": 0, "bookingCount": c, "categoryTypeCode": "CUSTOM"}
        for i, (n, c) in enumerate(options)
    ]
    return {
        "bookingId": booking_id,
        "businessId": int(store_id),
        "businessName": f"Example Studio {store_id}",
        "bizItemName": f"{minutes}min / 1-4 persons",
        "bookingStatusCode": status,
        "name": name,
        "phone": phone,
        "email": f"customer{booking_id}@example.com",
        "startDate": start_kst.strftime("%Y-%m-%d"),
        "regDateTime": (start_kst - timedelta(days=2)).isoformat(),
        "isCompleted": status == "RC08",
        "snapshotJson": {
            "bookingId": booking_id,
            "businessId": int(store_id),
            "startDateTime": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (utc + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "globalTimezone": "Asia/Seoul",
            "bookingOptionJson": opts,
            "couponJson": [],
        },
        "bookingOptionJson": opts,
    }


_ids = itertools.count(1)


def naver_booking(
    *,
    booking_id: int | None = None,
    store_id: int = 1000001,
    status: str = "RC03",
    start: datetime | str = "2026-11-26 20:00",
    name: str = "홍길동",
    phone: str = "01000000001",
    options: Sequence[tuple[str, int]] = (("50분 촬영", 1),),
    **extra: Any,
) -> dict[str, Any]:
    """One booking object with a fresh id unless one is given; `extra` adds or replaces top-level fields."""
    raw = raw_booking(
        booking_id if booking_id is not None else 900000000 + next(_ids),
        store_id=store_id,
        status=status,
        start=start,
        name=name,
        phone=phone,
        options=options,
    )
    raw.update(extra)
    return raw


def booking(**kwargs: Any) -> Booking:
    return Booking.from_naver(naver_booking(**kwargs))


def write_bookings(path: Path, bookings: Iterable[dict[str, Any]]) -> Path:
    """Write bookings as one JSON array file (what `--bookings PATH` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(bookings), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def many_bookings(count: int, *, start: datetime | str, first_id: int = 950_000_000) -> list[dict[str, Any]]:
    """`count` confirmed bookings spread over the eight example stores, starting every 10 minutes from
    `start`: a bigger synthetic set for concurrency and throughput tests."""
    base = kst(start) if isinstance(start, str) else start
    return [
        raw_booking(
            first_id + i,
            store_id=1000001 + i % 8,
            start=base + timedelta(minutes=10 * i),
            phone=f"0109{i:07d}",
        )
        for i in range(count)
    ]


#: The guide template of each example store (config/stores.yaml).
GUIDE_OF_STORE = {
    f"100000{n}": f"guide_{name}"
    for n, name in enumerate(
        ("gangnam", "busan", "hongdae", "jamsil", "suwon", "incheon", "daegu", "seongsu"), start=1
    )
}


def racing_bookings(count: int, *, now: str, first_id: int, phone_prefix: str) -> list[dict[str, Any]]:
    """Bookings for concurrent-run tests: even ones start within two hours of `now` (confirmation + guide),
    odd ones tomorrow (confirmation only), spread over the eight example stores. Synthetic numbers."""
    at = kst(now)
    return [
        raw_booking(
            first_id + i,
            store_id=1000001 + i % 8,
            start=at
            + (timedelta(minutes=30 + 10 * (i % 9)) if i % 2 == 0 else timedelta(days=1, hours=i % 8)),
            phone=f"{phone_prefix}{i:07d}",
        )
        for i in range(count)
    ]


def expected_sends(raws: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(booking_num, template) of every SMS the default rules send once for `racing_bookings`."""
    sends: Counter[tuple[str, str]] = Counter()
    for i, raw in enumerate(raws):
        num = f"{raw['businessId']}_{raw['bookingId']}"
        sends[(num, "confirmation")] += 1
        if i % 2 == 0:
            sends[(num, GUIDE_OF_STORE[str(raw["businessId"])])] += 1
    return sends


# --- rows -----------------------------------------------------------------------------------------------------


def record_for(
    b: Booking, *, confirm_sms: bool = False, remind_sms: bool = False, option_sms: bool = False, **extra: Any
) -> BookingRecord:
    """The booking's `sms` row with the given legacy flags and added attributes."""
    return BookingRecord(
        booking_num=b.booking_num,
        phone=b.phone,
        name=b.name,
        booking_time=b.booking_time,
        confirm_sms=confirm_sms,
        remind_sms=remind_sms,
        option_sms=option_sms,
        extra=extra,
    )


# --- services at their protocols ------------------------------------------------------------------------------


class RecordingSms:
    """An SmsService stand-in at the protocol: records sends; can be told to fail the next N sends."""

    live = False

    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []
        self.failures: list[Exception] = []
        self.lookups: list[SmsMessage] = []

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def send(self, message: SmsMessage) -> SmsReceipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SmsReceipt("sent", f"req-{len(self.sent)}", datetime.now(UTC))

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        self.lookups.append(message)
        for i, sent in enumerate(self.sent):
            if sent == message and f"req-{i + 1}" not in exclude:
                return SmsReceipt("sent", f"req-{i + 1}", datetime.now(UTC))
        return None


class RecordingChannel:
    """A Telegram/Slack stand-in at the protocol."""

    def __init__(self, channel: str, *, enabled: bool = True) -> None:
        self.channel = channel
        self.enabled = enabled
        self.messages: list[str] = []
        self.failures: list[Exception] = []
        self.chats: list[str | None] = []  # the chat_id of each send_message (None: the configured one)

    def _send(self, text: str) -> ChannelReceipt:
        if not self.enabled:
            return ChannelReceipt(self.channel, "disabled")
        if self.failures:
            raise self.failures.pop(0)
        self.messages.append(text)
        return ChannelReceipt(self.channel, "sent")

    def send_message(self, text: str, *, chat_id: str | None = None) -> ChannelReceipt:
        self.chats.append(chat_id)
        return self._send(text)

    def post_message(self, text: str) -> ChannelReceipt:
        return self._send(text)


def sens_down() -> DeliveryError:
    return DeliveryUnavailable("503 after 3 attempts", channel="sens", status_code=503)


class ListSource:
    """A booking source that gives the bookings it was made with."""

    description = "test"

    def __init__(self, bookings: Sequence[Booking] = ()) -> None:
        self.bookings = list(bookings)

    def fetch(self, stores: Sequence[Any], now: datetime) -> FetchResult:
        return FetchResult(bookings=list(self.bookings))


# --- a run's scope and the context of one action ------------------------------------------------------------


def scope(
    config: AppConfig,
    services: ActionServicesBundle,
    *,
    run_id: str = "run-1",
    now: str | datetime = "2026-11-26 18:40",
    real: str | datetime | None = None,
) -> RunScope:
    """The scope of one run; `real` is the real time of claims and leases (default: `now`)."""
    at = kst(now) if isinstance(now, str) else now
    real_at = at if real is None else kst(real) if isinstance(real, str) else real
    return RunScope(run_id, config, services, at, FixedClock(real_at), LEASE)


def context(
    config: AppConfig,
    services: ActionServicesBundle,
    b: Booking | None,
    *,
    rule: str = "r",
    run_id: str = "run-1",
    now: str = "2026-11-26 18:40",
    bookings: tuple[Booking, ...] = (),
    wall: str | None = None,
) -> ActionContext:
    """The context of one action; `wall` is the real time of claims and leases (default: `now`)."""
    run = scope(config, services, run_id=run_id, now=now, real=wall)
    return ActionContext(rule, b, None, config.store(b.store_id) if b else None, run, bookings)


# --- rules written inline, run through the runner's steps -------------------------------------------------


def compile_rules(
    engine: RuleEngine, config: AppConfig, yaml_text: str, tmp_path: Path
) -> tuple[CompiledRule, ...]:
    path = tmp_path / f"rules-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text("rules:\n" + textwrap.dedent(yaml_text), encoding="utf-8")
    return engine.compile(dataclasses.replace(config, rules=load_yaml(path)["rules"], rules_file=path))


def runtime(
    engine: RuleEngine,
    rules: Sequence[CompiledRule],
    config: AppConfig,
    services: ActionServicesBundle,
    now: datetime,
    bookings: Sequence[Booking] = (),
    *,
    real: Clock | None = None,
) -> Runtime:
    """A runtime that decides at `now`; claims and leases live in `real` time (default: the system clock)."""
    return Runtime(
        config,
        engine,
        tuple(rules),
        ListSource(bookings),
        services,
        FixedClock(now),
        "test",
        real or SystemClock(),
        LEASE,
    )


def plan_for(
    engine: RuleEngine,
    rules: Sequence[CompiledRule],
    config: AppConfig,
    services: ActionServicesBundle,
    bookings: Sequence[Booking],
    now: datetime,
) -> Plan:
    # the rows are judged as of the decision time (a claim is live or stale at `now`)
    rt = runtime(engine, rules, config, services, now, bookings, real=FixedClock(now))
    return build_plan(rt, new_report(rt, "plan"), bookings)


def run_rules(
    engine: RuleEngine,
    rules: Sequence[CompiledRule],
    config: AppConfig,
    services: ActionServicesBundle,
    bookings: Sequence[Booking],
    now: datetime,
    *,
    run_id: str = "run-1",
) -> RunReport:
    return execute_plan(
        engine, plan_for(engine, rules, config, services, bookings, now), config, services, now, run_id=run_id
    )


def execute_plan(
    engine: RuleEngine,
    plan: Plan,
    config: AppConfig,
    services: ActionServicesBundle,
    now: datetime,
    *,
    run_id: str = "run-1",
    dry_run: bool = False,
) -> RunReport:
    """Execute `plan` as a run would - or, with `dry_run`, preview it as `--dry-run` and `plan` do."""
    rt = runtime(engine, plan.rules, config, services, now)
    report = new_report(rt, run_id, dry_run=dry_run)
    act(rt, plan, report, dry_run=dry_run)
    return report
