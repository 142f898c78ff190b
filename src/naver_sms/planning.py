"""Steps 4-5 of a run - load state, decide - one batch of bookings at a time (issue 12): a batch is what the
source gives at once (one store's bookings, one file's), its rows read in batched reads, its facts evaluated,
and only what the run goes on to use is kept:

- the facts of the bookings some rule matches (all of them for a preview: `plan --explain` shows why each
  booking does not match);
- per phone number, the SMS request ids on the rows read (a look-up of a stale claim never takes another
  booking's send for this one: `Plan.known_request_ids`);
- the flags failed for good (reported on every run until an operator resets them);
- what could not be read (reported; when nothing at all could be read, the state store itself is down).

So a steady run holds one batch and what is due, not every booking, row and evaluation of the run. The plan is
the kept facts evaluated once more, in the order they came: a rule sees exactly what it would have seen in one
pass over every booking (evaluation has no side effects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import Booking, BookingRecord, legacy_phone_key
from naver_sms.domain.clock import Clock
from naver_sms.errors import RepositoryError
from naver_sms.flags.machine import FlagRepository
from naver_sms.flags.state import FlagState, failed_flags, request_ids
from naver_sms.flags.store import UNREADABLE_ROW
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.facts import Facts
from naver_sms.rules.plan import CompiledRule, Plan
from naver_sms.rules.report import RunError, RunReport


class PlanBuilder:
    """Collects the plan of one run from batches of bookings (`add`), then gives it (`plan`)."""

    def __init__(
        self,
        *,
        repo: FlagRepository,
        engine: RuleEngine,
        rules: Sequence[CompiledRule],
        config: AppConfig,
        report: RunReport,
        real_clock: Clock,
        keep_all: bool = False,
    ) -> None:
        self._repo = repo
        self._engine = engine
        self._rules = tuple(rules)
        self._enabled = tuple(r for r in rules if r.enabled)
        self._config = config
        self._report = report
        self._real = real_clock
        self._keep_all = keep_all
        self._kept: list[Facts] = []
        self._request_ids: dict[str, tuple[str, ...]] = {}
        self._failed: list[tuple[Booking, FlagState]] = []
        self._failed_seen: set[str] = set()
        self._unread: list[RunError] = []
        self._readable = 0

    def add(self, bookings: Sequence[Booking]) -> None:
        """Load the rows of `bookings` in batched reads and decide them; keep what the run will use."""
        if not bookings:
            return
        keys = [(b.booking_num, b.phone) for b in bookings]
        # rows the legacy job wrote for 10-digit and 02 numbers have another key (legacy_phone_key): read both
        old_keys = {
            b.booking_num: old for b in bookings if (old := legacy_phone_key(b.phone_digits)) != b.phone
        }
        read_at = self._real()
        loaded = self._repo.load(keys + [(num, old) for num, old in old_keys.items()])
        self._report.read_calls += loaded.read_calls
        now, keywords = self._report.now, self._config.option_keywords
        for booking in bookings:
            key = (booking.booking_num, booking.phone)
            if key not in loaded.records and key not in loaded.errors and booking.booking_num in old_keys:
                old_key = (booking.booking_num, old_keys[booking.booking_num])
                if old_key in loaded.records or old_key in loaded.errors:
                    booking, key = replace(booking, phone=old_key[1]), old_key  # keep writing to its row
            if key in loaded.errors:  # a read error is never "not in the database" (legacy-behaviour.md §7)
                self._unread.append(
                    RunError(
                        "record_read",
                        loaded.errors[key],
                        booking_num=booking.booking_num,
                        store_id=booking.store_id,
                    )
                )
                continue
            self._readable += 1
            record = loaded.records.get(key)
            facts = Facts(booking, record, now, self._config.store(booking.store_id), keywords, read_at)
            if record is not None:
                self._remember(booking, record, read_at)
            if self._keep_all or any(r.first_failure(facts) is None for r in self._enabled):
                self._kept.append(facts)

    def _remember(self, booking: Booking, record: BookingRecord, read_at: datetime) -> None:
        ids = request_ids(record)
        if ids:
            phone = booking.phone_digits
            self._request_ids[phone] = (*self._request_ids.get(phone, ()), *sorted(ids))
        if booking.booking_num not in self._failed_seen:
            for state in failed_flags(record, read_at):
                self._failed.append((booking, state))
                self._failed_seen.add(booking.booking_num)

    def plan(self) -> Plan:
        """The plan of every batch added. Raises `RepositoryError` when not one row could be read, and not
        for damaged rows: the state store itself is down or misnamed."""
        unread = self._unread
        if unread and not self._readable and not any(e.message.startswith(UNREADABLE_ROW) for e in unread):
            raise RepositoryError(
                f"the state store could not be read for any of the {len(unread)} bookings: {unread[0].message}"
            )
        self._report.errors.extend(unread)
        plan = self._engine.evaluate(self._rules, self._kept)
        plan.request_ids = self._request_ids
        plan.failed = self._failed
        plan.complete = self._keep_all
        return plan
