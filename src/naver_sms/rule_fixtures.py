"""`naver-sms rules test`: the operator's fixtures (bookings + rows + a clock + the channels -> the expected SMS,
flags, messages and summary), each one real run of the real configuration on a throw-away in-memory database
and the outbox (docs/cli.md, "naver-sms rules test") - and its `then:` runs, later runs on the same database.
The format - what each field of a fixture becomes - is `naver_sms.rule_fixture_format`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from naver_sms.config.loader import validation_errors
from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import line_of, load_yaml
from naver_sms.domain.booking import Booking, Store
from naver_sms.domain.clock import Clock, FixedClock, SystemClock, parse_kst
from naver_sms.errors import ConfigError, ConfigErrors, did_you_mean
from naver_sms.ports import BookingSource, FetchResult
from naver_sms.rule_fixture_format import Expectations, Fixture, FixtureBooking
from naver_sms.rules.context import NotificationRecord, SmsRecord
from naver_sms.rules.explain import why_not
from naver_sms.rules.plan import Plan
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, preview, run_once


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
            self.by_id[raw.id] = Booking.from_naver(raw.to_naver(index))
        return list(self.by_id.values())


class MakeRuntime(Protocol):
    """A fresh `Runtime` for one fixture: in-memory state, the outbox, the channels on as the fixture says."""

    def __call__(self, source: BookingSource, clock: Clock, *, telegram: bool, slack: bool) -> Runtime: ...


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """A fixture's run logs what a run logs (a failed action as a JSON line): its failures are the fixture's
    problems instead, so nothing of it is printed among the pass/FAIL lines."""
    logger = logging.getLogger("naver_sms")
    handler, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)


def run_fixture(fixture: Fixture, *, make_runtime: MakeRuntime, file: str, line: int | None) -> FixtureResult:
    """Run one fixture - and its `then` runs on the same database: the real rules and templates on its
    bookings, rows and clock, then every expectation compared - each mismatch a problem that says what was
    expected, what happened, and why (the conditions that did not hold for a booking whose SMS did not go
    out)."""
    result = FixtureResult(fixture.name, file, line)
    bookings = _Bookings()
    runtime = make_runtime(
        _ListSource(bookings.given(fixture.bookings)),
        FixedClock(parse_kst(fixture.now)),
        telegram=fixture.channels.telegram,
        slack=fixture.channels.slack,
    )
    if fixture.opt_out:
        runtime.services = replace(runtime.services, opt_out=_OptOut(frozenset(fixture.opt_out)))
    real = SystemClock()()
    for record in fixture.records:
        booking = bookings.by_id.get(record.booking)
        if booking is None:
            result.problems.append(f"records: no booking {record.booking!r}")
            continue
        runtime.repo.create(record.to_row(booking, real))
    for label, now, given, expect in fixture.runs():
        if given is not None and label:
            runtime.source = _ListSource(bookings.given(given))
        runtime.clock = FixedClock(parse_kst(now))
        with _quiet_logs():
            planned = preview(runtime, run_id="fixture-plan")  # what each rule decided, for the reasons
            report = run_once(runtime, run_id="fixture")
        problems = _compare(runtime, report, expect, bookings.by_id, planned.plan)
        result.problems += [f"{label}{problem}" for problem in problems]
    return result


def _compare(
    runtime: Runtime, report: RunReport, expect: Expectations, by_id: dict[str, Booking], plan: Plan
) -> list[str]:
    """What one run did, against what it should have."""
    ids = {b.booking_num: key for key, b in by_id.items()}
    sms = [s for s in report.sms if s.status != "suppressed"]
    problems = _compare_sms(expect, sms, ids, plan)
    suppressed = [
        (ids.get(s.booking_num, s.booking_num), s.template) for s in report.sms if s.status == "suppressed"
    ]
    if suppressed != [(e.booking, e.template) for e in expect.suppressed]:
        want = [(e.booking, e.template) for e in expect.suppressed]
        problems.append(f"suppressed: expected {want}, got {suppressed}")
    held = [(ids.get(h.booking_num or "", h.booking_num), h.rule) for h in report.held]
    if held != [(e.booking, e.rule) for e in expect.held]:
        problems.append(f"held: expected {[(e.booking, e.rule) for e in expect.held]}, got {held}")
    problems += _compare_flags(expect, by_id, runtime)
    problems += _compare_notifications(expect, report.notifications, ids)
    if expect.summary is not None and report.summary != expect.summary:
        problems.append(f"summary: expected {expect.summary!r}, got {report.summary!r}")
    if expect.summary_contains is not None and expect.summary_contains not in report.summary:
        problems.append(
            f"summary: expected it to contain {expect.summary_contains!r}, got {report.summary!r}"
        )
    return problems + [f"run error: {e.kind} {e.message}" for e in report.errors]


def _sms_key(booking: str, template: str, status: str) -> tuple[str, ...]:
    return (booking, template) if status == "sent" else (booking, template, status)


def _compare_sms(
    expect: Expectations, sms: Sequence[SmsRecord], ids: dict[str, str], plan: Plan
) -> list[str]:
    def status(s: SmsRecord) -> str:
        return "sent" if s.status in ("sent", "outbox", "reconciled") else s.status

    got = [(ids.get(s.booking_num, s.booking_num), s.template, status(s)) for s in sms]
    want = [(e.booking, e.template, e.status) for e in expect.sms]
    problems = []
    if got != want:
        shown = [_sms_key(*g) for g in got]
        problems.append(f"sms: expected {[_sms_key(*w) for w in want]}, got {shown}")
        missing = {w[0] for w in want} - {g[0] for g in got}
        for booking_num, key in ids.items():
            if key in missing:
                problems += [f"  booking {key}: {line}" for line in _why_nothing(plan, booking_num)]
    for expected, actual in zip(expect.sms, sms, strict=False):
        if (expected.booking, expected.template) != (ids.get(actual.booking_num), actual.template):
            break
        for what, want_value, got_value in (
            ("from", expected.from_, actual.sender),
            ("to", expected.to, actual.to),
            ("type", expected.type, actual.type),
            ("text", expected.text, actual.content),
        ):
            if want_value is not None and want_value != got_value:
                problems.append(f"sms {expected.template}: expected {what} {want_value!r}, got {got_value!r}")
        if expected.contains is not None and expected.contains not in actual.content:
            problems.append(
                f"sms {expected.template}: expected a text containing {expected.contains!r}, got {actual.content!r}"
            )
    return problems


def _why_nothing(plan: Plan, booking_num: str) -> list[str]:
    """Each rule's decision for a booking, in words: why it did not match, or that it did."""
    lines = []
    for per_booking in plan.evaluations:
        for e in per_booking:
            if e.facts.booking.booking_num != booking_num:
                continue
            reason = why_not(e)
            lines.append(f"{e.rule.name}: " + ("matched" if e.matched else f"did not match, {reason[0]}"))
            lines += [f"    {more.strip()}" for more in reason[1:]]
    return lines


