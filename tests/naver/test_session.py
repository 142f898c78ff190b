"""The session manager: cached cookies first, the browser only when they are missing or rejected.

No browser and no network here: the login and the session check are injected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from naver_sms.database.sqlite_repository import SqliteSessionRepository
from naver_sms.domain.clock import KST
from naver_sms.errors import LoginBlocked, LoginError, RepositoryError
from naver_sms.naver.session import SessionManager

OLD = [{"name": "NID_SES", "value": "old", "domain": ".naver.com", "path": "/"}]
NEW = [{"name": "NID_SES", "value": "new", "domain": ".naver.com", "path": "/"}]


@dataclass
class FakeLogin:
    cookies: list[dict[str, Any]] = field(default_factory=lambda: [dict(c) for c in NEW])
    error: LoginError | None = None
    calls: int = 0

    def login(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.error:
            raise self.error
        return self.cookies


@dataclass
class FakeCheck:
    """Answers the session check with `verdict`, recording what it was asked."""

    verdict: bool | None = True
    asked: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, cookies: Sequence[Mapping[str, Any]], store_id: str) -> bool | None:
        self.asked.append((str(cookies[0]["value"]), store_id))
        return self.verdict


def manager(sessions: SqliteSessionRepository, login: FakeLogin, check: FakeCheck) -> SessionManager:
    return SessionManager(sessions, login, check)


def test_valid_cached_cookies_are_used_without_a_browser(sessions: SqliteSessionRepository) -> None:
    # GIVEN cached cookies the check accepts
    sessions.save_cookies(OLD)
    login, check = FakeLogin(), FakeCheck(True)
    # WHEN cookies are asked for
    cookies = manager(sessions, login, check).cookies("1000001")
    # THEN the cached ones come back after one check on the given store, and no browser started
    assert cookies == OLD
    assert check.asked == [("old", "1000001")]
    assert login.calls == 0


def test_missing_cookies_lead_to_a_browser_login_whose_cookies_are_cached(
    sessions: SqliteSessionRepository,
) -> None:
    # GIVEN nothing cached
    login, check = FakeLogin(), FakeCheck()
    # WHEN cookies are asked for
    cookies = manager(sessions, login, check).cookies("1000001")
    # THEN the browser logged in once, nothing was checked with the HTTP call, the new cookies are cached
    assert cookies == NEW and login.calls == 1 and check.asked == []
    assert sessions.load_cookies() == NEW


def test_rejected_cookies_are_cleared_and_replaced_by_a_fresh_login(
    sessions: SqliteSessionRepository,
) -> None:
    # GIVEN cached cookies the check rejects (401 / 403 / login redirect)
    sessions.save_cookies(OLD)
    login, check = FakeLogin(), FakeCheck(False)
    # WHEN cookies are asked for
    cookies = manager(sessions, login, check).cookies("1000001")
    # THEN a fresh login replaced them in the cache
    assert cookies == NEW and login.calls == 1
    assert sessions.load_cookies() == NEW


def test_an_inconclusive_check_keeps_the_cached_cookies_and_starts_no_browser(
    sessions: SqliteSessionRepository,
) -> None:
    # GIVEN cached cookies and Naver unavailable for the check (429 / 5xx / no answer)
    sessions.save_cookies(OLD)
    login, check = FakeLogin(), FakeCheck(None)
    # WHEN cookies are asked for  THEN the cached ones are used (a 401 later would log in again, once)
    assert manager(sessions, login, check).cookies("1000001") == OLD
    assert login.calls == 0 and sessions.load_cookies() == OLD


@pytest.mark.parametrize("cached", [None, OLD])
def test_a_blocked_login_caches_nothing_and_says_why(
    cached: list[dict[str, Any]] | None, sessions: SqliteSessionRepository
) -> None:
    # GIVEN no usable cached cookies and Naver asking for a captcha
    if cached:
        sessions.save_cookies(cached)
    login = FakeLogin(error=LoginBlocked("Naver asked for a captcha (자동입력 방지 문자)"))
    # WHEN cookies are asked for
    with pytest.raises(LoginBlocked, match="captcha"):
        manager(sessions, login, FakeCheck(False)).cookies("1000001")
    # THEN nothing is cached: not the blocked browser's cookies, not the rejected old ones
    assert sessions.load_cookies() is None


def test_a_login_that_gives_no_cookies_is_a_failure(sessions: SqliteSessionRepository) -> None:
    with pytest.raises(LoginError, match="no cookies"):
        manager(sessions, FakeLogin(cookies=[]), FakeCheck()).cookies("1000001")
    assert sessions.load_cookies() is None


def test_relogin_forgets_the_cached_session_and_logs_in(sessions: SqliteSessionRepository) -> None:
    # GIVEN a cached session the API rejected mid-run
    sessions.save_cookies(OLD)
    login = FakeLogin()
    # WHEN the source asks for a fresh login  THEN the browser logs in and its cookies replace the old ones
    assert manager(sessions, login, FakeCheck()).relogin() == NEW
    assert login.calls == 1 and sessions.load_cookies() == NEW


def test_relogin_that_is_blocked_leaves_no_session_cached(sessions: SqliteSessionRepository) -> None:
    sessions.save_cookies(OLD)
    login = FakeLogin(error=LoginBlocked("Naver asked for a second factor"))
    with pytest.raises(LoginBlocked):
        manager(sessions, login, FakeCheck()).relogin()
    assert sessions.load_cookies() is None


def test_an_explicit_login_logs_in_whatever_is_cached(sessions: SqliteSessionRepository) -> None:
    # GIVEN valid cached cookies  WHEN the operator logs in explicitly  THEN the browser runs and they are replaced
    sessions.save_cookies(OLD)
    login, check = FakeLogin(), FakeCheck(True)
    session = manager(sessions, login, check)
    assert session.login() == NEW
    assert login.calls == 1 and check.asked == [] and sessions.load_cookies() == NEW
    assert session.logins == 1


class BrokenCache(SqliteSessionRepository):
    """A session table that cannot be written (DynamoDB throttling, a read-only disk)."""

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]], *, at: datetime | None = None) -> None:
        raise RepositoryError("session table unavailable")

    def clear_cookies(self) -> None:
        raise RepositoryError("session table unavailable")


def test_a_session_that_cannot_be_cached_is_still_used_for_this_run(
    sessions: SqliteSessionRepository,
) -> None:
    # GIVEN rejected cached cookies and a session table that refuses writes
    cache = BrokenCache(sessions.db)
    SqliteSessionRepository.save_cookies(cache, OLD)
    login = FakeLogin()
    # WHEN cookies are asked for  THEN the fresh login's cookies are used anyway (the next run logs in again)
    assert manager(cache, login, FakeCheck(False)).cookies("1000001") == NEW
    assert login.calls == 1


# --- the pause after a blocked login ------------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime = datetime(2026, 11, 26, 18, 40, tzinfo=KST)

    def __call__(self) -> datetime:
        return self.now


def test_a_blocked_login_pauses_browser_logins_until_a_person_logs_in(
    sessions: SqliteSessionRepository,
) -> None:
    # GIVEN Naver asking for a captcha
    clock = Clock()
    login = FakeLogin(error=LoginBlocked("Naver asked for a captcha (자동입력 방지 문자)."))
    runs = SessionManager(sessions, login, FakeCheck(), pause=timedelta(hours=6), clock=clock)
    with pytest.raises(LoginBlocked):
        runs.cookies("1000001")
    # WHEN the next scheduled runs ask for a session, 20 minutes and 5 hours later
    for later in (timedelta(minutes=20), timedelta(hours=5)):
        clock.now += later
        with pytest.raises(LoginBlocked) as blocked:
            runs.cookies("1000001")
        # THEN no browser starts, and the reason says until when, why, and what to do
        assert login.calls == 1
        assert "paused until 2026-11-27 00:40 KST" in str(blocked.value)
        assert "captcha" in str(blocked.value) and "naver-sms login --interactive" in str(blocked.value)
    # AND the operator's login ignores the pause; once it succeeds, the runs use its session
    login.error = None
    operator = SessionManager(sessions, login, FakeCheck(), clock=clock)
    assert operator.login() == NEW
    assert sessions.load_login_pause() is None
    assert runs.cookies("1000001") == NEW and login.calls == 2


def test_after_the_pause_the_runs_try_the_browser_again(sessions: SqliteSessionRepository) -> None:
    clock = Clock()
    login = FakeLogin(error=LoginBlocked("Naver asked for a second factor."))
    runs = SessionManager(sessions, login, FakeCheck(), pause=timedelta(hours=6), clock=clock)
    with pytest.raises(LoginBlocked):
        runs.cookies("1000001")
    # WHEN six hours have passed and Naver lets the login through
    clock.now += timedelta(hours=6)
    login.error = None
    # THEN the browser logs in again, the session is cached and the pause lifted
    assert runs.cookies("1000001") == NEW
    assert login.calls == 2 and sessions.load_login_pause() is None


def test_a_failure_that_is_not_a_block_pauses_nothing(sessions: SqliteSessionRepository) -> None:
    # GIVEN a browser that crashed (not Naver refusing): the next run may well succeed
    login = FakeLogin(error=LoginError("the browser failed during the Naver login: chrome not reachable"))
    runs = SessionManager(sessions, login, FakeCheck(), clock=Clock())
    for _ in range(2):
        with pytest.raises(LoginError):
            runs.cookies("1000001")
    assert login.calls == 2 and sessions.load_login_pause() is None


def test_a_zero_pause_tries_the_browser_on_every_run(sessions: SqliteSessionRepository) -> None:
    login = FakeLogin(error=LoginBlocked("Naver refused the id or the password."))
    runs = SessionManager(sessions, login, FakeCheck(), pause=timedelta(0), clock=Clock())
    for _ in range(2):
        with pytest.raises(LoginBlocked):
            runs.cookies("1000001")
    assert login.calls == 2 and sessions.load_login_pause() is None


def test_a_pause_written_by_hand_without_a_zone_is_korean_time(sessions: SqliteSessionRepository) -> None:
    from naver_sms.ports import LOGIN_PAUSE_ID, LoginPause

    # GIVEN an operator who wrote the pause item by hand, with no time zone
    text = '{"since": "2026-11-26T18:00", "until": "2026-11-26T19:00", "reason": "by hand"}'
    assert LoginPause.from_json(text) == LoginPause(
        since=datetime(2026, 11, 26, 18, 0, tzinfo=KST),
        until=datetime(2026, 11, 26, 19, 0, tzinfo=KST),
        reason="by hand",
    )
    with sessions.db.transaction(write=True) as conn:
        conn.execute("INSERT INTO session (id, cookies) VALUES (?, ?)", (LOGIN_PAUSE_ID, text))
    login = FakeLogin()
    runs = SessionManager(sessions, login, FakeCheck(), clock=Clock())  # 18:40 KST: inside the pause
    # WHEN a run asks for a session THEN the pause holds (no TypeError from comparing times)
    with pytest.raises(LoginBlocked, match="paused until 2026-11-26 19:00 KST"):
        runs.cookies("1000001")
    assert login.calls == 0
