"""`naver-sms rules test`: the operator's fixtures (bookings + rows + a clock -> the expected SMS), each one real
run of the real configuration on a throw-away in-memory database (docs/cli.md, "naver-sms rules test").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from naver_sms.config.loader import validation_errors
from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import line_of, load_yaml
from naver_sms.domain.booking import Booking, BookingRecord, Store
from naver_sms.domain.clock import Clock, FixedClock, parse_kst
from naver_sms.errors import ConfigError, ConfigErrors, did_you_mean
from naver_sms.ports import BookingSource, FetchResult
from naver_sms.runner import Runtime, run_once


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _korean_time(value: str) -> str:
    """A fixture's clock or start: Korean time, as `--now` takes it (refused at load, with its line)."""
    try:
        parse_kst(value)
    except ValueError:
        raise PydanticCustomError(
            "korean_time", 'expected "YYYY-MM-DD HH:MM" in Korean time, got {value}', {"value": repr(value)}
        ) from None
    return value


class FixtureBooking(_Strict):
    id: str
    store: str
    status: str = "RC03"
    start: str  # Korean time, "YYYY-MM-DD HH:MM"
    name: str = "홍길동"
    phone: str = ""
    options: list[str] = Field(default_factory=list)

    _start = field_validator("start")(_korean_time)


class FixtureRecord(_Strict):
    booking: str
    confirm_sms: bool = False
    remind_sms: bool = False
    option_sms: bool = False


class ExpectedSms(_Strict):
    booking: str
    template: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class Expectations(_Strict):
    sms: list[ExpectedSms] = Field(default_factory=list)
    flags: list[dict[str, Any]] = Field(default_factory=list)


class Fixture(_Strict):
    name: str
    now: str
    bookings: list[FixtureBooking] = Field(min_length=1)
    records: list[FixtureRecord] = Field(default_factory=list)
    expect: Expectations

    _now = field_validator("now")(_korean_time)


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
    """What the configuration cannot run as the fixture says: unknown stores and templates."""
    errors = []
    bookings = raw.get("bookings") if isinstance(raw, dict) else None
    for j, booking in enumerate(fixture.bookings):
        if config.store(booking.store) is None:
            errors.append(
                ConfigError(
                    f"fixture {fixture.name!r}: store {booking.store!r} is not in stores.yaml "
                    "(a run ignores the bookings of other stores)",
                    file=file,
                    line=line_of(bookings, j) if bookings is not None else line_of(raw),
                    field=f"{prefix}bookings[{j}].store",
                    suggestion=did_you_mean(booking.store, config.stores),
                )
            )
    expect = raw.get("expect") if isinstance(raw, dict) else None
    sms = expect.get("sms") if isinstance(expect, dict) else None
    for k, expected in enumerate(fixture.expect.sms):
        if expected.template not in config.sms_templates:
            errors.append(
                ConfigError(
                    f"fixture {fixture.name!r}: no SMS template {expected.template!r} in templates.yaml",
                    file=file,
                    line=line_of(sms, k) if sms is not None else line_of(raw),
                    field=f"{prefix}expect.sms[{k}].template",
                    suggestion=did_you_mean(expected.template, config.sms_templates),
                )
            )
    return errors


def _naver_object(b: FixtureBooking, index: int) -> dict[str, Any]:
    start = parse_kst(b.start).astimezone(UTC)
    options = [{"name": name, "bookingCount": 1} for name in b.options]
    return {
        "bookingId": int(b.id) if b.id.isdigit() else 800000000 + index,
        "businessId": b.store,
        "bookingStatusCode": b.status,
        "name": b.name,
        "phone": b.phone or f"0100000{index:04d}",
        "snapshotJson": {"startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "bookingOptionJson": options},
    }


class _ListSource:
    description = "fixture"

    def __init__(self, bookings: Sequence[Booking]) -> None:
        self.bookings = list(bookings)

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        return FetchResult(bookings=list(self.bookings))


def run_fixture(
    fixture: Fixture, *, make_runtime: Callable[[BookingSource, Clock], Runtime], file: str, line: int | None
) -> FixtureResult:
    """Run one fixture. `make_runtime(source, clock)` returns a fresh `Runtime` (in-memory state, outbox)."""
    result = FixtureResult(fixture.name, file, line)
    by_id: dict[str, Booking] = {}
    for index, raw in enumerate(fixture.bookings):
        by_id[raw.id] = Booking.from_naver(_naver_object(raw, index))
    runtime = make_runtime(_ListSource(list(by_id.values())), FixedClock(parse_kst(fixture.now)))
    for record in fixture.records:
        booking = by_id.get(record.booking)
        if booking is None:
            result.problems.append(f"records: no booking {record.booking!r}")
            continue
        base = BookingRecord.for_booking(booking)
        runtime.repo.create(
            BookingRecord(
                base.booking_num,
                base.phone,
                base.name,
                base.booking_time,
                record.confirm_sms,
                record.remind_sms,
                record.option_sms,
            )
        )
    report = run_once(runtime)
    num_to_id = {b.booking_num: key for key, b in by_id.items()}
    sent = [s for s in report.sms if s.status in ("sent", "outbox")]
    got = [(num_to_id.get(s.booking_num, s.booking_num), s.template) for s in sent]
    want = [(e.booking, e.template) for e in fixture.expect.sms]
    if got != want:
        result.problems.append(f"sms: expected {want}, got {got}")
    for expected, actual in zip(fixture.expect.sms, sent, strict=False):
        if expected.from_ is not None and expected.from_ != actual.sender:
            result.problems.append(
                f"sms {expected.template}: expected from {expected.from_}, got {actual.sender}"
            )
        if expected.to is not None and expected.to != actual.to:
            result.problems.append(f"sms {expected.template}: expected to {expected.to}, got {actual.to}")
    for flags in fixture.expect.flags:
        booking = by_id.get(str(flags.get("booking")))
        if booking is None:
            result.problems.append(f"flags: no booking {flags.get('booking')!r}")
            continue
        row = runtime.repo.get((booking.booking_num, booking.phone))
        for name, value in flags.items():
            if name == "booking":
                continue
            actual_value = row.flag(name) if row is not None else None
            if actual_value != value:
                result.problems.append(
                    f"booking {flags['booking']}: expected {name}={value}, got {actual_value}"
                )
    for error in report.errors:
        result.problems.append(f"run error: {error.kind} {error.message}")
    return result
