"""Rows the legacy job keyed with its wrong split of 10-digit numbers are found, never taken for new."""

from __future__ import annotations

import json
from pathlib import Path

from naver_sms.config.settings import Settings
from naver_sms.domain import BookingRecord, FixedClock
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime
from tests.conftest import CONFIG_DIR
from tests.world import kst, naver_booking


def test_a_legacy_row_of_a_ten_digit_number_keeps_its_key(tmp_path: Path) -> None:
    # GIVEN a booking for 031-123-4567 that the legacy job stored as 031-1234-567, confirmation sent
    raw = naver_booking(booking_id=900000061, store_id=1000006, start="2026-11-26 20:00", phone="0311234567")
    (tmp_path / "b.json").write_text(json.dumps([raw], ensure_ascii=False), encoding="utf-8")
    settings = Settings(
        config_dir=CONFIG_DIR, db=str(tmp_path / "s.sqlite3"), bookings_path=tmp_path / "b.json"
    )
    runtime, state = build_runtime(settings, clock=FixedClock(kst("2026-11-26 18:40")), run_id="r1")
    state.repo.create(
        BookingRecord("1000006_900000061", "031-1234-567", "홍길동", "2026-11-26 20:00:00", confirm_sms=True)
    )
    # WHEN a run comes inside the two hours
    report = run_once(runtime, run_id="r1")
    # THEN no second confirmation: only the guide, recorded on the legacy row, and no row under a new key
    assert [(s.template, s.phone) for s in report.sms] == [("guide_incheon", "031-1234-567")]
    rows = {r.phone: r for r in state.repo.records()}
    assert set(rows) == {"031-1234-567"}
    assert rows["031-1234-567"].remind_sms is True and rows["031-1234-567"].confirm_sms is True


def test_a_new_ten_digit_booking_gets_the_correct_key(tmp_path: Path) -> None:
    raw = naver_booking(booking_id=900000062, store_id=1000006, start="2026-11-27 20:00", phone="0311234567")
    (tmp_path / "b.json").write_text(json.dumps([raw], ensure_ascii=False), encoding="utf-8")
    settings = Settings(
        config_dir=CONFIG_DIR, db=str(tmp_path / "s.sqlite3"), bookings_path=tmp_path / "b.json"
    )
    runtime, state = build_runtime(settings, clock=FixedClock(kst("2026-11-26 18:40")), run_id="r1")
    run_once(runtime, run_id="r1")
    assert [r.phone for r in state.repo.records()] == ["031-123-4567"]
