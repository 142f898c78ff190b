"""The order the live source yields bookings in: store by store, confirmed then completed per store. The legacy
parity walk (tests/test_legacy_parity.py, `LiveOrderSource`) feeds the runner bookings in this order, and
the plan still decides them in the legacy order (every confirmed booking first: naver_sms.rules.order)."""

from __future__ import annotations

import pytest

from naver_sms.database.sqlite_repository import SqliteSessionRepository
from naver_sms.naver.live import NaverBookingSource
from tests.naver.conftest import NOW, STORES
from tests.naver.test_api import given_bookings, given_logged_in
from tests.standins.naver import NaverStandIn

pytestmark = pytest.mark.integration


def test_the_live_source_yields_store_by_store_confirmed_then_completed(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN three stores, each with confirmed and completed bookings
    for store in STORES:
        given_bookings(naver, store.id, confirmed=3, completed=2)
    given_logged_in(naver, sessions)
    # WHEN the live source fetches them
    result = source.fetch(STORES, NOW)
    # THEN they come store by store in the order asked, each store's confirmed ones before its completed ones
    runs = [(b.store_id, b.status) for b in result.bookings]
    grouped = [key for i, key in enumerate(runs) if i == 0 or runs[i - 1] != key]
    assert grouped == [(s.id, status) for s in STORES for status in ("RC03", "RC08")]


def test_the_live_source_counts_the_stores_it_could_not_read(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    # GIVEN three stores, every one answering 404 to its list calls: nothing at all can be read
    for store in STORES:
        given_bookings(naver, store.id, confirmed=2)
        naver.fail(store.id, 404, kind="list", times=10)
    given_logged_in(naver, sessions)
    # WHEN fetched  THEN the result says so: every part lost (the runner fails the run on it)
    result = source.fetch(STORES, NOW)
    assert (result.parts, result.parts_lost, result.lost_everything) == (3, 3, True)


def test_one_store_lost_of_three_is_not_everything(
    naver: NaverStandIn, source: NaverBookingSource, sessions: SqliteSessionRepository
) -> None:
    for store in STORES:
        given_bookings(naver, store.id, confirmed=2)
    naver.fail(STORES[1].id, 404, kind="count")
    given_logged_in(naver, sessions)
    result = source.fetch(STORES, NOW)
    assert (result.parts, result.parts_lost, result.lost_everything) == (3, 1, False)
