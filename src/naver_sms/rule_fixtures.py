"""`naver-sms rules test`: the operator's fixtures (bookings + rows + a clock -> the expected SMS), each one real
run of the real configuration on a throw-away in-memory database (docs/cli.md, "naver-sms rules test") - and
its `then:` runs, later runs on the same database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from naver_sms.config.loader import validation_errors
from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import line_of, load_yaml
from naver_sms.domain.booking import Booking, BookingRecord, Store
from naver_sms.domain.clock import Clock, FixedClock, SystemClock, parse_kst
from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.errors import ConfigError, ConfigErrors, did_you_mean
from naver_sms.flags.state import FlagAttrs
from naver_sms.ports import BookingSource, FetchResult
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, run_once


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _korean_time(value: str | None) -> str | None:
    """A fixture's clock or start: Korean time, as `--now` takes it (refused at load, with its line)."""
    if value is None:
        return None
    try:
        parse_kst(value)
    except ValueError:
        raise PydanticCustomError(
            "korean_time", 'expected "YYYY-MM-DD HH:MM" in Korean time, got {value}', {"value": repr(value)}
        ) from None
    return value


def _phone(value: str) -> str:
    try:
        return national_number(value)
    except PhoneError as exc:
        raise PydanticCustomError("phone", "{reason}", {"reason": str(exc)}) from None


class FixtureBooking(_Strict):
    id: str
    store: str
    status: str = "RC03"  # RC02 requested, RC03 confirmed, RC04 cancelled, RC08 completed
    start: str  # Korean time, "YYYY-MM-DD HH:MM"
    end: str | None = None  # Korean time (snapshotJson.endDateTime); none when not given
    registered: str | None = None  # when it was made, Korean time (regDateTime); none when not given
    name: str = "홍길동"
    phone: str = ""
    options: list[str] = Field(default_factory=list)

    _times = field_validator("start", "end", "registered")(_korean_time)


class FixtureRecord(_Strict):
    booking: str
    confirm_sms: bool = False
    remind_sms: bool = False
    option_sms: bool = False
    booking_time: str | None = None  # the start the row holds (Korean time); default: the booking's
    flags: dict[str, bool] = Field(default_factory=dict)  # custom flags of the row
    claimed: list[str] = Field(default_factory=list)  # flags a run claimed and then died (stale claims)

    _time = field_validator("booking_time")(_korean_time)


class ExpectedSms(_Strict):
    booking: str
    template: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class ExpectedHold(_Strict):
    booking: str
    rule: str


class Expectations(_Strict):
    sms: list[ExpectedSms] = Field(default_factory=list)
    flags: list[dict[str, Any]] = Field(default_factory=list)
    #: matches held by quiet hours, in order
    held: list[ExpectedHold] = Field(default_factory=list)
    #: advertising SMS not sent because the number refused advertising, in order
    suppressed: list[ExpectedSms] = Field(default_factory=list)


class FixtureStep(_Strict):
    """A later run on the same database: its clock, the bookings by then (default: as before), its expect."""

    now: str
    bookings: list[FixtureBooking] | None = Field(default=None, min_length=1)
    expect: Expectations

    _now = field_validator("now")(_korean_time)


class Fixture(_Strict):
    name: str
    now: str
    bookings: list[FixtureBooking] = Field(min_length=1)
    records: list[FixtureRecord] = Field(default_factory=list)
    #: numbers that refused advertising, for this fixture (the configuration's opt-out.txt is not read)
    opt_out: list[Annotated[str, AfterValidator(_phone)]] = Field(default_factory=list)
    expect: Expectations
    then: list[FixtureStep] = Field(default_factory=list)

    _now = field_validator("now")(_korean_time)

    def runs(self) -> list[tuple[str, str, list[FixtureBooking] | None, Expectations]]:
        """(label, now, bookings or None for "as before", expect) of every run, the first one first."""
        steps = [(f"then[{i}] ", s.now, s.bookings, s.expect) for i, s in enumerate(self.then)]
        return [("", self.now, self.bookings, self.expect), *steps]