def _compare_flags(expect: Expectations, by_id: dict[str, Booking], runtime: Runtime) -> list[str]:
    problems = []
    for flags in expect.flags:
        booking = by_id.get(str(flags.get("booking")))
        if booking is None:
            problems.append(f"flags: no booking {flags.get('booking')!r}")
            continue
        row = runtime.repo.get((booking.booking_num, booking.phone))
        for name, value in flags.items():
            if name == "booking":
                continue
            actual = row.flag(name) if row is not None else None
            if actual != value:
                problems.append(f"booking {flags['booking']}: expected {name}={value}, got {actual}")
    return problems


def _compare_notifications(
    expect: Expectations, notes: Sequence[NotificationRecord], ids: dict[str, str]
) -> list[str]:
    expected = expect.notifications
    if expected is None:
        return []
    actual = [n for n in notes if n.rule != "(summary)"]

    def status(n: NotificationRecord) -> str:
        return "disabled" if n.status == "disabled" else "sent"

    got = [(n.channel, status(n), ids.get(n.booking_num or "", n.booking_num)) for n in actual]
    want = [(e.channel, e.status, e.booking) for e in expected]
    shown = "; ".join(
        f"{c} ({s}) {b or ''}".strip() + f": {n.text!r}" for (c, s, b), n in zip(got, actual, strict=True)
    )
    problems = []
    if [(c, s) for c, s, _ in got] != [(c, s) for c, s, _ in want] or any(
        w[2] is not None and w[2] != g[2] for w, g in zip(want, got, strict=False)
    ):
        wanted = "; ".join(f"{c} ({s}) {b or ''}".strip() for c, s, b in want) or "none"
        problems.append(f"notifications: expected {wanted}; got {shown or 'none'}")
    for e, n in zip(expected, actual, strict=False):
        if e.rule is not None and e.rule != n.rule:
            problems.append(f"{e.channel}: expected rule {e.rule!r}, got {n.rule!r}")
        if e.text is not None and e.text != n.text:
            problems.append(f"{e.channel}: expected text {e.text!r}, got {n.text!r}")
        if e.contains is not None and e.contains not in n.text:
            problems.append(f"{e.channel}: expected a text containing {e.contains!r}, got {n.text!r}")
    return problems
