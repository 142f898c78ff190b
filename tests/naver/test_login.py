"""The browser login: headless Chromium (Debian's, through /usr/bin/chromedriver) against the Naver stand-in.

One browser per test (about two seconds each); the page diagnosis is also tested without a browser.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from naver_sms.config.settings import Settings
from naver_sms.database.sqlite_repository import SqliteSessionRepository
from naver_sms.domain.booking import Store
from naver_sms.errors import LoginBlocked, LoginError
from naver_sms.naver.live import NaverBookingSource, log_in_now
from naver_sms.naver.login import BrowserLogin, LoginPage, _new_document_loaded, diagnose
from tests.naver.conftest import NOW
from tests.standins.naver import NaverStandIn, synthetic_bookings
from tests.standins.server import require

LOGIN_PATH = "/nidlogin.login"


def settings_for(naver: NaverStandIn, password: str = "owner-password") -> Settings:
    return Settings(
        naver_api_base=naver.base_url,
        naver_login_url=f"{naver.base_url}/nidlogin.login?mode=form&url={naver.base_url}/",
        naver_id=SecretStr(naver.user_id),
        naver_password=SecretStr(password),
    )


@pytest.fixture
def browser(naver: NaverStandIn) -> None:
    settings = Settings()
    require(shutil.which("chromedriver") or Path(settings.chromedriver_path).exists(), "chromedriver")
    require(shutil.which("chromium") or Path(settings.chromium_path).exists(), "chromium")


# --- with the browser ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.integration
def test_a_browser_login_gives_cookies_the_api_accepts(naver: NaverStandIn, browser: None) -> None:
    # GIVEN the stand-in accepting the owner's id and password
    login = BrowserLogin.from_settings(settings_for(naver), timeout=15)
    # WHEN the browser logs in
    cookies = login.login()
    # THEN Naver's session cookies come back, and the partner API accepts them from plain HTTP
    assert {"NID_AUT", "NID_SES"} <= {c["name"] for c in cookies}
    assert naver.logins == 1
    from naver_sms.naver.api import NaverApi

    api = NaverApi(naver.base_url)
    try:
        assert api.check_session(cookies, "1000001") is True
    finally:
        api.close()


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.parametrize(
    ("mode", "password", "words"),
    [
        ("captcha", "owner-password", "captcha"),
        ("two_factor", "owner-password", "second factor"),
        ("ok", "not-the-password", "refused the id or the password"),
    ],
)
def test_a_login_naver_blocks_is_reported_in_plain_words(
    mode: str, password: str, words: str, naver: NaverStandIn, browser: None
) -> None:
    # GIVEN Naver asking for a captcha / a second factor, or refusing the password
    naver.login_mode = mode
    login = BrowserLogin.from_settings(settings_for(naver, password), timeout=15)
    # WHEN the browser logs in  THEN it is blocked, with the reason in words an operator understands
    with pytest.raises(LoginBlocked, match=words):
        login.login()
    assert naver.logins == 0


@pytest.mark.browser
@pytest.mark.integration
def test_the_live_source_logs_in_with_the_browser_caches_the_cookies_and_reuses_them(
    naver: NaverStandIn, browser: None, sessions: SqliteSessionRepository
) -> None:
    # GIVEN nothing cached and a store with bookings
    store = Store(id="1000001", name="Example Studio", alias="studio")
    naver.add(store.id, synthetic_bookings(1000001, 3, first_day=NOW, days=5))
    source = NaverBookingSource.from_settings(settings_for(naver), sessions)
    # WHEN fetched twice
    first = source.fetch([store], NOW)
    second = source.fetch([store], NOW)
    # THEN the first fetch logged in through the browser, the second reused the cached cookies
    assert len(first.bookings) == len(second.bookings) == 3
    assert naver.logins == 1 and source.session.logins == 1
    assert sessions.load_cookies()


# --- without a browser --------------------------------------------------------------------------------------


def test_missing_credentials_fail_before_any_browser_starts() -> None:
    login = BrowserLogin(
        login_url="http://127.0.0.1:9/nidlogin.login",
        user_id=None,
        password=None,
        chromedriver_path="/nonexistent/chromedriver",
    )
    with pytest.raises(LoginError, match="NAVER_SMS_NAVER_ID"):
        login.login()


def test_a_broken_browser_is_a_login_error_not_a_selenium_one() -> None:
    login = BrowserLogin(
        login_url="http://127.0.0.1:9/nidlogin.login",
        user_id=SecretStr("a"),
        password=SecretStr("b"),
        chromedriver_path="/nonexistent/chromedriver",
        chromium_path="/nonexistent/chromium",
    )
    with pytest.raises(LoginError, match="browser failed"):
        login.login()


def test_the_check_page_is_legacys_account_page_on_the_login_host() -> None:
    login = BrowserLogin(
        login_url="https://nid.naver.com/nidlogin.login?mode=form&url=https://www.naver.com/",
        user_id=None,
        password=None,
    )
    assert login.check_url == "https://nid.naver.com/user2/help/myInfoV2?lang=ko_KR"


class _NavigatingDriver:
    """Answers the mark look-up the way Chromium does while a form submission replaces the page."""

    def __init__(self, answers: list[object]) -> None:
        self.answers = answers

    def execute_script(self, script: str, *args: object) -> object:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_waiting_for_the_next_page_survives_chromium_errors_from_the_page_being_replaced() -> None:
    from selenium.common.exceptions import WebDriverException

    torn_down = WebDriverException(
        'unknown error: unhandled inspector error: {"code":-32000,'
        '"message":"Node with given id does not belong to the document"}'
    )
    driver = _NavigatingDriver([["m1", "complete"], torn_down, [None, "loading"], [None, "complete"]])
    seen = [_new_document_loaded(driver, "m1") for _ in range(4)]
    assert seen == [False, False, False, True]


def test_waiting_for_the_next_page_stops_when_the_browser_is_gone() -> None:
    from selenium.common.exceptions import InvalidSessionIdException, NoSuchWindowException

    for gone in (InvalidSessionIdException("session deleted"), NoSuchWindowException("window closed")):
        with pytest.raises(type(gone)):
            _new_document_loaded(_NavigatingDriver([gone]), "m1")


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (LoginPage("https://www.naver.com/", "뉴스 footprint OTP 2단계 인증", frozenset()), None),
        (LoginPage("https://nid.naver.com/nidlogin.login", "로그인", frozenset({"captchaimg"})), "captcha"),
        (
            LoginPage(
                "https://nid.naver.com/nidlogin.login", "자동입력 방지 문자를 입력해주세요", frozenset()
            ),
            "captcha",
        ),
        (LoginPage("https://nid.naver.com/login/ext/deviceConfirm", "확인", frozenset()), "second factor"),
        (LoginPage("https://nid.naver.com/nidlogin.login", "2단계 인증 알림", frozenset()), "second factor"),
        (LoginPage("https://nid.naver.com/nidlogin.login", "x", frozenset({"err_common"})), "refused"),
        (LoginPage("https://nid.naver.com/nidlogin.login", "로그인", frozenset()), "without saying why"),
    ],
)
def test_the_page_after_submitting_tells_success_from_each_kind_of_block(
    page: LoginPage, expected: str | None
) -> None:
    # GIVEN the page the browser shows after submitting  WHEN diagnosed  THEN success, or the block named
    problem = diagnose(page, LOGIN_PATH)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


@pytest.mark.browser
@pytest.mark.integration
def test_an_interactive_login_waits_for_the_owner_to_approve_the_second_factor(
    naver: NaverStandIn, browser: None
) -> None:
    # GIVEN Naver asking for a second factor, and an interactive login (headless here, visible for operators)
    naver.login_mode = "two_factor"
    login = BrowserLogin.from_settings(
        settings_for(naver), timeout=15, interactive=True, headless=True, person_timeout=30
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(login.login)
        # WHEN the owner approves the login in the Naver app once it is asked for
        assert naver.second_factor_asked.wait(timeout=30)
        naver.approve_second_factor()
        cookies = pending.result(timeout=60)
    # THEN the login finishes with a session
    assert {"NID_AUT", "NID_SES"} <= {c["name"] for c in cookies}
    assert naver.logins == 1


@pytest.mark.browser
@pytest.mark.integration
def test_log_in_now_caches_a_fresh_session_for_the_next_runs(
    naver: NaverStandIn, browser: None, sessions: SqliteSessionRepository
) -> None:
    # GIVEN stale cookies in the cache  WHEN the operator logs in now  THEN a fresh session replaces them
    sessions.save_cookies([{"name": "NID_SES", "value": "stale", "domain": "127.0.0.1", "path": "/"}])
    assert log_in_now(settings_for(naver), sessions) == 2
    cached = sessions.load_cookies()
    assert cached is not None and {c["value"] for c in cached if c["name"] == "NID_SES"} <= naver.sessions