@dataclass
class FixtureResult:
    name: str
    file: str
    line: int | None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def load_fixtures(path: Path, config: AppConfig | None = None) -> list[tuple[Fixture, int | None]]:
    """The fixtures of one file, with the line of each. Raises `ConfigErrors` naming file, line and field.

    With `config`, a fixture is also checked against it: every booking's store is in stores.yaml (a real
    run ignores the bookings of other stores) and every expected template exists."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise ConfigError("expected `tests:` with a list of fixtures", file=str(path), line=1, field="tests")
    fixtures, errors = [], []
    for index, raw in enumerate(data["tests"]):
        try:
            fixture = Fixture.model_validate(raw)
        except ValidationError as exc:
            errors.extend(
                validation_errors(
                    exc, raw, file=str(path), prefix=f"tests[{index}].", known_fields=Fixture.model_fields
                )
            )
            continue
        fixtures.append((fixture, line_of(data["tests"], index)))
        if config is not None:
            errors.extend(_against_config(fixture, raw, config, file=str(path), prefix=f"tests[{index}]."))
    if errors:
        raise ConfigErrors(errors)
    return fixtures


def _against_config(
    fixture: Fixture, raw: Any, config: AppConfig, *, file: str, prefix: str
) -> list[ConfigError]:
    """What the configuration cannot run as the fixture says: unknown stores and templates (of every run)."""
    errors = []
    raw_steps = raw.get("then") if isinstance(raw, dict) else None
    for n, (_, _, bookings, expect) in enumerate(fixture.runs()):
        node = raw if n == 0 else raw_steps[n - 1] if isinstance(raw_steps, list) else None
        where = prefix if n == 0 else f"{prefix}then[{n - 1}]."
        raw_bookings = node.get("bookings") if isinstance(node, dict) else None
        for j, booking in enumerate(bookings or []):
            if config.store(booking.store) is None:
                errors.append(
                    ConfigError(
                        f"fixture {fixture.name!r}: store {booking.store!r} is not in stores.yaml "
                        "(a run ignores the bookings of other stores)",
                        file=file,
                        line=line_of(raw_bookings, j) if raw_bookings is not None else line_of(node),
                        field=f"{where}bookings[{j}].store",
                        suggestion=did_you_mean(booking.store, config.stores),
                    )
                )
        raw_expect = node.get("expect") if isinstance(node, dict) else None
        for kind in ("sms", "suppressed"):
            listed = raw_expect.get(kind) if isinstance(raw_expect, dict) else None
            for k, expected in enumerate(getattr(expect, kind)):
                if expected.template not in config.sms_templates:
                    errors.append(
                        ConfigError(
                            f"fixture {fixture.name!r}: no SMS template {expected.template!r} in templates.yaml",
                            file=file,
                            line=line_of(listed, k) if listed is not None else line_of(node),
                            field=f"{where}expect.{kind}[{k}].template",
                            suggestion=did_you_mean(expected.template, config.sms_templates),
                        )
                    )
    return errors


def _naver_object(b: FixtureBooking, index: int) -> dict[str, Any]:
    """The booking as Naver gives it; `index` numbers a booking whose id is not a number (stable per id)."""
    options = [{"name": name, "bookingCount": 1} for name in b.options]
    snapshot: dict[str, Any] = {"startDateTime": _utc(b.start), "bookingOptionJson": options}
    if b.end is not None:
        snapshot["endDateTime"] = _utc(b.end)
    raw: dict[str, Any] = {
        "bookingId": int(b.id) if b.id.isdigit() else 800000000 + index,
        "businessId": b.store,
        "bookingStatusCode": b.status,
        "name": b.name,
        "phone": b.phone or f"0100000{index:04d}",
        "snapshotJson": snapshot,
    }
    if b.registered is not None:
        raw["regDateTime"] = parse_kst(b.registered).isoformat()
    return raw


def _utc(korean: str) -> str:
    return parse_kst(korean).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _ListSource:
    description = "fixture"

    def __init__(self, bookings: Sequence[Booking]) -> None:
        self.bookings = list(bookings)

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        return FetchResult(bookings=list(self.bookings))


class _OptOut:
    """The fixture's own opt-out list (`ports.OptOutList`)."""

    description = "fixture"

    def __init__(self, listed: frozenset[str]) -> None:
        self.listed = listed

    def numbers(self) -> frozenset[str]:
        return self.listed


