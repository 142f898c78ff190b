"""Browser login to Naver with Selenium 4 and the system Chromium (external-apis.md §1, "Login").

The partner API has no token flow: a real browser logs in and its cookies are reused by plain HTTP calls.
What this module does differently from the legacy job (legacy-behaviour.md §7):

- it uses the chromedriver at a given path (`Service(path)`), so Selenium never downloads a driver;
- success is a real check - after submitting, the browser opens the account page (legacy's
  `/user2/help/myInfoV2`) and must not be sent back to a login URL; legacy took any URL containing
  `naver.com` for success;
- a captcha, a second-factor prompt and a refused password are recognised and raised as `LoginBlocked`
  with plain words for the operator (their cookies are never returned, so never cached);
- the browser is always quit and its fresh profile directory removed.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from naver_sms.config.settings import Settings
from naver_sms.errors import LoginBlocked, LoginError

log = logging.getLogger("naver_sms.naver.login")

#: external-apis.md, "How to stand in for it": headless, no sandbox (containers), nothing phoning home.
#: The profile (cookies, cache, crash reports) is a fresh directory under the temporary directory: on Lambda,
#: /tmp is the only writable place (the image sets HOME and the XDG directories there too).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # Lambda's /dev/shm is tiny: shared memory goes to /tmp
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",  # no desktop keyring to look for
    "--mute-audio",
)

#: Added inside AWS Lambda (`AWS_LAMBDA_FUNCTION_NAME` is set there): its sandbox has no process namespaces
#: for the zygote's helper processes, so Chromium runs its renderer and network service in one process.
LAMBDA_FLAGS = ("--single-process", "--no-zygote")


def in_lambda(env: Mapping[str, str] | None = None) -> bool:
    """True inside an AWS Lambda execution environment."""
    return bool((os.environ if env is None else env).get("AWS_LAMBDA_FUNCTION_NAME"))


#: Legacy's session check page, on the login page's host (external-apis.md §1).
CHECK_PATH = "/user2/help/myInfoV2?lang=ko_KR"

# Sets the fields the way a person's typing would end up, with the input events the page listens to.
# The real page flags keystrokes typed faster than a person can (legacy set the values with JS too).
# The values travel as script arguments, never inside the script text.
_FILL_SCRIPT = """
const [user, password] = arguments;
for (const [id, value] of [["id", user], ["pw", password]]) {
  const field = document.getElementById(id);
  field.focus();
  field.value = value;
  field.dispatchEvent(new Event("input", {bubbles: true}));
  field.dispatchEvent(new Event("change", {bubbles: true}));
}
"""

# Marks the current document; a new document (the page after submitting) has no mark.
_MARK_SCRIPT = "window.__naverSmsPage = arguments[0];"
_READ_MARK_SCRIPT = "return [window.__naverSmsPage || null, document.readyState];"


def _new_document_loaded(driver: Any, marker: str) -> bool:
    """True once the browser shows a fully loaded document other than the one marked before submitting.

    Not Selenium's `staleness_of`: asking about an element of a document being torn down can fail with an
    "unknown error" (Chromium 156: "Node with given id does not belong to the document"); a mark on `window`
    asks nothing of the old document, and an answer lost to the navigation only means "not yet"."""
    # selenium only where the browser is driven: a run with a valid session never loads it
    from selenium.common.exceptions import (
        InvalidSessionIdException,
        NoSuchWindowException,
        WebDriverException,
    )

    try:
        mark, ready_state = driver.execute_script(_READ_MARK_SCRIPT)
    except (InvalidSessionIdException, NoSuchWindowException):
        raise
    except WebDriverException:  # the old document went away mid-call: the navigation is under way
        return False
    return bool(mark != marker and ready_state == "complete")


_CAPTCHA_IDS = ("captcha", "captchaimg", "rcapt", "chptcha")
_CAPTCHA_WORDS = ("자동입력 방지", "자동입력방지", "captcha", "보안문자")
_SECOND_FACTOR_URL_WORDS = ("2step", "otp", "deviceconfirm", "2fa")
_SECOND_FACTOR_WORDS = ("2단계 인증", "2단계인증", "two-step", "otp", "인증번호", "새로운 기기")
_WRONG_PASSWORD_IDS = ("err_common",)
_WRONG_PASSWORD_WORDS = ("비밀번호를 잘못", "비밀번호가 잘못", "wrong password", "잘못 입력")


@dataclass(frozen=True, slots=True)
class LoginPage:
    """What the browser shows after submitting: enough to tell success from each kind of block."""

    url: str
    text: str  # the visible text of the page
    shown_ids: frozenset[str]  # ids of displayed elements that tell something (captcha, error box)


def diagnose(page: LoginPage, login_path: str) -> str | None:
    """None when the browser left the login page; otherwise the operator's explanation of why not."""
    text = page.text.lower()
    url = page.url.lower()
    path = urlsplit(url).path
    on_login_page = (
        path.rstrip("/") == login_path.lower().rstrip("/")
        or "login" in path
        or any(w in url for w in _SECOND_FACTOR_URL_WORDS)
    )
    if not on_login_page:  # left the login pages: the session check decides (page text is not looked at)
        return None
    if page.shown_ids & set(_CAPTCHA_IDS) or any(w in text for w in _CAPTCHA_WORDS):
        return (
            "Naver asked for a captcha (자동입력 방지 문자). A person has to log in once by hand; "
            "see docs/naver.md, 'When Naver asks for a captcha or a second factor'."
        )
    if any(w in url for w in _SECOND_FACTOR_URL_WORDS) or any(w in text for w in _SECOND_FACTOR_WORDS):
        return (
            "Naver asked for a second factor (2단계 인증 / new device confirmation). A person has to "
            "approve this login or log in once by hand; see docs/naver.md."
        )
    if page.shown_ids & set(_WRONG_PASSWORD_IDS) or any(w in text for w in _WRONG_PASSWORD_WORDS):
        return (
            "Naver refused the id or the password. Check NAVER_SMS_NAVER_ID and NAVER_SMS_NAVER_PASSWORD "
            "(or the secret); repeated failures make Naver ask for a captcha."
        )
    return (
        "Naver kept the browser on its login page without saying why. A person has to log in once "
        "by hand to see what Naver wants; see docs/naver.md."
    )


