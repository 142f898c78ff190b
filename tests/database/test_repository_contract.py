"""One repository contract, three backends: SQLite, moto_server and dynalite behave the same.

Every test builds its world on a fresh database of each backend (`backend` fixture) and tells one story.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from naver_sms.domain.booking import BookingRecord
from naver_sms.domain.clock import KST
from naver_sms.errors import (
    ClaimLost,
    FlagAlreadyDone,
    FlagClaimed,
    FlagFailedForGood,
    RecordMissing,
)
from naver_sms.flags.machine import FlagRepository
from tests.database.backends import Backend

NOW = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
LEASE = timedelta(minutes=10)


def record(
    n: int = 1, *, confirm_sms: bool = False, remind_sms: bool = False, option_sms: bool = False
) -> BookingRecord:
    return BookingRecord(
        booking_num=f"900001_{n}",
        phone=f"010-0000-{n:04d}",
        name="홍길동",
        booking_time="2026-11-26 20:00:00",
        confirm_sms=confirm_sms,
        remind_sms=remind_sms,
        option_sms=option_sms,
    )


def stored(backend: Backend, rec: BookingRecord) -> BookingRecord:
    found = backend.repo.get(rec.key)
    assert found is not None
    return found


# --- create and load ---


def test_create_inserts_a_new_record_that_load_returns_unchanged(backend: Backend) -> None:
    # GIVEN an empty table
    rec = record(confirm_sms=True)
    # WHEN the record is created
    inserted = backend.repo.create(rec)
    # THEN it is inserted and reads back equal
    assert inserted is True
    assert backend.repo.get(rec.key) == rec


def test_create_never_overwrites_an_existing_record(backend: Backend) -> None:
    # GIVEN a record whose confirmation went out
    backend.repo.create(record(confirm_sms=True))
    # WHEN a run that thinks the booking is new creates it again with every flag false
    inserted = backend.repo.create(record())
    # THEN nothing is overwritten
    assert inserted is False
    assert stored(backend, record()).confirm_sms is True


def test_load_leaves_absent_keys_out_of_records_and_out_of_errors(backend: Backend) -> None:
    # GIVEN one record
    backend.repo.create(record(1))
    # WHEN it and an unknown booking are loaded
    result = backend.repo.load([record(1).key, record(2).key])
    # THEN the known one is found, the unknown one is simply absent, and nothing is an error
    assert set(result.records) == {record(1).key}
    assert result.errors == {}


def test_load_reads_more_than_a_hundred_records_in_batches(backend: Backend) -> None:
    # GIVEN 250 records
    for n in range(250):
        backend.repo.create(record(n))
    keys = [record(n).key for n in range(250)]
    # WHEN they are loaded at once
    result = backend.repo.load(keys)
    # THEN all are found - and DynamoDB needed one BatchGetItem per 100 keys, not one read per booking
    assert set(result.records) == set(keys)
    assert result.errors == {}
    if backend.name != "sqlite":
        assert result.read_calls == math.ceil(250 / 100)


def test_load_reads_a_key_asked_twice_once(backend: Backend) -> None:
    # GIVEN a record
    backend.repo.create(record(1))
    # WHEN its key is asked twice in one load
    result = backend.repo.load([record(1).key, record(1).key])
    # THEN it is found once, in one call
    assert list(result.records) == [record(1).key]
    assert result.read_calls == 1


# --- plain flag writes ---


def test_set_flag_is_idempotent(backend: Backend) -> None:
    # GIVEN a record with remind_sms false
    backend.repo.create(record())
    # WHEN the flag is set twice
    first = backend.repo.set_flag(record().key, "remind_sms", True)
    second = backend.repo.set_flag(record().key, "remind_sms", True)
    # THEN the first changed it, the second found nothing to change
    assert (first, second) == (True, False)
    assert stored(backend, record()).remind_sms is True


def test_set_flag_false_clears_a_true_flag_once(backend: Backend) -> None:
    # GIVEN a record with option_sms true
    backend.repo.create(record(option_sms=True))
    # WHEN it is cleared twice
    results = [backend.repo.set_flag(record().key, "option_sms", False) for _ in range(2)]
    # THEN only the first call changed it
    assert results == [True, False]
    assert stored(backend, record()).option_sms is False


def test_set_flag_leaves_a_flag_that_a_run_has_claimed_to_that_run(backend: Backend) -> None:
    # GIVEN another run's live claim on slack_listed
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "slack_listed", run_id="run-a", now=NOW, lease=LEASE)
    # WHEN a plain update_flag sets it THEN nothing changes: the claim's holder decides
    assert backend.repo.set_flag(record().key, "slack_listed", True, now=NOW) is False
    assert stored(backend, record()).flag("slack_listed") is False
    # AND when that run's post fails, the flag is open again - not marked as listed by someone else
    backend.repo.release(claim, error="slack 500")
    assert stored(backend, record()).flag("slack_listed") is False
    assert backend.repo.set_flag(record().key, "slack_listed", True, now=NOW) is True


def test_set_flag_clears_the_claim_of_a_run_that_died(backend: Backend) -> None:
    # GIVEN a claim whose lease ran out (its run died)
    backend.repo.create(record())
    backend.repo.claim(record().key, "slack_listed", run_id="dead", now=NOW, lease=LEASE)
    # WHEN update_flag sets the flag after the lease THEN it is set, and the dead claim is gone
    assert backend.repo.set_flag(record().key, "slack_listed", True, now=NOW + LEASE + timedelta(seconds=1))
    row = stored(backend, record())
    assert row.flag("slack_listed") is True
    assert not [k for k in row.extra if k.startswith("slack_listed_claim")]


def test_set_flag_leaves_a_flag_that_failed_for_good_to_the_operator(backend: Backend) -> None:
    # GIVEN a flag whose sends failed max_attempts times
    backend.repo.create(record())
    for i in range(backend.repo.max_attempts):
        claim = backend.repo.claim(record().key, "slack_listed", run_id=f"run-{i}", now=NOW, lease=LEASE)
        backend.repo.release(claim, error="slack 500")
    # WHEN update_flag sets it THEN it stays unset and failed: it was never delivered; `db reset` decides
    assert backend.repo.set_flag(record().key, "slack_listed", True, now=NOW) is False
    row = stored(backend, record())
    assert row.flag("slack_listed") is False and row.extra.get("slack_listed_failed") is True


def test_set_flag_on_a_missing_record_raises_record_missing(backend: Backend) -> None:
    # GIVEN an empty table
    # WHEN a flag is set on a record that does not exist THEN RecordMissing - never a silent insert
    with pytest.raises(RecordMissing):
        backend.repo.set_flag(record().key, "remind_sms", True)
    assert backend.repo.get(record().key) is None


# --- the claim protocol ---


def test_claim_of_an_open_flag_holds_it_against_another_run(backend: Backend) -> None:
    # GIVEN a record and a run that claimed its confirmation
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    # WHEN another run tries to claim it within the lease
    with pytest.raises(FlagClaimed) as refused:
        backend.repo.claim(
            record().key, "confirm_sms", run_id="run-b", now=NOW + timedelta(minutes=5), lease=LEASE
        )
    # THEN it is refused, and the first claim is a fresh one (attempt 1, not stale)
    assert refused.value.details["run_id"] == "run-a"
    assert (claim.attempt, claim.stale, claim.lease_until) == (1, None, NOW + LEASE)
    assert FlagRepository.flag_state(stored(backend, record()), "confirm_sms", NOW) == "claimed"


def test_commit_sets_the_flag_with_the_provider_id_and_clears_the_claim(backend: Backend) -> None:
    # GIVEN a claimed flag
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    # WHEN the run that holds it commits
    backend.repo.commit(claim, request_id="RQ-1", sent_at=NOW)
    # THEN the flag is done, with the provider's id and time, and no claim is left
    row = stored(backend, record())
    assert row.confirm_sms is True
    assert row.extra["confirm_sms_request_id"] == "RQ-1"
    assert row.extra["confirm_sms_sent_at"] == NOW.isoformat()
    assert not {"confirm_sms_claim_run", "confirm_sms_claim_until", "confirm_sms_claim_info"} & set(row.extra)
    assert FlagRepository.flag_state(row, "confirm_sms", NOW) == "done"


def test_a_done_flag_cannot_be_claimed_again(backend: Backend) -> None:
    # GIVEN a committed flag
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    backend.repo.commit(claim, request_id="RQ-1", sent_at=NOW)
    # WHEN a later run tries to claim it, even long after
    # THEN it is refused as done
    with pytest.raises(FlagAlreadyDone):
        backend.repo.claim(
            record().key, "confirm_sms", run_id="run-b", now=NOW + timedelta(days=1), lease=LEASE
        )


def test_commit_by_a_run_that_does_not_hold_the_claim_is_claim_lost(backend: Backend) -> None:
    # GIVEN a flag claimed by run-a
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    forged = type(claim)(claim.key, claim.flag, "run-b", claim.attempt, claim.claimed_at, claim.lease_until)
    # WHEN run-b commits THEN ClaimLost, and the flag stays claimed by run-a
    with pytest.raises(ClaimLost):
        backend.repo.commit(forged, request_id="RQ-X", sent_at=NOW)
    row = stored(backend, record())
    assert row.confirm_sms is False
    assert row.extra["confirm_sms_claim_run"] == "run-a"


def test_release_opens_the_flag_again_and_counts_the_attempt(backend: Backend) -> None:
    # GIVEN a claimed flag whose send failed
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "remind_sms", run_id="run-a", now=NOW, lease=LEASE)
    # WHEN the run releases it
    failed = backend.repo.release(claim, error="SENS 500")
    # THEN it is open with one attempt and the error kept, and the next claim is attempt 2
    row = stored(backend, record())
    assert failed is False
    assert (row.extra["remind_sms_attempts"], row.extra["remind_sms_last_error"]) == (1, "SENS 500")
    assert FlagRepository.flag_state(row, "remind_sms", NOW) == "open"
    again = backend.repo.claim(record().key, "remind_sms", run_id="run-b", now=NOW, lease=LEASE)
    assert again.attempt == 2


def test_release_at_the_bound_fails_the_flag_for_good(backend: Backend) -> None:
    # GIVEN a flag whose send failed max_attempts times
    backend.repo.create(record())
    results = []
    for n in range(backend.repo.max_attempts):
        claim = backend.repo.claim(record().key, "remind_sms", run_id=f"run-{n}", now=NOW, lease=LEASE)
        results.append(backend.repo.release(claim, error=f"SENS 500 #{n}"))
    # WHEN another run tries to claim it
    # THEN the last release reported failed-for-good and the claim is refused with the last error
    assert results == [False] * (backend.repo.max_attempts - 1) + [True]
    with pytest.raises(FlagFailedForGood) as refused:
        backend.repo.claim(record().key, "remind_sms", run_id="run-x", now=NOW, lease=LEASE)
    assert refused.value.details["last_error"] == f"SENS 500 #{backend.repo.max_attempts - 1}"
    assert FlagRepository.flag_state(stored(backend, record()), "remind_sms", NOW) == "failed"


def test_reset_by_an_operator_opens_a_failed_flag(backend: Backend) -> None:
    # GIVEN a flag failed for good
    backend.repo.create(record())
    for n in range(backend.repo.max_attempts):
        claim = backend.repo.claim(record().key, "remind_sms", run_id=f"run-{n}", now=NOW, lease=LEASE)
        backend.repo.release(claim, error="SENS 500")
    # WHEN an operator resets it (twice: the second finds nothing to reset)
    first, second = (
        backend.repo.reset(record().key, "remind_sms", now=NOW),
        backend.repo.reset(record().key, "remind_sms", now=NOW),
    )
    # THEN the time of the reset is on the row (it makes the flag due for a retry), and it can be claimed
    # again, as attempt 1
    assert (first, second) == (True, False)
    assert stored(backend, record()).extra.get("remind_sms_reset_at") == NOW.isoformat()
    claim = backend.repo.claim(record().key, "remind_sms", run_id="run-ok", now=NOW, lease=LEASE)
    assert claim.attempt == 1


def test_a_sent_flag_forgets_its_reset_and_a_flag_opened_again_forgets_its_failures(backend: Backend) -> None:
    # GIVEN a flag that failed, was reset by an operator, and then went out
    backend.repo.create(record())
    claim = backend.repo.claim(record().key, "remind_sms", run_id="run-1", now=NOW, lease=LEASE)
    backend.repo.release(claim, error="SENS 500")
    for n in range(2, backend.repo.max_attempts + 1):
        claim = backend.repo.claim(record().key, "remind_sms", run_id=f"run-{n}", now=NOW, lease=LEASE)
        backend.repo.release(claim, error="SENS 500")
    backend.repo.reset(record().key, "remind_sms", now=NOW)
    claim = backend.repo.claim(record().key, "remind_sms", run_id="run-ok", now=NOW, lease=LEASE)
    backend.repo.commit(claim, request_id="req-1", sent_at=NOW)
    assert "remind_sms_reset_at" not in stored(backend, record()).extra
    # WHEN a rule sets it back to false THEN it is a fresh flag: nothing makes it "due for a retry"
    assert backend.repo.set_flag(record().key, "remind_sms", False)
    extra = stored(backend, record()).extra
    assert not {"remind_sms_attempts", "remind_sms_last_error", "remind_sms_reset_at"} & set(extra)


def test_a_stale_claim_is_taken_over_after_its_lease_with_what_it_recorded(backend: Backend) -> None:
    # GIVEN run-a claimed a flag, recording what it would send, and then crashed
    backend.repo.create(record())
    info = {"to": "01000000001", "from": "0200000000"}
    backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE, info=info)
    # WHEN run-b claims it after the lease ran out
    later = NOW + LEASE + timedelta(seconds=1)
    claim = backend.repo.claim(record().key, "confirm_sms", run_id="run-b", now=later, lease=LEASE)
    # THEN run-b holds it, told about run-a's stale claim and what it recorded
    assert claim.stale is not None
    assert (claim.stale.run_id, claim.stale.attempt, dict(claim.stale.info)) == ("run-a", 1, info)
    assert claim.stale.lease_until == NOW + LEASE
    assert stored(backend, record()).extra["confirm_sms_claim_run"] == "run-b"


def test_the_crashed_run_cannot_commit_after_its_claim_was_taken_over(backend: Backend) -> None:
    # GIVEN run-a's claim was taken over by run-b after the lease
    backend.repo.create(record())
    old = backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)
    backend.repo.claim(record().key, "confirm_sms", run_id="run-b", now=NOW + LEASE * 2, lease=LEASE)
    # WHEN run-a wakes up and commits THEN ClaimLost
    with pytest.raises(ClaimLost):
        backend.repo.commit(old, request_id="RQ-A", sent_at=NOW)
    assert stored(backend, record()).confirm_sms is False


def test_claim_of_a_missing_record_raises_record_missing(backend: Backend) -> None:
    # GIVEN an empty table WHEN a flag is claimed THEN RecordMissing
    with pytest.raises(RecordMissing):
        backend.repo.claim(record().key, "confirm_sms", run_id="run-a", now=NOW, lease=LEASE)


def test_custom_flags_follow_the_same_protocol_as_legacy_ones(backend: Backend) -> None:
    # GIVEN a record and a flag the legacy table never had
    backend.repo.create(record())
    # WHEN it is claimed and committed
    claim = backend.repo.claim(record().key, "review_sms", run_id="run-a", now=NOW, lease=LEASE)
    backend.repo.commit(claim, request_id="RQ-9", sent_at=NOW)
    # THEN it is a boolean attribute of its own, and done
    row = stored(backend, record())
    assert row.flag("review_sms") is True
    assert backend.raw_types(record().key)["review_sms"] == "BOOL"
    with pytest.raises(FlagAlreadyDone):
        backend.repo.claim(record().key, "review_sms", run_id="run-b", now=NOW, lease=LEASE)


# --- the stored row ---


def test_legacy_attributes_keep_their_names_and_types(backend: Backend) -> None:
    # GIVEN a legacy-shaped record whose flags went through the claim protocol
    backend.repo.create(record(confirm_sms=True))
    claim = backend.repo.claim(record().key, "remind_sms", run_id="run-a", now=NOW, lease=LEASE)
    backend.repo.release(claim, error="SENS 429")
    # WHEN its stored attribute types are read
    types = backend.raw_types(record().key)
    # THEN the legacy attributes are as the legacy job wrote them, and counters are numbers
    assert {
        name: types[name]
        for name in (
            "booking_num",
            "phone",
            "name",
            "booking_time",
            "confirm_sms",
            "remind_sms",
            "option_sms",
            "option_time",
        )
    } == {
        "booking_num": "S",
        "phone": "S",
        "name": "S",
        "booking_time": "S",
        "confirm_sms": "BOOL",
        "remind_sms": "BOOL",
        "option_sms": "BOOL",
        "option_time": "S",
    }
    assert types["remind_sms_attempts"] == "N"


def test_items_come_back_with_python_types_like_sqlite(backend: Backend) -> None:
    # GIVEN a claimed flag
    backend.repo.create(record())
    backend.repo.claim(record().key, "remind_sms", run_id="run-a", now=NOW, lease=LEASE)
    # WHEN the raw item is read through the store
    items, _, _ = backend.repo.store.get_items([record().key])
    item = items[record().key]
    # THEN numbers are plain ints (never Decimal), booleans bools, strings strs
    assert type(item["remind_sms_claim_until"]) is int
    assert type(item["remind_sms_attempt"]) is int
    assert type(item["remind_sms"]) is bool
    assert item["option_time"] == ""


def test_records_lists_every_row(backend: Backend) -> None:
    # GIVEN three records
    for n in (3, 1, 2):
        backend.repo.create(record(n))
    # WHEN the operator lists them THEN all three come back, in booking order
    assert [r.booking_num for r in backend.repo.records()] == ["900001_1", "900001_2", "900001_3"]


# --- session ---


def test_session_cookies_round_trip_and_clear(backend: Backend) -> None:
    # GIVEN no cached session
    assert backend.sessions.load_cookies() is None
    cookies = [
        {"name": "NID_AUT", "value": "synthetic-자동", "domain": ".naver.com", "path": "/", "secure": True},
        {
            "name": "NID_SES",
            "value": "synthetic-2",
            "domain": ".naver.com",
            "path": "/",
            "expiry": 1795000000,
        },
    ]
    # WHEN cookies are saved, replaced, and cleared
    backend.sessions.save_cookies(cookies)
    first = backend.sessions.load_cookies()
    backend.sessions.save_cookies(cookies[:1])
    second = backend.sessions.load_cookies()
    backend.sessions.clear_cookies()
    # THEN each load sees the last save, and none after the clear
    assert first == cookies
    assert second == cookies[:1]
    assert backend.sessions.load_cookies() is None


def test_the_login_pause_round_trips_and_leaves_the_cookies_alone(backend: Backend) -> None:
    from naver_sms.ports import LoginPause

    # GIVEN a cached session and no pause
    cookies = [{"name": "NID_SES", "value": "synthetic", "domain": ".naver.com", "path": "/"}]
    backend.sessions.save_cookies(cookies)
    assert backend.sessions.load_login_pause() is None
    pause = LoginPause(
        since=NOW, until=NOW + timedelta(hours=6), reason="Naver asked for a captcha (보안문자)."
    )
    # WHEN a pause is saved, then lifted
    backend.sessions.save_login_pause(pause)
    loaded = backend.sessions.load_login_pause()
    backend.sessions.clear_cookies()
    after_clearing_cookies = backend.sessions.load_login_pause()
    backend.sessions.save_cookies(cookies)
    backend.sessions.clear_login_pause()
    # THEN it reads back whole, survives the cookies being cleared, and lifting it keeps the cookies
    assert loaded == pause and loaded.until.utcoffset() == timedelta(hours=9)
    assert after_clearing_cookies == pause
    assert backend.sessions.load_login_pause() is None
    assert backend.sessions.load_cookies() == cookies


def test_a_claim_whose_write_landed_but_whose_answer_was_lost_is_still_ours(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A transport retry of a claim that DynamoDB had applied finds its condition false; the claim must still
    be recognised as this call's own, or the SMS would wait a whole lease for nothing."""
    from datetime import timedelta

    from naver_sms.database.sqlite_repository import SqliteDatabase, SqliteRecordStore
    from naver_sms.domain import BookingRecord
    from naver_sms.domain.clock import KST
    from naver_sms.flags.machine import FlagRepository

    class ReplayingStore(SqliteRecordStore):
        """Applies an update, then answers as if a retry of it had failed its condition."""

        def update_if(self, key, *, expect, set_, remove=(), **options):  # type: ignore[no-untyped-def]
            super().update_if(key, expect=expect, set_=set_, remove=remove, **options)
            return None

    from datetime import datetime

    store = ReplayingStore(SqliteDatabase(tmp_path / "s.sqlite3"))
    repo = FlagRepository(store)
    repo.create(BookingRecord("1_1", "010-0000-0001"))
    now = datetime(2026, 11, 26, 18, 40, tzinfo=KST)
    claim = repo.claim(
        ("1_1", "010-0000-0001"), "confirm_sms", run_id="run-1", now=now, lease=timedelta(minutes=10)
    )
    assert claim.run_id == "run-1"