class _Bookings:
    """The fixture's bookings by id; a booking keeps its number (and so its row) in every run."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.by_id: dict[str, Booking] = {}

    def given(self, bookings: Sequence[FixtureBooking]) -> list[Booking]:
        self.by_id = {}
        for raw in bookings:
            index = self.index.setdefault(raw.id, len(self.index))
            self.by_id[raw.id] = Booking.from_naver(_naver_object(raw, index))
        return list(self.by_id.values())


def _write_row(runtime: Runtime, booking: Booking, record: FixtureRecord) -> None:
    base = BookingRecord.for_booking(booking)
    extra: dict[str, Any] = {**base.extra, **record.flags}
    real = SystemClock()()  # claims live in real time (leases), whatever the fixture's clock says
    for flag in record.claimed:  # a run claimed the flag and died: its lease ran out an hour ago
        names = FlagAttrs.of(flag)
        info = {"to": booking.phone_digits, "wall_at": (real - timedelta(hours=2)).isoformat()}
        extra |= {
            names.claim_run: "fixture-earlier-run",
            names.claim_until: int((real - timedelta(hours=1)).timestamp()),
            names.claim_at: (real - timedelta(hours=2)).isoformat(),
            names.claim_info: json.dumps(info),
            names.attempt: 1,
        }
    stored = parse_kst(record.booking_time).strftime("%Y-%m-%d %H:%M:%S") if record.booking_time else None
    row = replace(base, booking_time=stored or base.booking_time, extra=extra)
    runtime.repo.create(
        replace(
            row, confirm_sms=record.confirm_sms, remind_sms=record.remind_sms, option_sms=record.option_sms
        )
    )


def run_fixture(
    fixture: Fixture, *, make_runtime: Callable[[BookingSource, Clock], Runtime], file: str, line: int | None
) -> FixtureResult:
    """Run one fixture - and its `then` runs on the same database. `make_runtime(source, clock)` returns a
    fresh `Runtime` (in-memory state, outbox)."""
    result = FixtureResult(fixture.name, file, line)
    bookings = _Bookings()
    runtime = make_runtime(_ListSource(bookings.given(fixture.bookings)), FixedClock(parse_kst(fixture.now)))
    if fixture.opt_out:
        runtime.services = replace(runtime.services, opt_out=_OptOut(frozenset(fixture.opt_out)))
    for record in fixture.records:
        booking = bookings.by_id.get(record.booking)
        if booking is None:
            result.problems.append(f"records: no booking {record.booking!r}")
            continue
        _write_row(runtime, booking, record)
    for label, now, given, expect in fixture.runs():
        if given is not None and label:
            runtime.source = _ListSource(bookings.given(given))
        runtime.clock = FixedClock(parse_kst(now))
        _check(runtime, run_once(runtime), expect, bookings.by_id, result.problems, label)
    return result


def _check(
    runtime: Runtime,
    report: RunReport,
    expect: Expectations,
    by_id: dict[str, Booking],
    problems: list[str],
    label: str,
) -> None:
    """What one run did, against what it should have: the problems found, each starting with `label`."""
    num_to_id = {b.booking_num: key for key, b in by_id.items()}
    for kind, statuses in (("sms", ("sent", "outbox")), ("suppressed", ("suppressed",))):
        done = [s for s in report.sms if s.status in statuses]
        got = [(num_to_id.get(s.booking_num, s.booking_num), s.template) for s in done]
        want = [(e.booking, e.template) for e in getattr(expect, kind)]
        if got != want:
            problems.append(f"{label}{kind}: expected {want}, got {got}")
        for expected, actual in zip(getattr(expect, kind), done, strict=False):
            if expected.from_ is not None and expected.from_ != actual.sender:
                problems.append(
                    f"{label}sms {expected.template}: expected from {expected.from_}, got {actual.sender}"
                )
            if expected.to is not None and expected.to != actual.to:
                problems.append(f"{label}sms {expected.template}: expected to {expected.to}, got {actual.to}")
    held = [(num_to_id.get(h.booking_num or "", h.booking_num), h.rule) for h in report.held]
    if held != [(e.booking, e.rule) for e in expect.held]:
        problems.append(f"{label}held: expected {[(e.booking, e.rule) for e in expect.held]}, got {held}")
    for flags in expect.flags:
        booking = by_id.get(str(flags.get("booking")))
        if booking is None:
            problems.append(f"{label}flags: no booking {flags.get('booking')!r}")
            continue
        row = runtime.repo.get((booking.booking_num, booking.phone))
        for name, value in flags.items():
            if name == "booking":
                continue
            actual_value = row.flag(name) if row is not None else None
            if actual_value != value:
                problems.append(
                    f"{label}booking {flags['booking']}: expected {name}={value}, got {actual_value}"
                )
    for error in report.errors:
        problems.append(f"{label}run error: {error.kind} {error.message}")
