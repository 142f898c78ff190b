"""A run decides its bookings a batch at a time (naver_sms.planning, issue 12 item 3): it keeps only the
bookings some rule matches, yet decides exactly what one pass over every booking decides, in the same order,
and still reports what it reports of the others (flags failed for good) and knows their SMS request ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from naver_sms.config.settings import Settings
from naver_sms.domain import BookingRecord, FixedClock
from naver_sms.naver import files
from naver_sms.ports import fetch_batches
from naver_sms.runner import Runtime, build_plan, decide, new_report, run_once
from naver_sms.wiring import State, build_runtime
from tests.conftest import CONFIG_DIR
from tests.world import kst, naver_booking

NOW = kst("2026-11-26 18:40")


def world(tmp_path: Path) -> tuple[Runtime, State, list[dict[str, Any]]]:
    # 24 bookings over four stores in two files: tomorrow (a confirmation is due), and two within two hours
    raws = [
        naver_booking(
            booking_id=900000200 + i,
            store_id=1000001 + i % 4,
            start="2026-11-26 20:00" if i in (5, 17) else f"2026-11-27 {10 + i % 9}:00",
            phone=f"0104000{i:04d}",
        )
        for i in range(24)
    ]
    (tmp_path / "in").mkdir()
    for n, part in enumerate((raws[:13], raws[13:])):
        (tmp_path / "in" / f"{n}.json").write_text(json.dumps(part, ensure_ascii=False), encoding="utf-8")
    settings = Settings(config_dir=CONFIG_DIR, db=str(tmp_path / "s.sqlite3"), bookings_path=tmp_path / "in")
    runtime, state = build_runtime(settings, clock=FixedClock(NOW), run_id="r1", real_clock=FixedClock(NOW))
    # every third booking's confirmation was sent before (no rule matches it tomorrow); one of them has a
    # guide that failed for good
    for i in range(0, 24, 3):
        extra: dict[str, Any] = {"confirm_sms_request_id": f"RQ-{i}"}
        if i == 9:
            extra |= {
                "remind_sms_failed": True,
                "remind_sms_attempts": 3,
                "remind_sms_last_error": "SENS 500",
            }
        state.repo.create(
            BookingRecord(
                f"{1000001 + i % 4}_{900000200 + i}",
                f"010-4000-{i:04d}",
                confirm_sms=True,
                extra=extra,
            )
        )
    return runtime, state, raws


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "BATCH", 5)


def decided(plan: Any) -> list[tuple[str, str]]:
    return [(ev.rule.name, ev.facts.booking.booking_num) for ev in plan.matches()]


def test_batches_decide_what_one_pass_decides_in_the_same_order_keeping_only_the_matched(
    tmp_path: Path,
) -> None:
    runtime, _, raws = world(tmp_path)
    # GIVEN the source gives its bookings in batches (two files, five bookings at a time)
    batches = list(fetch_batches(runtime.source, list(runtime.config.stores.values()), NOW))
    assert [len(b.bookings) for b in batches] == [5, 5, 3, 5, 5, 1]
    everything = [b for batch in batches for b in batch.bookings]
    # WHEN a run decides them as they come, and a preview decides all of them in one pass
    run_report = new_report(runtime, "r1")
    streamed = decide(runtime, run_report)
    whole = build_plan(runtime, new_report(runtime, "r2"), everything)
    # THEN the same rules match the same bookings, in the same order
    assert decided(streamed) == decided(whole) and decided(streamed)
    # AND the run kept only the bookings a rule matches (a preview keeps every one, to explain it)
    matched = {num for _, num in decided(whole)}
    assert len(whole.facts) == len(raws)
    assert [f.booking.booking_num for f in streamed.facts] == [
        f.booking.booking_num for f in whole.facts if f.booking.booking_num in matched
    ]
    assert len(streamed.facts) < len(raws)
    # AND it knows the SMS request ids of every row read, matched or not (a look-up never takes another's)
    assert dict(streamed.known_request_ids()) == dict(whole.known_request_ids())
    assert streamed.known_request_ids()["01040000003"] == frozenset({"RQ-3"})
    # AND small parts were read together: one batch read for the 24 bookings, not one per part
    assert run_report.read_calls == 1


def test_a_flag_failed_for_good_is_reported_though_no_rule_matches_its_booking(tmp_path: Path) -> None:
    runtime, _, _ = world(tmp_path)
    # WHEN a run decides and acts (the booking with the failed guide is tomorrow's: no rule matches it)
    report = run_once(runtime, run_id="r1")
    # THEN the failed flag is reported, with the command that resets it
    failed = [e for e in report.errors if e.kind == "flag_failed"]
    assert [(e.booking_num, e.message) for e in failed] == [
        (
            "1000002_900000209",
            "remind_sms failed for good after 3 attempts: SENS 500 "
            "(reset: naver-sms db reset 1000002_900000209 remind_sms)",
        )
    ]
    assert report.bookings_fetched == 24
    # AND every confirmation not sent before was sent once, in the order of the bookings
    confirmed = [s.booking_num for s in report.sms if s.flag == "confirm_sms"]
    assert confirmed == [f"{1000001 + i % 4}_{900000200 + i}" for i in range(24) if i % 3]
