"""The Naver session: reuse cached cookies, start a browser only when they are missing or rejected.

    cached cookies? --no--------------------------------------------> browser login -> save -> use
        | yes
        v
    one count call with them (SessionCheck)
        200          -> use them (no browser)
        401/403/login redirect -> clear the cache -> browser login -> save -> use
        429/5xx/no answer      -> use them anyway; a rejected API call later logs in again, once

A login Naver blocks raises `LoginBlocked`, caches nothing and pauses browser logins (`LoginPause`) until a
person logs in (`naver-sms login`, which lifts it) or the pause ends. The legacy job started a browser on
every run (legacy-behaviour.md §7).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from naver_sms.domain.clock import KST, SystemClock
from naver_sms.errors import LoginBlocked, LoginError, RepositoryError
from naver_sms.ports import LoginPause, SessionRepository

log = logging.getLogger("naver_sms.naver.session")

Cookies = list[dict[str, Any]]


class Login(Protocol):
    """Logs in to Naver and returns the session's cookies (Selenium's format), or raises `LoginError`."""

    def login(self) -> Cookies: ...


class SessionCheck(Protocol):
    """One plain HTTP call with `cookies` (the count call of `store_id`):
    True = a session, False = rejected, None = could not tell (Naver unavailable)."""

    def __call__(self, cookies: Sequence[Mapping[str, Any]], store_id: str) -> bool | None: ...


class SessionManager:
    """Gives the cookies of a valid session, logging in with the browser only when it must."""

    def __init__(
        self,
        repository: SessionRepository,
        login: Login,
        check: SessionCheck,
        *,
        pause: timedelta = timedelta(hours=6),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._repository = repository
        self._login = login
        self._check = check
        self._pause = pause
        self._clock = clock or SystemClock()  # real time: a pause outlives any one run's --now
        self._lock = threading.Lock()
        #: Browser logins made by this manager (for reports, tests and the bench).
        self.logins = 0

    def cookies(self, check_store_id: str) -> Cookies:
        """Cookies of a session: the cached ones when one count call on `check_store_id` accepts them."""
        with self._lock:
            cached = self._repository.load_cookies()
            if not cached:
                log.info("no cached Naver session: logging in with the browser")
                return self._browser_login()
            verdict = self._check(cached, check_store_id)
            if verdict is True:
                log.info("cached Naver session accepted: no browser needed")
                return cached
            if verdict is None:
                log.warning("could not check the cached Naver session (Naver unavailable?): using it as is")
                return cached
            log.info("cached Naver session rejected: clearing it and logging in with the browser")
            self._forget()
            return self._browser_login()

    def relogin(self) -> Cookies:
        """Forget the cached session and log in again (after the API rejected the session mid-run)."""
        with self._lock:
            self._forget()
            return self._browser_login()

    def login(self) -> Cookies:
        """Log in now and cache the session, whatever is cached or paused (`naver-sms login`)."""
        with self._lock:
            return self._browser_login(by_operator=True)

    def _browser_login(self, *, by_operator: bool = False) -> Cookies:
        now = self._clock()
        pause = self._read_pause()
        if pause is not None and not by_operator and now < pause.until:
            raise LoginBlocked(
                f"browser logins are paused until {pause.until.astimezone(KST):%Y-%m-%d %H:%M} KST, "
                f"because Naver blocked the one at {pause.since.astimezone(KST):%Y-%m-%d %H:%M}: "
                f"{pause.reason} Run `naver-sms login --interactive` to log in now."
            )
        self.logins += 1
        try:
            cookies = self._login.login()
        except LoginBlocked as exc:
            log.error("Naver blocked the login: nothing cached")
            self._pause_logins(now, str(exc))
            raise
        except LoginError:
            # Nothing is cached from a blocked or failed login (legacy cached whatever the browser had).
            log.error("Naver login failed: nothing cached")
            raise
        if pause is not None:
            self._lift_pause()
        if not cookies:
            raise LoginError("the Naver login gave no cookies: nothing cached")
        try:
            self._repository.save_cookies(cookies, at=now)
        except RepositoryError as exc:
            # The session is good: this run goes on with it; the next one will have to log in again.
            log.error(
                "Naver login succeeded but the session could not be cached (%s): the next run logs in again",
                type(exc).__name__,
            )
            return cookies
        log.info("Naver login succeeded: %d cookies cached", len(cookies))
        return cookies

    def _forget(self) -> None:
        try:
            self._repository.clear_cookies()
        except RepositoryError as exc:  # the rejected cookies will be overwritten by the new ones anyway
            log.warning("could not clear the rejected Naver session (%s)", type(exc).__name__)

    # the pause after a blocked login

    def _read_pause(self) -> LoginPause | None:
        try:
            return self._repository.load_login_pause()
        except RepositoryError as exc:  # an unreadable marker must not stop logins
            log.warning("could not read the login pause (%s): logging in", type(exc).__name__)
            return None

    def _pause_logins(self, now: datetime, reason: str) -> None:
        if self._pause <= timedelta(0):
            return
        pause = LoginPause(since=now, until=now + self._pause, reason=reason)
        try:
            self._repository.save_login_pause(pause)
        except RepositoryError as exc:
            log.warning(
                "could not pause the browser logins (%s): the next run tries again", type(exc).__name__
            )
            return
        log.error(
            "browser logins paused until %s KST: log in with `naver-sms login --interactive`",
            f"{pause.until.astimezone(KST):%Y-%m-%d %H:%M}",
        )

    def _lift_pause(self) -> None:
        try:
            self._repository.clear_login_pause()
        except RepositoryError as exc:  # it ends by itself
            log.warning("could not lift the login pause (%s)", type(exc).__name__)
