"""The live booking source: every store's bookings from the partner API behind one session, stores fetched
concurrently. A malformed page or booking is skipped and reported, a store that cannot be fetched is reported
and the others go on (legacy aborted the whole run: legacy-behaviour.md §7), and a session rejected mid-fetch
gets ONE fresh login for the whole fetch.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from naver_sms.config.settings import Settings
from naver_sms.domain.booking import Booking, BookingError, Store
from naver_sms.domain.clock import KST
from naver_sms.errors import BookingSourceError, LoginError, StoreFetchError
from naver_sms.naver.api import (
    CONFIRMED,
    PAGE_SIZE,
    MalformedPage,
    NaverApi,
    SessionRejected,
    Window,
    changes_windows,
    completed_windows,
    confirmed_windows,
)
from naver_sms.naver.login import BrowserLogin
from naver_sms.naver.session import Login, SessionManager
from naver_sms.naver.wire import map_object
from naver_sms.ports import FetchResult, SessionRepository, merged

log = logging.getLogger("naver_sms.naver.live")

#: the most stores fetched at once when `NAVER_SMS_FETCH_CONCURRENCY` is not set (`auto_workers`)
AUTO_MAX_WORKERS = 16


def auto_workers(stores: int) -> int:
    """Stores fetched at once for a chain of `stores`: 4 up to 16 stores (the legacy chain's 8: 4, as before),
    then one more per 4 stores, at most `AUTO_MAX_WORKERS` - so 200 stores take about 1/16 of the sequential
    time, not 1/4 (bench/scale.py)."""
    return max(4, min(AUTO_MAX_WORKERS, math.ceil(stores / 4)))


class NaverBookingSource:
    """`BookingSource` over the partner API. `fetch` raises `LoginError` (or `LoginBlocked`) only when no
    session can be had at the start; everything later is reported in the `FetchResult`."""

    description = "naver (live)"

    def __init__(
        self,
        api: NaverApi,
        session: SessionManager,
        *,
        completed_window_days: int = 3,
        concurrency: int | None = None,
        confirmed_horizon_days: int | None = None,
        changes: Sequence[str] = (),
        changes_window_days: int = 31,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.api = api
        self.session = session
        self.completed_window_days = completed_window_days
        self.concurrency = concurrency
        self.confirmed_horizon_days = confirmed_horizon_days
        #: the statuses fetched on demand (RC02, RC04) because an enabled rule asks about them
        self.changes = tuple(changes)
        self.changes_window_days = changes_window_days

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session_repository: SessionRepository,
        *,
        login: Login | None = None,
        api: NaverApi | None = None,
        changes: Sequence[str] = (),
    ) -> NaverBookingSource:
        """The production wiring: API client on `naver_api_base`, browser login on `naver_login_url`;
        `changes`: the statuses fetched on demand that the rules ask about."""
        api = api or NaverApi(settings.naver_api_base)
        login = login or BrowserLogin.from_settings(settings)
        session = SessionManager(
            session_repository,
            login,
            api.check_session,
            pause=timedelta(minutes=settings.login_pause_minutes),
        )
        return cls(
            api,
            session,
            completed_window_days=settings.completed_window_days,
            concurrency=settings.fetch_concurrency,
            changes=changes,
            changes_window_days=settings.changes_window_days,
        )

    def close(self) -> None:
        """Release the HTTP client's connections (warm Lambda containers and `serve` reuse the process)."""
        self.api.close()

    def windows(self, now: datetime) -> list[Window]:
        return [
            *confirmed_windows(now, self.confirmed_horizon_days),
            *completed_windows(now, self.completed_window_days),
            # after the confirmed ones: a booking cancelled between the queries is kept as cancelled
            *changes_windows(now, self.changes, self.changes_window_days),
        ]

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        return merged(self.fetch_batches(stores, now))

    def workers(self, stores: int) -> int:
        """Stores fetched at once: the configured bound, or one that grows with the chain (`auto_workers`)."""
        bound = self.concurrency if self.concurrency is not None else auto_workers(stores)
        return max(1, min(bound, stores))

    def fetch_batches(self, stores: Sequence[Store], now: datetime) -> Iterator[FetchResult]:
        """One part per store, in the stores' order, while the next stores are being fetched (at most
        `workers` at once, and as many again fetched ahead of the part being handed on)."""
        if not stores:
            return
        now = now.astimezone(KST)
        counted = self.api.requests
        self.api.set_cookies(self.session.cookies(stores[0].id))
        windows = self.windows(now)
        relogin = _OneRelogin(self.session, self.api)
        workers = self.workers(len(stores))
        self.api.throttle.reset(workers)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="naver-fetch")
        pending: deque[tuple[Store, Future[tuple[list[Booking], list[BookingError]]]]] = deque()
        upcoming = iter(stores)
        try:
            for store in itertools.islice(upcoming, 2 * workers):
                pending.append((store, pool.submit(self._store, store, windows, now, relogin)))
            while pending:
                store, future = pending.popleft()
                part = self._part(store, future)
                for more in itertools.islice(upcoming, 1):
                    pending.append((more, pool.submit(self._store, more, windows, now, relogin)))
                total = self.api.requests  # read once: the other stores' threads go on counting
                part.requests, counted = total - counted, total
                yield part
        finally:  # the run stopped taking parts (or failed): no store not yet started starts
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _part(store: Store, future: Future[tuple[list[Booking], list[BookingError]]]) -> FetchResult:
        # a store is one of the source's parts: lost when not one of its bookings could be read
        part = FetchResult(parts=1)
        try:
            bookings, skipped = future.result()
        except BookingSourceError as exc:
            message = str(exc).removeprefix(f"store {store.id}: ")
            part.failed_stores[store.id] = message
            part.parts_lost = 1
            log.error("store %s (%s) not fetched: %s", store.id, store.alias, message)
            return part
        if skipped and not bookings:  # it had bookings, and not one could be read
            part.parts_lost = 1
        part.bookings, part.skipped = bookings, skipped
        log.info("store %s (%s): %d bookings, %d skipped", store.id, store.alias, len(bookings), len(skipped))
        return part

    def _store(
        self, store: Store, windows: Sequence[Window], now: datetime, relogin: _OneRelogin
    ) -> tuple[list[Booking], list[BookingError]]:
        seen = relogin.generation
        try:
            return self._fetch_store(store, windows, now)
        except SessionRejected:
            log.warning("store %s: Naver rejected the session", store.id)
        relogin.refresh(seen)  # raises LoginError when the one fresh login of this fetch is used up or fails
        try:
            return self._fetch_store(store, windows, now)
        except SessionRejected as exc:
            raise StoreFetchError(
                "Naver rejected the session again right after a fresh login "
                "(does this account manage this store?)",
                store_id=store.id,
            ) from exc

    def _fetch_store(
        self, store: Store, windows: Sequence[Window], now: datetime
    ) -> tuple[list[Booking], list[BookingError]]:
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        bookings: dict[str, Booking] = {}
        skipped: list[BookingError] = []
        for window in windows:
            count = self.api.count(store.id, window)
            for page in range(math.ceil(count / PAGE_SIZE)):
                try:
                    items, encodable = self.api.checked_page(store.id, window, page)
                except MalformedPage as exc:
                    log.warning("%s: skipped", exc)
                    skipped.append(BookingError(f"{exc} - the page was skipped"))
                    continue
                for item in items:
                    booking = self._map(item, store, skipped, encodable=encodable)
                    if booking is None:
                        continue
                    if window.status == CONFIRMED and window.start is None and booking.reserve_at < today:
                        continue  # an undated RC03 query also lists past bookings: only today on is wanted
                    # windows share no second, but paging can shift while bookings arrive: one entry per id
                    # (the last query's wins: the RC02/RC04 query comes last and holds the newest status)
                    bookings[booking.booking_num] = booking
        return list(bookings.values()), skipped

    @staticmethod
    def _map(item: Any, store: Store, skipped: list[BookingError], *, encodable: bool) -> Booking | None:
        try:
            booking = map_object(item, encodable=encodable)
        except BookingError as exc:
            log.warning("store %s: malformed booking skipped: %s", store.id, exc)
            skipped.append(exc)
            return None
        if booking.store_id != store.id:
            error = BookingError(
                f"listed under store {store.id} but belongs to store {booking.store_id}",
                booking_id=booking.booking_id,
                field="businessId",
            )
            log.warning("store %s: %s", store.id, error)
            skipped.append(error)
            return None
        return booking


class _OneRelogin:
    """At most one fresh login per fetch, shared by the store workers."""

    def __init__(self, session: SessionManager, api: NaverApi) -> None:
        self._session = session
        self._api = api
        self._lock = threading.Lock()
        self.generation = 0
        self._failure: LoginError | None = None

    def refresh(self, seen_generation: int) -> None:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self.generation != seen_generation:
                return  # another store logged in again meanwhile: retry with the new cookies
            if self.generation > 0:
                raise LoginError("Naver rejected the session again after this run's fresh login")
            try:
                cookies = self._session.relogin()
            except LoginError as exc:
                self._failure = exc
                raise
            self._api.set_cookies(cookies)
            self.generation += 1


def log_in_now(
    settings: Settings, session_repository: SessionRepository, *, interactive: bool = False
) -> int:
    """`naver-sms login [--interactive]`: a browser login now (a visible window waiting for a person, when
    interactive), its cookies cached; returns their number, or raises `LoginError` (nothing cached)."""
    login = BrowserLogin.from_settings(settings, interactive=interactive)
    source = NaverBookingSource.from_settings(settings, session_repository, login=login)
    try:
        return len(source.session.login())
    finally:
        source.api.close()
