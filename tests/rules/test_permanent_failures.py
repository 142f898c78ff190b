"""Failures no retry can fix (issue 11, item 9): the one guarded effect classifies them - a `permanent` error,
or one raised from it - and fails the flag for good at once; a transient failure is released and retried as
before. The actions report a permanent failure once, with the fix and the reset command."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.database.sqlite_repository import SqliteRepository
from naver_sms.domain import BookingRecord
from naver_sms.errors import DeliveryUnavailable, FlagFailedForGood, MessageTooLong, NaverSmsError
from naver_sms.flags.effect import Done, guarded_effect, is_permanent
from naver_sms.flags.machine import Claim
from naver_sms.flags.state import read_flag
from naver_sms.rules.actions.messages import MessageParams, send_telegram
from naver_sms.rules.context import ActionContext, ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.templates import TemplateProblem
from tests.world import RecordingChannel, booking, compile_rules, context, kst, run_rules

NOW = kst("2026-11-26 18:40")
KEY = ("1000001_900000001", "010-0000-0001")


def _row(repo: SqliteRepository) -> None:
    repo.create(BookingRecord(KEY[0], KEY[1], "홍길동", "2026-11-27 14:00:00"))


def _raising(error: Exception):  # type: ignore[no-untyped-def]
    def act(_: tuple[Claim, ...]) -> Done[None]:
        raise error

    return act


def test_a_permanent_failure_fails_the_flag_for_good_at_once(repo: SqliteRepository) -> None:
    # GIVEN an open flag and an effect that fails in a way no retry can fix
    _row(repo)
    too_long = MessageTooLong("SMS content is 98 bytes in EUC-KR, over the limit of 90", channel="sens")
    # WHEN the guarded effect runs it
    with pytest.raises(MessageTooLong):
        guarded_effect(
            repo, [KEY], "x_sms", _raising(too_long), run_id="r1", now=NOW, lease=timedelta(minutes=10)
        )
    # THEN the flag failed for good after this one attempt, marked permanent, with the error kept
    state = read_flag(repo.get(KEY), "x_sms", NOW)
    assert (state.status, state.attempts, state.permanent) == ("failed", 1, True)
    assert "over the limit of 90" in (state.last_error or "")


def test_a_transient_failure_is_released_for_a_retry_as_before(repo: SqliteRepository) -> None:
    _row(repo)
    down = DeliveryUnavailable("503 after 4 attempts", channel="sens", status_code=503)
    with pytest.raises(DeliveryUnavailable):
        guarded_effect(
            repo, [KEY], "x_sms", _raising(down), run_id="r1", now=NOW, lease=timedelta(minutes=10)
        )
    state = read_flag(repo.get(KEY), "x_sms", NOW)
    assert (state.status, state.attempts, state.permanent, state.retry_due) == ("open", 1, False, True)


def test_an_error_raised_from_a_permanent_one_is_permanent() -> None:
    # the actions wrap what failed (`raise fail(...) from exc`): the classification looks through the wrap
    try:
        try:
            raise TemplateProblem("cannot render template: 'x' is undefined")
        except TemplateProblem as inner:
            raise NaverSmsError("the action failed") from inner
    except NaverSmsError as outer:
        assert is_permanent(outer)
    assert not is_permanent(NaverSmsError("plain")) and not is_permanent(None)


def test_a_reset_clears_the_permanent_mark_so_the_next_attempt_counts_afresh(repo: SqliteRepository) -> None:
    _row(repo)
    with pytest.raises(TemplateProblem):
        guarded_effect(
            repo,
            [KEY],
            "x_sms",
            _raising(TemplateProblem("x")),
            run_id="r1",
            now=NOW,
            lease=timedelta(minutes=10),
        )
    assert repo.reset(KEY, "x_sms", now=NOW)
    state = read_flag(repo.get(KEY), "x_sms", NOW)
    assert (state.status, state.permanent, state.retry_due) == ("open", False, True)


def test_a_message_that_cannot_render_with_this_bookings_data_fails_its_flag_for_good_once(
    config: AppConfig, services: ActionServicesBundle, telegram: RecordingChannel, repo: SqliteRepository
) -> None:
    # GIVEN a Telegram message, guarded by a flag, that fails with this booking's data only
    b = booking(name="김철수")
    params = MessageParams(message="{{ booking.name[50] }} 새 예약", flag="told")
    # WHEN it is posted
    with pytest.raises(ActionExecutionError) as info:
        send_telegram(context(config, services, b), params)
    # THEN nothing went out, the flag failed for good at once, and the error says what to do
    assert telegram.messages == []
    error = info.value.original_error
    assert isinstance(error, FlagFailedForGood) and "no retry can fix it" in str(error)
    assert f"naver-sms db reset {b.booking_num} told" in str(error)
    row = repo.get((b.booking_num, b.phone))
    assert (
        row is not None and row.extra.get("told_failed") is True and row.extra.get("told_permanent") is True
    )
    # AND the next run leaves it alone, quietly
    later = ActionContext(
        "r", b, row, config.store(b.store_id), context(config, services, b, run_id="r2").scope
    )
    assert send_telegram(later, params).status == "skipped" and telegram.messages == []


def test_a_run_reports_a_permanent_failure_once_and_later_runs_do_not(
    engine: RuleEngine,
    config: AppConfig,
    services: ActionServicesBundle,
    repo: SqliteRepository,
    tmp_path: Path,
) -> None:
    # GIVEN a rule whose SMS template renders over the SMS limit for this customer
    from naver_sms.config.models import SmsTemplate

    cfg = dataclasses.replace(
        config,
        sms_templates={
            **config.sms_templates,
            "hi": SmsTemplate(type="SMS", text="{{ booking.name }}님 안녕하세요"),
        },
    )
    rules = compile_rules(
        engine,
        cfg,
        """\
  - name: hello
    conditions:
      - type: flag_not_set
        params: {flag: hi_sms}
    actions:
      - type: send_sms
        params: {template: hi}
      - type: update_flag
        params: {flag: hi_sms, value: true}
""",
        tmp_path,
    )
    b = booking(name="가" * 45)
    # WHEN two runs come
    first = run_rules(engine, rules, cfg, services, [b], NOW, run_id="run-1")
    second = run_rules(engine, rules, cfg, services, [b], NOW, run_id="run-2")
    # THEN the first reports the SMS failed with its fix, the second reports nothing about it
    assert [(s.status, s.fix is not None) for s in first.sms] == [("failed", True)]
    assert [e.kind for e in first.errors] == ["action"] and "no retry can fix it" in first.errors[0].message
    assert second.sms == [] and second.errors == []
    assert second.actions[("hello", "send_sms", "skipped")] == 1
