"""Legacy parity: the default configuration does what the legacy job did (legacy-behaviour.md §3-§6).

A walk over whole days in 20-minute steps (00:00, 00:20, ... Korean time) runs the real runner (default
`config/`, SQLite, sandbox outbox) and the independent oracle of `tests/legacy_oracle.py` side by side on
the same bookings, the same pre-seeded rows and the same clock, and compares, step by step, the SMS (to,
from, type, subject, content), the legacy attributes of every row, and the Telegram summary. Three sources
give the bookings: in memory and from the JSON files (in the order of the world), and in the live source's
order (store by store, confirmed then completed per store): the summary's lines come in the legacy order
whichever it is.

The defects the project fixes on purpose (legacy-behaviour.md §7) are asserted at the end, separately,
against the fixed behaviour: a failed send is not recorded as sent and is retried, a confirmation is
retried outside the two-hour window, attempts are bounded, a record read error skips the booking.
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from naver_sms.config.settings import Settings
from naver_sms.database.sqlite_repository import SqliteDatabase
from naver_sms.domain.booking import Booking, BookingError, BookingRecord, Store
from naver_sms.domain.clock import FixedClock
from naver_sms.errors import BookingSourceError, DeliveryUnavailable
from naver_sms.naver.files import JsonFileSource
from naver_sms.ports import FetchResult, SmsMessage, SmsReceipt
from naver_sms.rules.report import RunReport
from naver_sms.runner import Runtime, run_once
from naver_sms.wiring import State, build_runtime, open_state
from tests.legacy_oracle import LEGACY_ATTRIBUTES, LegacyConfig, LegacyJob, LegacySms
from tests.world import BASE_OPTION, kst, write_bookings
from tests.world import raw_booking as naver_booking

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"

DAY0 = kst("2026-11-26 00:00")
STEP = timedelta(minutes=20)
DAYS = 3
BEFORE_THE_WALK = DAY0 - timedelta(days=30)

KW_NAVER = ("무료 인화지 (네이버 포토리뷰 약속 시)", 1)  # the keyword is *contained* in the option name
KW_INSTA = ("인스타 팔로우 이벤트", 1)
KW_ORIGINAL = ("원본 전체", 1)
NO_KEYWORD = ("추가 인화", 1)
WITH_KEYWORD = (BASE_OPTION, KW_NAVER)

Wire = tuple[str, str, str, str, str]


def at(day: int, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY0 + timedelta(days=day, hours=int(hours), minutes=int(minutes))


def rc(
    booking_id: int,
    store: int,
    start: datetime,
    *,
    status: str = "RC03",
    options: Sequence[tuple[str, int]] = (BASE_OPTION,),
    phone: str | None = None,
) -> dict[str, Any]:
    return naver_booking(
        booking_id, store_id=1000000 + store, status=status, start=start, options=options, phone=phone
    )


def with_status(raw: dict[str, Any], status: str) -> dict[str, Any]:
    changed = copy.deepcopy(raw)
    changed["bookingStatusCode"] = status
    changed["isCompleted"] = status == "RC08"
    return changed


# --- the world: bookings whose status and visibility depend on the clock ---------------------------------


@dataclass(frozen=True)
class Timeline:
    """One booking as the source reports it over time: from each `since` on, `raw` (None: not reported)."""

    phases: tuple[tuple[datetime, dict[str, Any] | None], ...]

    def at(self, now: datetime) -> dict[str, Any] | None:
        current: dict[str, Any] | None = None
        for since, raw in self.phases:
            if since <= now:
                current = raw
        return current


def appears(since: datetime, raw: dict[str, Any], *later: tuple[datetime, str]) -> Timeline:
    """Reported from `since`; then its status changes at each later (time, status)."""
    return Timeline(((since, raw), *((t, with_status(raw, s)) for t, s in later)))


def always(raw: dict[str, Any], *later: tuple[datetime, str]) -> Timeline:
    return appears(BEFORE_THE_WALK, raw, *later)


@dataclass(frozen=True)
class Seed:
    """A row that exists before the walk, with only the legacy attributes."""

    raw: dict[str, Any]
    confirm_sms: bool
    remind_sms: bool
    option_sms: bool


def parity_world() -> tuple[list[Timeline], list[Seed]]:
    """Every legacy case of §3-§4, spread over three days and eight stores (two with their own sender)."""
    timelines = [
        # new, tomorrow; guide the next day (existing row); completed with a keyword -> event at 20:00
        appears(at(0, "09:00"), rc(1, 1, at(1, "14:00"), options=WITH_KEYWORD), (at(1, "15:00"), "RC08")),
        # new between two runs, seen first inside the window: confirmation + guide (Busan's own sender)
        appears(at(0, "10:10"), rc(2, 2, at(0, "11:30"))),
        # new, exactly two hours ahead: the guide too (inclusive window of a new booking)
        appears(at(0, "13:00"), rc(3, 3, at(0, "15:00"))),
        # new, 2 h 20 ahead; at 13:20 the row is exactly 2 h ahead: no guide (strict); at 13:40 the guide
        appears(at(0, "13:00"), rc(4, 4, at(0, "15:20"))),
        # new but already started: the confirmation only
        appears(at(0, "16:00"), rc(5, 5, at(0, "15:00"))),
        # new, starting right now: the confirmation only
        appears(at(1, "19:40"), rc(6, 6, at(1, "19:40"))),
        # a 10-digit phone; completed without a keyword: no event
        always(rc(7, 7, at(1, "10:00"), phone="0311234567"), (at(1, "11:00"), "RC08")),
        # a Seoul 02 number; completed with 인스타 -> event on day 2
        always(
            rc(8, 8, at(2, "18:30"), options=(BASE_OPTION, KW_INSTA), phone="0212345678"),
            (at(2, "19:30"), "RC08"),
        ),
        # RC03 -> RC08 with 원본 the same day -> event at 20:00 of day 0
        always(rc(9, 2, at(0, "13:00"), options=(BASE_OPTION, KW_ORIGINAL)), (at(0, "14:00"), "RC08")),
        # RC03 -> RC08 without a keyword -> no event
        always(rc(10, 1, at(0, "17:00"), options=(BASE_OPTION, NO_KEYWORD)), (at(0, "18:00"), "RC08")),
        # confirmed, then cancelled before its window: no guide
        always(rc(11, 3, at(1, "12:00")), (at(0, "12:00"), "RC04")),
        # requested (RC02: nothing), then confirmed at 15:00
        always(rc(12, 4, at(1, "12:00"), status="RC02"), (at(0, "15:00"), "RC03")),
        # cancelled all along: nothing
        always(rc(13, 5, at(0, "19:00"), status="RC04")),
        # completed with a keyword but never in the table: nothing
        always(rc(14, 6, at(0, "10:00"), status="RC08", options=WITH_KEYWORD)),
        appears(at(2, "20:00"), rc(15, 7, at(2, "18:00"), status="RC08", options=(BASE_OPTION, KW_ORIGINAL))),
        # new late at night inside the window: confirmation + guide from Suwon's own sender
        appears(at(1, "21:40"), rc(16, 5, at(1, "23:30"))),
        # 원본 in the second of several options, chosen twice -> event on day 2
        always(
            rc(17, 6, at(2, "11:00"), options=(BASE_OPTION, NO_KEYWORD, ("원본 파일 추가", 2))),
            (at(2, "12:00"), "RC08"),
        ),
        # completed during the 20 o'clock hour: events at 20:20 and 20:40; completed at 21:00: next day
        always(rc(18, 8, at(1, "18:00"), options=WITH_KEYWORD), (at(1, "20:10"), "RC08")),
        always(rc(19, 1, at(1, "18:30"), options=(BASE_OPTION, KW_INSTA)), (at(1, "20:30"), "RC08")),
        always(rc(20, 2, at(1, "19:00"), options=(BASE_OPTION, KW_ORIGINAL)), (at(1, "21:00"), "RC08")),
        # starts in the walk's first half hour: confirmation + guide at 00:00
        always(rc(21, 3, at(0, "00:30"))),
        # far ahead: the confirmation only
        always(rc(22, 4, at(9, "12:00"))),
        # new at 20:00 while earlier stores' completed bookings get their events: the legacy job decided
        # every confirmed booking before any completed one, so these lines come before the event lines
        appears(at(0, "20:00"), rc(24, 8, at(1, "12:00"))),
        appears(at(1, "20:00"), rc(25, 7, at(1, "21:30"))),
        # a store that is not configured: the source never asks for it
        always(naver_booking(23, store_id=1000099, start=at(0, "12:00"))),
    ]
    seeds: list[Seed] = []
    combos = list(itertools.product((False, True), repeat=3))
    for i, (confirm, remind, option) in enumerate(combos):
        store = 1 + i % 8
        # every flag combination on a confirmed booking that completes with a keyword the same day
        raw = rc(101 + i, store, at(0, "17:00"), options=WITH_KEYWORD)
        seeds.append(Seed(raw, confirm, remind, option))
        timelines.append(always(raw, (at(0, "18:00"), "RC08")))
        # ... on one without a keyword, the next morning
        raw = rc(111 + i, store, at(1, "09:00"), options=(BASE_OPTION, NO_KEYWORD))
        seeds.append(Seed(raw, confirm, remind, option))
        timelines.append(always(raw, (at(1, "10:00"), "RC08")))
        # ... on a completed booking of the day before, with a keyword (the table's RC08 look-up)
        raw = rc(121 + i, store, at(-1, "15:00"), status="RC08", options=(BASE_OPTION, KW_INSTA))
        seeds.append(Seed(raw, confirm, remind, option))
        timelines.append(always(raw))
    # confirmed, already started at the walk's start: nothing, whatever the flags
    for i, (confirm, remind) in enumerate(((True, False), (True, True), (False, False))):
        raw = rc(131 + i, 4 + i, at(-1, "23:00"))
        seeds.append(Seed(raw, confirm, remind, False))
        timelines.append(always(raw))
    return timelines, seeds


class ClockedSource:
    """A `BookingSource` whose answer depends on the clock; it maps the objects with the real mapping and,
    like the live source, only reports the stores it is asked for."""

    description = "memory: bookings that change with the clock"

    def __init__(self, timelines: Sequence[Timeline]) -> None:
        self.timelines = list(timelines)

    def raws(self, now: datetime) -> list[dict[str, Any]]:
        return [raw for t in self.timelines if (raw := t.at(now)) is not None]

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        wanted = {s.id for s in stores}
        result = FetchResult()
        for raw in self.raws(now):
            try:
                booking = Booking.from_naver(raw)
            except BookingError as exc:
                result.skipped.append(exc)
                continue
            if booking.store_id in wanted:
                result.bookings.append(booking)
        return result


class LiveOrderSource(ClockedSource):
    """The order of the live source (naver/live.py): store by store, in the order of stores.yaml; per
    store its confirmed bookings from today on, then its completed ones, each as the partner API lists
    them (by start). Other statuses are never asked for."""

    description = "memory, in the live source's order"

    def __init__(self, timelines: Sequence[Timeline], store_ids: Sequence[str]) -> None:
        super().__init__(timelines)
        self.store_ids = list(store_ids)

    def raws(self, now: datetime) -> list[dict[str, Any]]:
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        by_start = sorted(super().raws(now), key=lambda raw: raw["snapshotJson"]["startDateTime"])
        ordered = []
        for store in self.store_ids:
            mine = [raw for raw in by_start if str(raw["businessId"]) == store]
            ordered += [
                raw
                for raw in mine
                if raw["bookingStatusCode"] == "RC03" and Booking.from_naver(raw).reserve_at >= today
            ]
            ordered += [raw for raw in mine if raw["bookingStatusCode"] == "RC08"]
        return ordered


# --- running both ------------------------------------------------------------------------------------------


@dataclass
class StepResult:
    now: datetime
    ours: list[tuple[str, str, Wire]]  # (booking_num, status, wire) in report order
    outbox: list[tuple[Wire, str]]  # (wire, contentType) of the outbox rows written by this run
    legacy: list[LegacySms]
    ours_table: dict[tuple[str, str], dict[str, Any]]
    legacy_table: dict[tuple[str, str], dict[str, Any]]
    summary: str
    telegram: list[str]
    legacy_summary: str
    errors: list[str]


def legacy_attributes(state: State) -> dict[tuple[str, str], dict[str, Any]]:
    return {r.key: {a: r.to_item()[a] for a in LEGACY_ATTRIBUTES} for r in state.repo.records()}


def seed_both(state: State, oracle: LegacyJob, seeds: Sequence[Seed]) -> None:
    for seed in seeds:
        row = oracle.seed(
            oracle.map(seed.raw),
            confirm_sms=seed.confirm_sms,
            remind_sms=seed.remind_sms,
            option_sms=seed.option_sms,
        )
        assert state.repo.create(BookingRecord(**row))


def make_runtime(tmp: Path, *, bookings: Path, **settings: Any) -> tuple[Runtime, State]:
    chosen = Settings(
        config_dir=CONFIG_DIR, db=str(tmp / "state.sqlite3"), bookings_path=bookings, **settings
    )
    return build_runtime(chosen, clock=FixedClock(DAY0), run_id="parity", state=open_state(chosen))


def walk(tmp: Path, source_kind: str) -> list[StepResult]:
    timelines, seeds = parity_world()
    bookings_file = tmp / "bookings" / "all.json"
    runtime, state = make_runtime(tmp, bookings=bookings_file)
    clocked = (
        LiveOrderSource(timelines, list(runtime.config.stores))
        if source_kind == "live-order"
        else ClockedSource(timelines)
    )
    if source_kind in ("memory", "live-order"):
        runtime.source = clocked
    else:
        assert isinstance(runtime.source, JsonFileSource)
    oracle = LegacyJob(LegacyConfig.load(CONFIG_DIR))
    seed_both(state, oracle, seeds)
    seen_sms = seen_telegram = 0
    results = []
    for i in range(DAYS * 24 * 3):
        now = DAY0 + i * STEP
        raws = clocked.raws(now)
        if source_kind == "files":
            write_bookings(bookings_file, raws)
        runtime.clock = FixedClock(now)
        report = run_once(runtime)
        legacy = oracle.run(raws, now)
        new_sms = sorted(
            (r for r in state.outbox.entries(channel="sms") if r["id"] > seen_sms), key=lambda r: r["id"]
        )
        new_telegram = sorted(
            (r for r in state.outbox.entries(channel="telegram") if r["id"] > seen_telegram),
            key=lambda r: r["id"],
        )
        seen_sms = max([seen_sms, *(r["id"] for r in new_sms)])
        seen_telegram = max([seen_telegram, *(r["id"] for r in new_telegram)])
        results.append(
            StepResult(
                now=now,
                ours=[
                    (s.booking_num, s.status, (s.to, s.sender, s.type, s.subject, s.content))
                    for s in report.sms
                ],
                outbox=[(_wire(r["payload"]), r["payload"]["contentType"]) for r in new_sms],
                legacy=legacy.sms,
                ours_table=legacy_attributes(state),
                legacy_table=copy.deepcopy(oracle.table),
                summary=report.summary,
                telegram=[r["payload"]["text"] for r in new_telegram],
                legacy_summary=legacy.summary,
                errors=[f"{e.kind}: {e.message}" for e in report.errors]
                + ([report.failed] if report.failed else []),
            )
        )
    if state.sqlite is not None:
        state.sqlite.close()
    return results


def _wire(body: Mapping[str, Any]) -> Wire:
    (recipient,) = body["messages"]
    return (recipient["to"], body["from"], body["type"], body["subject"], body["content"])


@pytest.fixture(scope="module", params=["memory", "files", "live-order"])
def steps(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[StepResult]:
    return walk(tmp_path_factory.mktemp(f"walk-{request.param}"), request.param)


def legacy_sends(steps: Sequence[StepResult]) -> Iterator[tuple[datetime, LegacySms]]:
    for step in steps:
        for sms in step.legacy:
            yield step.now, sms


def when(steps: Sequence[StepResult], booking_id: int, kind: str) -> list[str]:
    """The times (HH:MM of day N) the oracle sent `kind` to the booking `booking_id`."""
    return [
        f"{(now - DAY0).days}/{now:%H:%M}"
        for now, sms in legacy_sends(steps)
        if sms.booking_num.endswith(f"_{booking_id}") and sms.kind == kind
    ]


# --- parity, step by step ---------------------------------------------------------------------------------


def test_every_run_sends_exactly_the_legacy_sms(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN each run is compared with the legacy decisions at the same clock
    mismatches = [
        (f"{s.now:%Y-%m-%d %H:%M}", Counter(w for _, _, w in s.ours), Counter(x.wire for x in s.legacy))
        for s in steps
        if Counter(w for _, _, w in s.ours) != Counter(x.wire for x in s.legacy)
    ]
    # THEN the SMS of every run are exactly the legacy ones (to, from, type, subject, content)
    assert mismatches == []
    assert all(status == "outbox" for s in steps for _, status, _ in s.ours)


def test_every_run_writes_exactly_the_legacy_sms_to_the_outbox(steps: list[StepResult]) -> None:
    # GIVEN the walk in the sandbox  WHEN the outbox rows of each run are compared with the legacy SENS bodies
    mismatches = [
        f"{s.now:%Y-%m-%d %H:%M}"
        for s in steps
        if Counter(s.outbox) != Counter((x.wire, x.content_type) for x in s.legacy)
    ]
    # THEN they are the same messages, all LMS with contentType COMM
    assert mismatches == []
    assert {(w[2], ct) for s in steps for w, ct in s.outbox} == {("LMS", "COMM")}


def test_within_a_booking_the_sms_go_out_in_the_legacy_order(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN the SMS of each booking in each run are listed in the order they went out
    def per_booking(pairs: Sequence[tuple[str, Wire]]) -> dict[str, list[Wire]]:
        grouped: dict[str, list[Wire]] = defaultdict(list)
        for booking_num, wire in pairs:
            grouped[booking_num].append(wire)
        return dict(grouped)

    mismatches = [
        f"{s.now:%Y-%m-%d %H:%M}"
        for s in steps
        if per_booking([(b, w) for b, _, w in s.ours])
        != per_booking([(x.booking_num, x.wire) for x in s.legacy])
    ]
    # THEN the order is the legacy one (the confirmation before the guide)
    assert mismatches == []


def test_after_every_run_every_row_holds_the_legacy_attributes(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN the legacy attributes of every row are read after each run
    mismatches = []
    for s in steps:
        if s.ours_table != s.legacy_table:
            keys = set(s.ours_table) | set(s.legacy_table)
            diff = {
                k: (s.ours_table.get(k), s.legacy_table.get(k))
                for k in keys
                if s.ours_table.get(k) != s.legacy_table.get(k)
            }
            mismatches.append((f"{s.now:%Y-%m-%d %H:%M}", diff))
    # THEN they are exactly the legacy rows (booking_time "YYYY-MM-DD HH:MM:SS", option_time "")
    assert mismatches[:3] == []


def test_every_run_posts_the_legacy_telegram_summary(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN each run's summary is compared with the legacy text
    mismatches = [
        (f"{s.now:%Y-%m-%d %H:%M}", s.summary, s.telegram, s.legacy_summary)
        for s in steps
        if s.summary != s.legacy_summary or s.telegram != [s.legacy_summary]
    ]
    # THEN the report and the one Telegram message of the run carry exactly the legacy text
    assert mismatches[:3] == []


def test_no_run_of_the_walk_reports_an_error(steps: list[StepResult]) -> None:
    assert [(f"{s.now:%H:%M}", s.errors) for s in steps if s.errors] == []


# --- the walk covers the legacy cases (the parity above is not vacuous) -----------------------------------
# These read the oracle's sends; the tests above prove the runner's are the same at every step.


def test_walk_sends_every_kind_from_the_right_senders(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN its SMS are grouped by kind and sender
    kinds = Counter(sms.kind for _, sms in legacy_sends(steps))
    guide_senders = {sms.sender for _, sms in legacy_sends(steps) if sms.kind == "guide"}
    # THEN every kind went out; guides from the stores' own numbers too, the rest from the default sender
    assert kinds["confirmation"] > 10 and kinds["guide"] > 10 and kinds["event"] >= 8
    assert {"0200000000", "0510000000", "0310000000"} <= guide_senders
    assert {sms.sender for _, sms in legacy_sends(steps) if sms.kind != "guide"} == {"0200000000"}


def test_walk_sends_the_event_only_in_the_20_oclock_hour(steps: list[StepResult]) -> None:
    # GIVEN the walk, with bookings completing before, during and after 20:00
    # WHEN the times of the event SMS are collected
    event_times = {now for now, sms in legacy_sends(steps) if sms.kind == "event"}
    # THEN they are all in the 20 o'clock hour (runs at 20:00, 20:20, 20:40; none at 19:40 or 21:00)
    assert {t.hour for t in event_times} == {20}
    assert {t.minute for t in event_times} == {0, 20, 40}
    assert when(steps, 18, "event") == ["1/20:20"]
    assert when(steps, 19, "event") == ["1/20:40"]
    assert when(steps, 20, "event") == ["2/20:00"]  # completed at 21:00: the next day's 20 o'clock


def test_walk_covers_the_inclusive_and_strict_two_hour_boundary(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN the guides of bookings exactly two hours ahead at some run are looked at
    # a new booking exactly two hours ahead gets the guide at once
    assert when(steps, 3, "guide") == ["0/13:00"]
    # a row exactly two hours ahead does not: the guide comes one run later
    assert when(steps, 4, "confirmation") == ["0/13:00"]
    assert when(steps, 4, "guide") == ["0/13:40"]
    assert when(steps, 1, "guide") == ["1/12:20"]


def test_walk_covers_started_cancelled_requested_and_unknown_bookings(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN the SMS of started, cancelled, requested, never-stored and unknown-store bookings
    # are looked at  THEN started ones got the confirmation only, the others nothing (RC02 once confirmed)
    assert (when(steps, 5, "confirmation"), when(steps, 5, "guide")) == (["0/16:00"], [])
    assert (when(steps, 6, "confirmation"), when(steps, 6, "guide")) == (["1/19:40"], [])
    assert when(steps, 11, "guide") == []
    assert when(steps, 12, "confirmation") == ["0/15:00"]
    silent = (13, 14, 15, 23, 131, 132, 133)
    assert {n: [when(steps, n, k) for k in ("confirmation", "guide", "event")] for n in silent} == {
        n: [[], [], []] for n in silent
    }


def test_walk_covers_every_seeded_flag_combination(steps: list[StepResult]) -> None:
    # GIVEN rows seeded with every combination of confirm_sms, remind_sms, option_sms
    # WHEN their SMS are looked at  THEN each got what its flags leave open, and nothing else
    combos = list(itertools.product((False, True), repeat=3))
    for i, (confirm, remind, option) in enumerate(combos):
        expected_guide = [] if remind else ["0/15:20"]
        assert when(steps, 101 + i, "guide") == expected_guide
        assert when(steps, 101 + i, "confirmation") == ([] if confirm or remind else ["0/15:20"])
        assert when(steps, 101 + i, "event") == ([] if option else ["0/20:00"])
        assert when(steps, 111 + i, "guide") == ([] if remind else ["1/07:20"])
        assert when(steps, 111 + i, "event") == []
        assert when(steps, 121 + i, "event") == ([] if option else ["0/20:00"])


def test_walk_has_runs_whose_confirmations_come_before_earlier_stores_events(steps: list[StepResult]) -> None:
    # GIVEN the walk  WHEN the 20 o'clock runs that send both kinds are looked at
    mixed = [s for s in steps if {"confirmation", "event"} <= {x.kind for x in s.legacy}]
    # THEN there are some, and in each every confirmation and guide line comes before the first event line
    # (the legacy order), though a completed booking of an earlier store precedes them in the live order
    assert {f"{(s.now - DAY0).days}/{s.now:%H:%M}" for s in mixed} >= {"0/20:00", "1/20:00"}
    for s in mixed:
        kinds = [x.kind for x in s.legacy]
        assert kinds.index("event") > max(i for i, k in enumerate(kinds) if k != "event"), kinds


def test_walk_keys_10_digit_phones_in_a_correct_stable_form(steps: list[StepResult]) -> None:
    # GIVEN the walk's 10-digit numbers 0311234567 and 0212345678  WHEN the runner's rows are read
    phones = {key[1] for key in steps[-1].ours_table}
    # THEN they are keyed 3-3-4 and 02-4-4 (legacy split them 3-4-3), 11-digit ones 3-4-4
    assert {"031-123-4567", "02-1234-5678", "010-0000-0001"} <= phones


# --- deviations from legacy, on purpose (legacy-behaviour.md §7) -----------------------------------------


class FlakySms:
    """An SmsService stand-in that fails its first `failures` sends (every send when None); with `only`, only
    sends whose content contains `only` can fail."""

    live = False

    def __init__(self, failures: int | None, *, only: str | None = None) -> None:
        self.failures = failures
        self.only = only
        self.calls: list[SmsMessage] = []
        self.failed: list[SmsMessage] = []
        self.sent: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> SmsReceipt:
        self.calls.append(message)
        eligible = self.only is None or self.only in message.content
        if eligible and (self.failures is None or len(self.failed) < self.failures):
            self.failed.append(message)
            raise DeliveryUnavailable("503 after 3 attempts", channel="sens", status_code=503)
        self.sent.append(message)
        return SmsReceipt("sent", f"req-{len(self.sent)}", datetime.now(UTC))

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        return None


@pytest.fixture
def failing_world(tmp_path: Path) -> Iterator[Any]:
    """A sandbox runtime over a bookings file, with its SMS service replaced by `use(FlakySms)`."""
    bookings_file = tmp_path / "bookings.json"
    runtime, state = make_runtime(tmp_path, bookings=bookings_file, max_attempts=3)

    class World:
        rt = runtime
        st = state

        @staticmethod
        def bookings(*raws: dict[str, Any]) -> None:
            write_bookings(bookings_file, raws)

        @staticmethod
        def use(sms: FlakySms) -> None:
            runtime.services = replace(runtime.services, sms_service=sms)

        @staticmethod
        def run(now: datetime) -> RunReport:
            runtime.clock = FixedClock(now)
            return run_once(runtime)

        @staticmethod
        def row(raw: dict[str, Any]) -> BookingRecord | None:
            b = Booking.from_naver(raw)
            return state.repo.get((b.booking_num, b.phone))

    yield World
    if state.sqlite is not None:
        state.sqlite.close()


TOMORROW = rc(501, 1, at(1, "14:00"), phone="01055550001")
SOON = rc(502, 2, at(0, "11:00"), phone="01055550002")
TOMORROW_NUM = "1000001_501"


def test_a_failed_confirmation_is_not_recorded_as_sent(failing_world: Any) -> None:
    # GIVEN a new booking for tomorrow and SENS failing once
    failing_world.bookings(TOMORROW)
    failing_world.use(FlakySms(failures=1))
    # WHEN the run tries to send its confirmation
    report = failing_world.run(at(0, "10:00"))
    # THEN the SMS is reported failed, the row exists with confirm_sms false (legacy: true, the SMS lost)
    assert [(s.template, s.status) for s in report.sms] == [("confirmation", "failed")]
    row = failing_world.row(TOMORROW)
    assert row is not None and row.confirm_sms is False
    assert report.summary == "010-5555-0001 예약확정 문자 발송 실패"


def test_a_failed_confirmation_is_retried_on_the_next_run_outside_the_window(failing_world: Any) -> None:
    # GIVEN a confirmation whose send failed at 10:00 (the booking starts tomorrow)
    failing_world.bookings(TOMORROW)
    sms = FlakySms(failures=1)
    failing_world.use(sms)
    failing_world.run(at(0, "10:00"))
    # WHEN the next run comes, 20 minutes later, far outside the two-hour window
    report = failing_world.run(at(0, "10:20"))
    # THEN the confirmation is sent by the retry rule and the flag is set
    assert [(s.rule, s.template, s.status) for s in report.sms] == [
        ("existing_booking_confirmation", "confirmation", "sent")
    ]
    assert len(sms.sent) == 1
    row = failing_world.row(TOMORROW)
    assert row is not None and row.confirm_sms is True and row.remind_sms is False
    assert report.summary == "010-5555-0001 예약확정 문자 발송 완료"


def test_a_failed_guide_is_retried_on_the_next_run(failing_world: Any) -> None:
    # GIVEN a new booking inside its window whose guide fails (the confirmation went out)
    failing_world.bookings(SOON)
    failing_world.use(FlakySms(failures=1, only="안내드립니다"))
    first = failing_world.run(at(0, "09:20"))
    assert [(s.template, s.status) for s in first.sms] == [
        ("confirmation", "sent"),
        ("guide_busan", "failed"),
    ]
    assert first.summary == "010-5555-0002 예약확정 문자 발송 완료\n010-5555-0002 안내 문자 발송 실패"
    # WHEN the next run comes
    report = failing_world.run(at(0, "09:40"))
    # THEN only the guide goes out, and both flags are set
    assert [(s.template, s.status, s.sender) for s in report.sms] == [("guide_busan", "sent", "0510000000")]
    row = failing_world.row(SOON)
    assert row is not None and (row.confirm_sms, row.remind_sms) == (True, True)


def test_attempts_are_bounded_then_reported_failed_for_good(failing_world: Any) -> None:
    # GIVEN SENS failing every send, and max_attempts 3
    failing_world.bookings(TOMORROW)
    sms = FlakySms(failures=None)
    failing_world.use(sms)
    # WHEN five runs come, 20 minutes apart
    reports = [failing_world.run(at(0, "10:00") + k * STEP) for k in range(5)]
    # THEN the confirmation was tried three times only, and is never recorded as sent
    assert len(sms.calls) == 3
    row = failing_world.row(TOMORROW)
    assert row is not None and row.confirm_sms is False
    assert row.extra.get("confirm_sms_failed") is True
    assert [[s.status for s in r.sms] for r in reports[:3]] == [["failed"]] * 3


def test_a_guide_failed_for_good_inside_its_window_is_reported_on_every_later_run(failing_world: Any) -> None:
    # GIVEN a booking inside its window whose guide failed three times (max_attempts)
    failing_world.bookings(SOON)
    sms = FlakySms(failures=None, only="안내드립니다")
    failing_world.use(sms)
    for k in range(3):
        failing_world.run(at(0, "09:20") + k * STEP)
    assert len(sms.failed) == 3
    # WHEN two more runs come, still before the booking starts
    later = [failing_world.run(at(0, "10:20") + k * STEP) for k in range(2)]
    # THEN neither tries again, and each reports the guide as failed for good
    assert len(sms.failed) == 3
    for report in later:
        assert [(s.template, s.status) for s in report.sms] == [("guide_busan", "failed")]
        assert any(e.booking_num == "1000002_502" and "failed 3 times" in e.message for e in report.errors)
        assert report.summary == "010-5555-0002 안내 문자 발송 실패"


def test_a_flag_failed_for_good_is_reported_on_every_later_run(failing_world: Any) -> None:
    # GIVEN a confirmation that failed three times (max_attempts) outside its window
    failing_world.bookings(TOMORROW)
    failing_world.use(FlakySms(failures=None))
    for k in range(3):
        failing_world.run(at(0, "10:00") + k * STEP)
    # WHEN two more runs come
    later = [failing_world.run(at(0, "11:00") + k * STEP) for k in range(2)]
    # THEN each reports the booking's flag as failed for good
    for report in later:
        assert any(e.booking_num == TOMORROW_NUM and "fail" in e.message.lower() for e in report.errors), (
            report.errors
        )


def test_a_record_read_error_skips_the_booking(failing_world: Any) -> None:
    # GIVEN a row that cannot be read (confirmation already sent), and another, new booking
    other = rc(503, 3, at(1, "15:00"), phone="01055550003")
    failing_world.bookings(TOMORROW, other)
    sms = FlakySms(failures=0)
    failing_world.use(sms)
    b = Booking.from_naver(TOMORROW)
    failing_world.st.repo.create(replace(BookingRecord.for_booking(b), confirm_sms=True))
    db: SqliteDatabase = failing_world.st.sqlite
    with db.transaction(write=True) as conn:
        conn.execute("UPDATE sms SET item = '{not json' WHERE booking_num = ?", (b.booking_num,))
    # WHEN a run comes
    report = failing_world.run(at(0, "10:00"))
    # THEN that booking is skipped and reported (legacy: taken as new, overwritten, confirmation re-sent)
    assert [e.kind for e in report.errors if e.booking_num == b.booking_num] == ["record_read"]
    assert [s.booking_num for s in report.sms] == ["1000003_503"]
    with db.transaction(write=False) as conn:
        (item,) = conn.execute("SELECT item FROM sms WHERE booking_num = ?", (b.booking_num,)).fetchone()
    assert item == "{not json"


def test_a_state_store_that_cannot_be_read_at_all_fails_the_run(failing_world: Any) -> None:
    # GIVEN two bookings and a state store that answers no read (down, or a misnamed table)
    failing_world.bookings(TOMORROW, rc(503, 3, at(1, "15:00"), phone="01055550003"))
    sms = FlakySms(failures=0)
    failing_world.use(sms)
    real_load = failing_world.rt.repo.load

    def unreadable(keys: Any) -> Any:
        result = real_load(keys)
        return replace(
            result, records={}, errors={k: "ResourceNotFoundException: no table sms2" for k in keys}
        )

    failing_world.rt.repo.load = unreadable
    # WHEN a run comes
    report = failing_world.run(at(0, "10:00"))
    # THEN it fails as a whole - never "nothing to send" - and sends nothing
    assert report.failed is not None and "could not be read for any of the 2 bookings" in report.failed
    assert "no table sms2" in report.failed
    assert report.summary == "요청중 오류 발생"
    assert sms.calls == []


def test_a_single_damaged_row_is_that_bookings_problem_not_the_stores(failing_world: Any) -> None:
    # GIVEN one booking, whose row is damaged
    failing_world.bookings(TOMORROW)
    failing_world.use(FlakySms(failures=0))
    b = Booking.from_naver(TOMORROW)
    failing_world.st.repo.create(replace(BookingRecord.for_booking(b), confirm_sms=True))
    with failing_world.st.sqlite.transaction(write=True) as conn:
        conn.execute("UPDATE sms SET item = '{not json' WHERE booking_num = ?", (b.booking_num,))
    # WHEN a run comes THEN the booking is skipped and reported, and the run itself has not failed
    report = failing_world.run(at(0, "10:00"))
    assert report.failed is None
    assert [e.kind for e in report.errors] == ["record_read"]


class BrokenSource:
    description = "a source that cannot be reached"

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        raise BookingSourceError("partner API unreachable")


def test_a_run_that_fails_as_a_whole_posts_the_legacy_failure_summary(failing_world: Any) -> None:
    # GIVEN a booking source that fails as a whole
    failing_world.rt.source = BrokenSource()
    # WHEN a run comes
    report = failing_world.run(at(0, "10:00"))
    # THEN the run is reported failed, and the Telegram summary is the legacy "error during the request"
    assert report.failed is not None and "partner API unreachable" in report.failed
    assert report.summary == "요청중 오류 발생"
    (entry,) = failing_world.st.outbox.entries(channel="telegram")
    assert entry["payload"]["text"] == "요청중 오류 발생"


class BlockedSource:
    description = "naver (live), login blocked"

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        from naver_sms.errors import LoginBlocked

        raise LoginBlocked("Naver asks for a captcha: log in once by hand")


def test_a_login_that_needs_a_person_says_so_in_the_summary(failing_world: Any) -> None:
    # GIVEN Naver stopped the browser login at a captcha
    failing_world.rt.source = BlockedSource()
    # WHEN a run comes
    report = failing_world.run(at(0, "10:00"))
    # THEN the legacy failure line is followed by what the owner must do
    lines = report.summary.splitlines()
    assert lines[0] == "요청중 오류 발생"
    assert "naver-sms login --interactive" in lines[1]
    assert "captcha" in lines[2]