def chromium_flags(profile: str, *, headless: bool = True, lambda_env: bool | None = None) -> list[str]:
    """Chromium's command line for one login: `CHROMIUM_FLAGS` (without headless for a visible window), the
    profile directory, and `LAMBDA_FLAGS` inside Lambda (`lambda_env=None`: detected from the environment)."""
    flags = [f for f in CHROMIUM_FLAGS if headless or f != "--headless=new"]
    if in_lambda() if lambda_env is None else lambda_env:
        flags.extend(LAMBDA_FLAGS)
    flags += [f"--user-data-dir={profile}", "--window-size=1280,900"]
    return flags


class BrowserLogin:
    """Logs in to Naver in a fresh headless Chromium and returns the session's cookies.

    `interactive=True` opens a visible window (unless `headless=True`) and, instead of giving up on a
    captcha or a second-factor prompt, waits up to `person_timeout` seconds for a person to solve it or to
    approve the login in the Naver app - for an operator at a desktop, never for the scheduled run.
    """

    def __init__(
        self,
        *,
        login_url: str,
        user_id: SecretStr | None,
        password: SecretStr | None,
        chromedriver_path: str = "/usr/bin/chromedriver",
        chromium_path: str = "/usr/bin/chromium",
        check_url: str | None = None,
        timeout: float = 20.0,
        interactive: bool = False,
        person_timeout: float = 300.0,
        headless: bool | None = None,
    ) -> None:
        self.login_url = login_url
        self._user_id = user_id
        self._password = password
        self.chromedriver_path = chromedriver_path
        self.chromium_path = chromium_path
        parts = urlsplit(login_url)
        self.check_url = check_url or f"{parts.scheme}://{parts.netloc}{CHECK_PATH}"
        self.login_path = parts.path or "/"
        self.timeout = timeout
        self.interactive = interactive
        self.person_timeout = person_timeout
        self.headless = (not interactive) if headless is None else headless

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> BrowserLogin:
        return cls(
            login_url=settings.naver_login_url,
            user_id=settings.naver_id,
            password=settings.naver_password,
            chromedriver_path=settings.chromedriver_path,
            chromium_path=settings.chromium_path,
            **options,
        )

    def login(self) -> list[dict[str, Any]]:
        if self._user_id is None or self._password is None:
            raise LoginError(
                "no Naver credentials: set NAVER_SMS_NAVER_ID and NAVER_SMS_NAVER_PASSWORD "
                "(or the secret) to log in"
            )
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium.common.exceptions import WebDriverException

        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="naver-sms-chromium-") as profile:
            driver: Any = None
            try:
                driver = self._start(profile)
                cookies = self._log_in(driver)
            except WebDriverException as exc:
                first_line = (exc.msg or type(exc).__name__).splitlines()[0]
                raise LoginError(f"the browser failed during the Naver login: {first_line}") from exc
            finally:
                if driver is not None:
                    try:
                        driver.quit()
                    except Exception:  # the browser may be gone already; quitting must not hide the cause
                        log.warning("could not quit the browser cleanly", exc_info=True)
        log.info("Naver login succeeded in %.1fs", time.monotonic() - started)
        return cookies

    def _start(self, profile: str) -> Any:
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = self.chromium_path
        for flag in chromium_flags(profile, headless=self.headless):
            options.add_argument(flag)
        # A fixed driver path: Selenium Manager never runs, nothing is downloaded.
        driver = webdriver.Chrome(service=Service(self.chromedriver_path), options=options)
        driver.set_page_load_timeout(self.timeout)
        return driver

    def _log_in(self, driver: Any) -> list[dict[str, Any]]:
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        assert self._user_id is not None and self._password is not None
        driver.get(self.login_url)
        wait = WebDriverWait(driver, self.timeout)
        try:
            wait.until(ec.presence_of_element_located((By.ID, "pw")))
        except TimeoutException as exc:
            raise LoginError(f"the Naver login page did not show its form ({self._where(driver)})") from exc
        user, password = self._user_id.get_secret_value(), self._password.get_secret_value()
        driver.execute_script(_FILL_SCRIPT, user, password)
        marker = secrets.token_hex(8)
        driver.execute_script(_MARK_SCRIPT, marker)
        # CSS needs [id="log.login"]: "#log.login" means id "log", class "login" (external-apis.md §1)
        driver.find_element(By.CSS_SELECTOR, '[id="log.login"]').click()
        try:
            wait.until(lambda d: _new_document_loaded(d, marker))
        except TimeoutException:
            log.warning("the page did not change after submitting the login form")

        if self.interactive:
            self._wait_for_person(driver)
        else:
            problem = diagnose(self._page(driver), self.login_path)
            if problem:
                raise LoginBlocked(problem)

        # The real check: the account page answers without sending us back to a login page.
        driver.get(self.check_url)
        if "login" in driver.current_url.lower():
            raise LoginError(
                "the browser left the login page, but Naver's account page still asks to log in "
                "(no session was created): nothing cached"
            )
        return self._cookies(driver)

    def _wait_for_person(self, driver: Any) -> None:
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        log.warning(
            "waiting up to %.0fs for a person to finish the login in the browser window", self.person_timeout
        )
        try:
            WebDriverWait(driver, self.person_timeout, poll_frequency=0.25).until(self._person_done)
        except TimeoutException as exc:
            problem = diagnose(self._page(driver), self.login_path)
            raise LoginBlocked(
                f"the login was not finished within {self.person_timeout:.0f}s: {problem}"
            ) from exc

    def _person_done(self, driver: Any) -> bool:
        """One poll of the interactive wait; a page being replaced at that moment means "not yet"."""
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium.common.exceptions import (
            InvalidSessionIdException,
            NoSuchWindowException,
            WebDriverException,
        )

        try:
            return diagnose(self._page(driver), self.login_path) is None
        except (InvalidSessionIdException, NoSuchWindowException):
            raise
        except WebDriverException:
            return False

    def _page(self, driver: Any) -> LoginPage:
        # selenium only where the browser is driven: a run with a valid session never loads it
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By

        try:
            text = driver.find_element(By.TAG_NAME, "body").text
        except WebDriverException:
            text = ""
        shown = set()
        for element_id in (*_CAPTCHA_IDS, *_WRONG_PASSWORD_IDS):
            for element in driver.find_elements(By.ID, element_id):
                try:
                    says_something = element_id not in _WRONG_PASSWORD_IDS or element.text.strip()
                    if element.is_displayed() and says_something:
                        shown.add(element_id)
                except WebDriverException:
                    continue
        return LoginPage(url=driver.current_url, text=text, shown_ids=frozenset(shown))

    @staticmethod
    def _where(driver: Any) -> str:
        url = urlsplit(driver.current_url)
        return f"at {url.scheme}://{url.netloc}{url.path}"  # no query: it may carry tokens

    @staticmethod
    def _cookies(driver: Any) -> list[dict[str, Any]]:
        """Every cookie of the browser (all domains: the partner API's host is not the login page's)."""
        try:
            raw = driver.execute_cdp_cmd("Storage.getCookies", {}).get("cookies", [])
        except Exception:  # not Chromium, or an older protocol: the current domain's cookies are the fallback
            log.debug("Storage.getCookies unavailable, using get_cookies()", exc_info=True)
            return [dict(c) for c in driver.get_cookies()]
        return list(_selenium_format(raw))


def _selenium_format(raw: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """CDP cookies in the format `driver.get_cookies()` gives and the legacy cache stored."""
    for c in raw:
        cookie: dict[str, Any] = {
            "name": c["name"],
            "value": c["value"],
            "domain": c.get("domain", ""),
            "path": c.get("path", "/"),
            "secure": bool(c.get("secure")),
            "httpOnly": bool(c.get("httpOnly")),
        }
        if c.get("sameSite"):
            cookie["sameSite"] = c["sameSite"]
        expires = c.get("expires")
        if isinstance(expires, int | float) and expires > 0 and not c.get("session"):
            cookie["expiry"] = int(expires)
        yield cookie
