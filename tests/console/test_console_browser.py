"""The console in a real browser (headless Chromium, at a phone's width): log in, edit a guide text past the
LMS limit and see the error as you type and when saving, fix it, save, see it in `rules check`, roll back."""

from __future__ import annotations

import uuid

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from naver_sms.cli import app
from naver_sms.naver.login import _MARK_SCRIPT, _new_document_loaded
from tests.console.conftest import TOKEN, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

GUIDE = "sms.guide_busan"


def _submit(chrome, button) -> None:
    """Click a button that posts a form, and wait until the browser shows the next page, fully loaded (its
    elements are then looked up on that page, never on the old one) - the way the Naver login waits
    (naver/login.py: a mark on the old document's `window`, so nothing is asked of the document being torn
    down, which Chromium may answer with an unknown error rather than a stale element)."""
    marker = uuid.uuid4().hex
    chrome.execute_script(_MARK_SCRIPT, marker)
    button.click()
    WebDriverWait(chrome, 20).until(lambda d: _new_document_loaded(d, marker))


def _present(chrome, locator: tuple[str, str]):
    return WebDriverWait(chrome, 20).until(ec.presence_of_element_located(locator))


def _log_in(chrome, served: str) -> None:
    chrome.get(f"{served}/templates/1000002")
    assert "/login" in chrome.current_url  # never open without the token
    chrome.find_element(By.ID, "token").send_keys("wrong-token-0000000")
    _submit(chrome, chrome.find_element(By.ID, "login-button"))
    assert "wrong token" in _present(chrome, (By.ID, "login-error")).text
    _present(chrome, (By.ID, "token")).send_keys(TOKEN)
    _submit(chrome, chrome.find_element(By.ID, "login-button"))
    _present(chrome, (By.ID, "status"))


def _shows(chrome, css: str, text: str) -> None:
    """Wait until the guide's section shows `text` in `css` - looked up afresh each time: the live preview
    re-renders while the browser is slow, and an element seen before may be gone (stale) by the next look."""

    def shown(driver) -> bool:
        return text in driver.find_element(By.CSS_SELECTOR, f"#t-guide_busan {css}").text

    WebDriverWait(
        chrome, 30, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(shown)


def _area(chrome):
    return chrome.find_element(By.CSS_SELECTOR, "#t-guide_busan textarea")


def test_edit_past_the_limit_fix_save_check_and_roll_back(chrome, served: str, world: World) -> None:
    original = (world.config_dir / "templates.yaml").read_text(encoding="utf-8")
    _log_in(chrome, served)
    chrome.get(f"{served}/templates/1000002")
    area = _area(chrome)
    area.clear()
    area.send_keys("가" * 1001)  # 2,002 bytes in EUC-KR
    _shows(chrome, ".preview-error", "over the LMS limit of 2000")
    section = chrome.find_element(By.ID, "t-guide_busan")
    assert section.find_element(By.CSS_SELECTOR, ".bytes").text == "2002"
    _submit(chrome, section.find_element(By.CSS_SELECTOR, "button.save"))
    errors = _present(chrome, (By.ID, "save-errors")).text
    assert "not saved" in errors and "2002 bytes in EUC-KR, over the LMS limit of 2000" in errors
    assert (world.config_dir / "templates.yaml").read_text(encoding="utf-8") == original
    # fix it: a short text with the customer's name, shown for the sample booking as typed
    area = _area(chrome)
    area.clear()
    area.send_keys("[예시스튜디오 부산점] {{ booking.name }}님, 오늘 촬영 안내드립니다.")
    _shows(chrome, "pre.preview", "홍길동님")
    section = chrome.find_element(By.ID, "t-guide_busan")
    assert section.find_element(By.CSS_SELECTOR, ".type").text == "LMS"
    assert not section.find_element(By.CSS_SELECTOR, ".preview-error").is_displayed()
    _submit(chrome, section.find_element(By.CSS_SELECTOR, "button.save"))
    flash = _present(chrome, (By.CLASS_NAME, "flash")).text
    assert "guide_busan saved: version" in flash and "fixtures passed" in flash
    saved = (world.config_dir / "templates.yaml").read_text(encoding="utf-8")
    assert "{{ booking.name }}님, 오늘 촬영 안내드립니다." in saved
    assert saved.splitlines()[0] == original.splitlines()[0]  # the file's comments are kept
    checked = CliRunner().invoke(app, ["rules", "check", "--config", str(world.config_dir), "--json"])
    assert checked.exit_code == 0, checked.output
    # roll back to the configuration as it was before the first save
    chrome.get(f"{served}/versions")
    rows = chrome.find_elements(By.CSS_SELECTOR, "tr.version")
    assert len(rows) == 2 and "(current)" in rows[0].text and "before the first save" in rows[1].text
    _submit(chrome, rows[1].find_element(By.CSS_SELECTOR, "button.restore"))
    flash = _present(chrome, (By.CLASS_NAME, "flash")).text
    assert "rolled back to" in flash
    assert (world.config_dir / "templates.yaml").read_text(encoding="utf-8") == original


def test_a_typed_script_is_shown_as_text_and_runs_nowhere(chrome, served: str, world: World) -> None:
    _log_in(chrome, served)
    chrome.get(f"{served}/templates/1000002")
    area = _area(chrome)
    area.clear()
    area.send_keys('<script>document.title="owned"</script><img src=x onerror="document.title=1">')
    _shows(chrome, "pre.preview", "<script>")
    assert chrome.title != "owned" and chrome.title != "1"
    assert len(chrome.find_elements(By.TAG_NAME, "script")) == 1  # the console's own
    assert chrome.find_elements(By.CSS_SELECTOR, "pre.preview img") == []
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= chrome.execute_script(
        "return window.innerWidth"
    )
