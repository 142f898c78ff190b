"""The transitions of issue 13 on every backend (SQLite, moto_server, dynalite): a reschedule recorded once with
its flags reopened, a send suppressed for good, a request note adopted by its confirmed booking."""

from __future__ import annotations

from dataclasses import replace

from naver_sms.domain.status import NOTED_AS, RESCHEDULED_AT, RESCHEDULED_FROM
from naver_sms.flags.state import FlagAttrs, read_flag
from tests.database.backends import Backend
from tests.database.test_repository_contract import LEASE, NOW, record, stored


def sent(backend: Backend, flag: str, request_id: str) -> None:
    claim = backend.repo.claim(record().key, flag, run_id="run-0", now=NOW, lease=LEASE)
    backend.repo.commit(claim, request_id=request_id, sent_at=NOW)


def test_a_reschedule_is_recorded_once_and_reopens_the_flags_it_names(backend: Backend) -> None:
    # GIVEN a booking of 20:00 whose guide went out (and a failed attempt of another flag before)
    backend.repo.create(record(confirm_sms=True))
    sent(backend, "remind_sms", "req-guide")
    key = record().key
    # WHEN two runs record the move to 23:00
    moves = [
        backend.repo.reschedule(
            key,
            old_time="2026-11-26 20:00:00",
            new_time="2026-11-26 23:00:00",
            now=NOW,
            reopen=["remind_sms"],
        )
        for _ in range(2)
    ]
    # THEN the first one did, the second found it recorded
    assert moves == [True, False]
    row = stored(backend, record())
    assert row.booking_time == "2026-11-26 23:00:00"
    assert (row.extra[RESCHEDULED_FROM], row.extra[RESCHEDULED_AT]) == (
        "2026-11-26 20:00:00",
        NOW.isoformat(),
    )
    assert row.remind_sms is False and row.confirm_sms is True
    state = read_flag(row, "remind_sms", NOW)
    assert state.status == "open" and state.attempts is None and not state.retry_due
    assert state.request_id == "req-guide"  # kept: a look-up never takes the old SMS for the new one
    # AND the guide can be sent again, once
    sent(backend, "remind_sms", "req-guide-2")
    assert stored(backend, record()).remind_sms is True


def test_a_reschedule_is_refused_when_a_flag_to_reopen_is_no_longer_set(backend: Backend) -> None:
    backend.repo.create(record())
    moved = backend.repo.reschedule(
        record().key,
        old_time="2026-11-26 20:00:00",
        new_time="2026-11-26 23:00:00",
        now=NOW,
        reopen=["remind_sms"],
    )
    assert moved is False
    assert stored(backend, record()).booking_time == "2026-11-26 20:00:00"


def test_a_suppressed_send_is_done_for_good_with_its_reason(backend: Backend) -> None:
    backend.repo.create(record())
    key = record().key
    assert backend.repo.suppress(key, "ad_sms", reason="opted out", now=NOW) is True
    assert backend.repo.suppress(key, "ad_sms", reason="opted out", now=NOW) is False  # done already
    state = read_flag(stored(backend, record()), "ad_sms", NOW)
    assert (state.status, state.suppressed, state.request_id, state.sent_at) == (
        "done",
        "opted out",
        None,
        None,
    )
    assert stored(backend, record()).extra[FlagAttrs.of("ad_sms").suppressed] == "opted out"


def test_a_send_another_run_holds_is_not_suppressed_under_it(backend: Backend) -> None:
    backend.repo.create(record())
    backend.repo.claim(record().key, "ad_sms", run_id="run-a", now=NOW, lease=LEASE)
    assert backend.repo.suppress(record().key, "ad_sms", reason="opted out", now=NOW) is False
    assert read_flag(stored(backend, record()), "ad_sms", NOW).status == "claimed"


def test_a_request_note_is_adopted_once_by_its_confirmed_booking(backend: Backend) -> None:
    # GIVEN the row a rule's flag made while the booking was requested, with that flag set
    note = replace(
        record(), name="", booking_time="2026-11-28 14:00:00", extra={NOTED_AS: "RC02", "told": True}
    )
    backend.repo.create(note)
    assert stored(backend, note).request_note
    # WHEN the confirmed booking's row is made (its time moved meanwhile)
    confirmed = replace(record(), booking_time="2026-11-28 15:00:00")
    adopted = [backend.repo.adopt(confirmed), backend.repo.adopt(confirmed)]
    # THEN the note became its row, once: its name and time as now, the mark gone, the flag kept
    assert adopted == [True, False]
    row = stored(backend, note)
    assert not row.request_note and NOTED_AS not in row.extra
    assert (row.name, row.booking_time, row.flag("told")) == ("홍길동", "2026-11-28 15:00:00", True)
