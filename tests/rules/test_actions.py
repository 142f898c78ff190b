"""The action executors (the seed story): success, failure and edge cases of each; the immutability and
reuse of ActionContext; error wrapping; registration."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest

from naver_sms.config.models import AppConfig
from naver_sms.database.sqlite_repository import SqliteRepository
from naver_sms.errors import DeliveryRejected, FlagFailedForGood, OutcomeUnknown
from naver_sms.rules.actions import ACTIONS, register_actions
from naver_sms.rules.actions.messages import (
    LogEventParams,
    MessageParams,
    log_event,
    send_slack,
    send_telegram,
)
from naver_sms.rules.actions.records import NoParams, UpdateFlagParams, create_db_record, update_flag
from naver_sms.rules.actions.sms import SendSmsParams, send_sms
from naver_sms.rules.context import ActionContext, ActionServicesBundle
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.exceptions import ActionExecutionError
from tests.world import RecordingChannel, RecordingSms, booking, context, kst, record_for, sens_down

NOW = kst("2026-11-26 18:40")


# --- send_sms ------------------------------------------------------------------------------------------------


def test_send_sms_sends_the_template_byte_for_byte_and_commits_its_flag(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    b = booking(phone="01012345678")
    result = send_sms(
        context(config, services, b), SendSmsParams(template="confirmation", flag="confirm_sms")
    )
    [message] = sms.sent
    assert message.to == "01012345678"
    assert message.sender == config.default_sender
    assert (message.type, message.content_type) == ("LMS", "COMM")
    assert message.subject == config.subject
    assert message.content == config.sms_templates["confirmation"].text  # no variables: sent as written
    assert message.content.endswith("감사합니다.\n")
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.confirm_sms is True
    assert row.extra["confirm_sms_request_id"] == "req-1"
    assert [s.status for s in result.sms] == ["sent"]
    assert [(f.flag, f.value, f.via) for f in result.flags] == [("confirm_sms", True, "commit")]


def test_a_store_specific_template_uses_the_stores_text_and_sender(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms
) -> None:
    b = booking(store_id=1000002)  # Busan has its own sender number
    send_sms(
        context(config, services, b), SendSmsParams(template="guide", store_specific=True, flag="remind_sms")
    )
    [message] = sms.sent
    assert message.sender == "0510000000"
    assert message.content == config.sms_templates["guide_busan"].text
    other = booking(store_id=1000003, phone="01000000009")
    send_sms(
        context(config, services, other),
        SendSmsParams(template="guide", store_specific=True, flag="remind_sms"),
    )
    assert sms.sent[1].sender == config.default_sender  # a store without its own number uses the default


def test_send_sms_renders_variables_in_the_sandbox(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms
) -> None:
    from naver_sms.config.models import SmsTemplate

    tpl = SmsTemplate(
        type="auto", text="{{ booking.name }}님 {{ store.alias }} 예약 ({{ booking.phone_last4 }})"
    )
    cfg = dataclasses.replace(config, sms_templates={**config.sms_templates, "hello": tpl})
    b = booking(name="김철수", phone="01000005678", store_id=1000001)
    send_sms(context(cfg, services, b), SendSmsParams(template="hello", flag="hello_sms"))
    assert sms.sent[0].content == "김철수님 강남점 예약 (5678)"
    assert sms.sent[0].type == "SMS"  # `auto`: it fits in 90 bytes


def test_a_text_that_cannot_be_built_fails_for_good_at_once_and_is_reported_once_with_the_fix(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    # (issue 11 item 9 replaces issue 9's "retried and bounded": no retry can build this text, so the three
    # attempts only delayed the report and repeated it on every run until a reset)
    from naver_sms.config.models import SmsTemplate
    from naver_sms.rules.conditions import CONDITIONS, FlagParams
    from naver_sms.rules.facts import Facts

    # GIVEN a template that only fails with this booking's data (static checks cannot see it)
    broken = SmsTemplate(type="SMS", text="{{ booking.name[50] }}님 예약 확인", label="확인")
    cfg = dataclasses.replace(config, sms_templates={**config.sms_templates, "hello": broken})
    b = booking(name="김철수")
    params = SendSmsParams(template="hello", flag="hello_sms")
    # WHEN it is sent
    with pytest.raises(ActionExecutionError) as info:
        send_sms(context(cfg, services, b), params)
    # THEN nothing went out, and the failure is an SMS of the report like a refused send, with the fix
    assert sms.sent == []
    [failed] = info.value.partial.sms
    assert (failed.status, failed.template, failed.label, failed.booking_num) == (
        "failed",
        "hello",
        "확인",
        b.booking_num,
    )
    assert failed.error == "TemplateProblem: cannot render template: str object has no element 50"
    assert failed.fix is not None and "fix template 'hello'" in failed.fix
    assert f"naver-sms db reset {b.booking_num} hello_sms" in failed.fix
    # AND the flag failed for good at once (one attempt counted), so no later run retries it
    assert isinstance(info.value.original_error, FlagFailedForGood)
    assert "no retry can fix it" in str(info.value.original_error)
    assert info.value.context_data["failed_for_good"] is True
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.extra.get("hello_sms_attempts") == 1
    assert row.extra.get("hello_sms_failed") is True and row.extra.get("hello_sms_permanent") is True
    retry_due = next(c for c in CONDITIONS if c.name == "flag_retry_due")
    facts = Facts(b, row, NOW, cfg.store(b.store_id), cfg.option_keywords)
    assert not retry_due.check(facts, FlagParams(flag="hello_sms"))
    # AND the next run leaves it alone quietly: reported once, not on every run
    later = ActionContext("r", b, row, cfg.store(b.store_id), context(cfg, services, b, run_id="run-2").scope)
    assert send_sms(later, params).status == "skipped"
    # AND once an operator resets it (after the fix), it is tried again
    assert repo.reset((b.booking_num, b.phone), "hello_sms")
    fixed = dataclasses.replace(
        cfg,
        sms_templates={**cfg.sms_templates, "hello": SmsTemplate(type="SMS", text="{{ booking.name }}님")},
    )
    assert send_sms(context(fixed, services, b, run_id="run-3"), params).sms[0].content == "김철수님"


def test_a_text_over_the_sms_limit_fails_for_good_at_once_with_the_fix(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    from naver_sms.config.models import SmsTemplate

    # GIVEN an SMS template whose text renders over 90 bytes for this booking
    long = SmsTemplate(type="SMS", text="{{ booking.name }}님, " + "가" * 44, label="긴")
    cfg = dataclasses.replace(config, sms_templates={**config.sms_templates, "long": long})
    b = booking(name="김철수")
    # WHEN it is sent
    with pytest.raises(ActionExecutionError) as info:
        send_sms(context(cfg, services, b), SendSmsParams(template="long", flag="long_sms"))
    # THEN nothing went out: it is refused before sending, as SENS counts, and fails for good at once
    assert sms.sent == []
    [failed] = info.value.partial.sms
    assert failed.error is not None and failed.error.startswith(
        "MessageTooLong: sens: SMS content is 98 bytes"
    )
    assert failed.content.startswith("김철수님, 가가")  # the text it would have been, for the report
    assert failed.fix is not None and "`type: auto`" in failed.fix and "naver-sms db reset" in failed.fix
    row = repo.get((b.booking_num, b.phone))
    assert (
        row is not None and row.extra.get("long_sms_failed") is True and row.extra["long_sms_attempts"] == 1
    )


def test_a_failed_send_is_wrapped_not_recorded_as_sent_and_counted(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    b = booking()
    sms.fail_next(DeliveryRejected("400 invalid from", channel="sens", status_code=400))
    with pytest.raises(ActionExecutionError) as info:
        send_sms(context(config, services, b), SendSmsParams(template="confirmation", flag="confirm_sms"))
    err = info.value
    assert err.executor_name == "send_sms"
    assert err.booking_id == b.booking_num
    assert isinstance(err.original_error, DeliveryRejected)
    assert err.context_data["template"] == "confirmation" and err.context_data["rule"] == "r"
    assert err.partial.sms[0].status == "failed"
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.confirm_sms is False
    assert row.extra["confirm_sms_attempts"] == 1 and "invalid from" in row.extra["confirm_sms_last_error"]


def test_a_failed_send_is_retried_by_a_later_run_and_then_succeeds(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    b = booking()
    sms.fail_next(sens_down())
    with pytest.raises(ActionExecutionError):
        send_sms(
            context(config, services, b, run_id="run-1"),
            SendSmsParams(template="confirmation", flag="confirm_sms"),
        )
    send_sms(
        context(config, services, b, run_id="run-2"),
        SendSmsParams(template="confirmation", flag="confirm_sms"),
    )
    assert len(sms.sent) == 1
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.confirm_sms is True


def test_attempts_are_bounded_then_reported_as_failed_for_good(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    b = booking()
    sms.fail_next(*(sens_down() for _ in range(repo.max_attempts)))
    for run in range(repo.max_attempts):
        with pytest.raises(ActionExecutionError):
            send_sms(
                context(config, services, b, run_id=f"run-{run}"),
                SendSmsParams(template="confirmation", flag="confirm_sms"),
            )
    with pytest.raises(ActionExecutionError) as info:
        send_sms(
            context(config, services, b, run_id="run-x"),
            SendSmsParams(template="confirmation", flag="confirm_sms"),
        )
    assert info.value.context_data["failed_for_good"] is True
    assert sms.sent == []
    assert repo.reset((b.booking_num, b.phone), "confirm_sms")  # the operator's reset opens it again
    send_sms(
        context(config, services, b, run_id="run-y"),
        SendSmsParams(template="confirmation", flag="confirm_sms"),
    )
    assert len(sms.sent) == 1


def test_an_unknown_outcome_keeps_the_claim_and_the_next_run_resolves_it_without_resending(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    # GIVEN SENS took the message but the answer was lost
    b = booking()
    params = SendSmsParams(template="confirmation", flag="confirm_sms")

    class Lost(RecordingSms):
        def send(self, message):  # type: ignore[no-untyped-def]
            super().send(message)
            raise OutcomeUnknown("read timeout after sending", channel="sens")

    lost = Lost()
    flaky = dataclasses.replace(services, sms_service=lost)
    with pytest.raises(ActionExecutionError) as info:
        send_sms(context(config, flaky, b, run_id="run-1"), params)
    assert info.value.partial.sms[0].status == "unknown"
    # WHEN another run comes before the lease ends, it leaves the claim alone
    assert (
        send_sms(context(config, flaky, b, run_id="run-2", now="2026-11-26 18:45"), params).status
        == "skipped"
    )
    # AND a run after the lease asks SENS and commits what it finds
    result = send_sms(context(config, flaky, b, run_id="run-3", now="2026-11-26 19:00"), params)
    assert [s.status for s in result.sms] == ["reconciled"]
    assert len(lost.sent) == 1 and len(lost.lookups) == 1
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.confirm_sms is True


def test_leases_keep_real_time_whatever_the_decision_clock_says(
    config: AppConfig, services: ActionServicesBundle, repo: SqliteRepository
) -> None:
    # GIVEN a send with no answer at 10:00 real time
    b = booking()
    params = SendSmsParams(template="confirmation", flag="confirm_sms")

    class Lost(RecordingSms):
        def send(self, message):  # type: ignore[no-untyped-def]
            super().send(message)
            raise OutcomeUnknown("read timeout after sending", channel="sens")

    flaky = dataclasses.replace(services, sms_service=Lost())
    with pytest.raises(ActionExecutionError):
        send_sms(context(config, flaky, b, run_id="run-1", wall="2026-11-26 10:00"), params)
    # WHEN a run five real minutes later decides as if it were the next day (--now)
    later = send_sms(
        context(config, flaky, b, run_id="run-2", now="2026-11-27 18:40", wall="2026-11-26 10:05"), params
    )
    # THEN the claim is still live for it: no look-up, no second send
    assert later.status == "skipped"
    assert flaky.sms_service.lookups == []  # type: ignore[attr-defined]


def test_a_send_whose_flag_is_done_is_skipped(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms, repo: SqliteRepository
) -> None:
    b = booking()
    repo.create(record_for(b, confirm_sms=True))
    result = send_sms(
        context(config, services, b), SendSmsParams(template="confirmation", flag="confirm_sms")
    )
    assert result.status == "skipped" and sms.sent == []


def test_a_store_without_the_role_is_a_clear_error(config: AppConfig, services: ActionServicesBundle) -> None:
    b = booking(store_id=1999999)  # not in stores.yaml
    with pytest.raises(ActionExecutionError, match=r"not in stores\.yaml"):
        send_sms(
            context(config, services, b), SendSmsParams(template="guide", store_specific=True, flag="x_sms")
        )


# --- create_db_record / update_flag ---------------------------------------------------------------------------


def test_create_db_record_writes_the_legacy_row(
    config: AppConfig, services: ActionServicesBundle, repo: SqliteRepository
) -> None:
    b = booking(name="홍길동", phone="01000000001", start="2026-11-27 14:00")
    assert create_db_record(context(config, services, b), NoParams()).status == "ok"
    row = repo.get((b.booking_num, b.phone))
    assert row is not None
    assert row.to_item() == {
        "booking_num": b.booking_num,
        "phone": "010-0000-0001",
        "name": "홍길동",
        "booking_time": "2026-11-27 14:00:00",
        "confirm_sms": False,
        "remind_sms": False,
        "option_sms": False,
        "option_time": "",
    }


def test_create_db_record_never_overwrites(
    config: AppConfig, services: ActionServicesBundle, repo: SqliteRepository
) -> None:
    b = booking()
    repo.create(record_for(b, confirm_sms=True, remind_sms=True))
    assert create_db_record(context(config, services, b), NoParams()).status == "noop"
    row = repo.get((b.booking_num, b.phone))
    assert row is not None and row.confirm_sms and row.remind_sms


def test_update_flag_sets_once_and_is_idempotent(
    config: AppConfig, services: ActionServicesBundle, repo: SqliteRepository
) -> None:
    b = booking()
    repo.create(record_for(b))
    first = update_flag(context(config, services, b), UpdateFlagParams(flag="remind_sms"))
    again = update_flag(context(config, services, b), UpdateFlagParams(flag="remind_sms"))
    assert (first.status, again.status) == ("ok", "noop")
    assert [(f.flag, f.value) for f in first.flags] == [("remind_sms", True)] and again.flags == ()
    assert (
        update_flag(context(config, services, b), UpdateFlagParams(flag="remind_sms", value=False)).status
        == "ok"
    )


def test_update_flag_true_gives_a_missing_booking_its_row(
    config: AppConfig, services: ActionServicesBundle, repo: SqliteRepository
) -> None:
    b = booking()
    result = update_flag(context(config, services, b), UpdateFlagParams(flag="listed"))
    row = repo.get((b.booking_num, b.phone))
    assert result.status == "ok" and row is not None and row.flag("listed") is True
    assert row.confirm_sms is False  # the legacy flags of a new row are false


def test_clearing_a_flag_of_a_missing_row_fails_clearly(
    config: AppConfig, services: ActionServicesBundle
) -> None:
    with pytest.raises(ActionExecutionError) as info:
        update_flag(context(config, services, booking()), UpdateFlagParams(flag="remind_sms", value=False))
    assert info.value.executor_name == "update_flag" and "no record" in str(info.value)


# --- notifications and log_event ----------------------------------------------------------------------------


def test_send_telegram_renders_and_posts(
    config: AppConfig, services: ActionServicesBundle, telegram: RecordingChannel
) -> None:
    b = booking(name="김철수", phone="01000004321", store_id=1000002)
    result = send_telegram(
        context(config, services, b),
        MessageParams(message="{{ store.alias }} 새 예약 {{ booking.name }} ({{ booking.phone_last4 }})"),
    )
    assert telegram.messages == ["부산점 새 예약 김철수 (4321)"]
    assert result.notifications[0].channel == "telegram"


def test_send_telegram_failure_is_wrapped(
    config: AppConfig, services: ActionServicesBundle, telegram: RecordingChannel
) -> None:
    telegram.failures.append(DeliveryRejected("chat not found", channel="telegram", status_code=400))
    with pytest.raises(ActionExecutionError) as info:
        send_telegram(context(config, services, booking()), MessageParams(message="x"))
    assert info.value.executor_name == "send_telegram"


def test_an_undefined_variable_at_render_time_is_an_action_error(
    config: AppConfig, services: ActionServicesBundle
) -> None:
    with pytest.raises(ActionExecutionError, match="cannot render"):
        send_telegram(context(config, services, booking()), MessageParams(message="{{ booking.nope }}"))


def test_send_slack_is_a_noop_when_slack_is_disabled(
    config: AppConfig, services: ActionServicesBundle
) -> None:
    off = RecordingChannel("slack", enabled=False)
    result = send_slack(
        context(config, dataclasses.replace(services, slack_service=off), booking()),
        MessageParams(message="hello"),
    )
    assert result.status == "disabled" and off.messages == []


def test_send_slack_posts_when_enabled(
    config: AppConfig, services: ActionServicesBundle, slack: RecordingChannel
) -> None:
    send_slack(
        context(config, services, booking(store_id=1000003)), MessageParams(message="{{ store.alias }}")
    )
    assert slack.messages == ["홍대점"]


def test_log_event_writes_one_json_object_with_personal_data_masked(
    config: AppConfig, services: ActionServicesBundle, caplog: pytest.LogCaptureFixture
) -> None:
    b = booking(name="홍길동", phone="01012345678")
    caplog.set_level(logging.INFO, logger="naver_sms.test")
    log_event(
        context(config, services, b, rule="audit"),
        LogEventParams(
            message="{{ booking.name }} {{ booking.phone }} {{ booking.phone_digits }}", status="seen"
        ),
    )
    [line] = [r.getMessage() for r in caplog.records if r.name == "naver_sms.test"]
    event = json.loads(line)
    assert event == {
        "event": "rule_event",
        "rule": "audit",
        "action": "log_event",
        "booking_id": b.booking_num,
        "status": "seen",
        "message": "홍*동 010-****-5678 010****5678",
    }
    assert "홍길동" not in line and "1234" not in line


# --- the context -------------------------------------------------------------------------------------------


def test_the_context_cannot_be_changed(config: AppConfig, services: ActionServicesBundle) -> None:
    ctx = context(config, services, booking())
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.rule = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.booking.name = "other"  # type: ignore[misc, union-attr]
    with pytest.raises(TypeError):
        ctx.config.stores["x"] = None  # type: ignore[index]


def test_executors_leave_the_context_as_they_found_it(
    config: AppConfig, services: ActionServicesBundle
) -> None:
    b = booking()
    ctx = context(config, services, b)

    def snapshot() -> str:  # the values, not the references: a change through object.__setattr__ shows
        return repr(
            (
                ctx.rule,
                ctx.booking,
                ctx.record,
                ctx.store,
                ctx.now,
                ctx.scope,
                ctx.bookings,
                ctx.known_request_ids,
                dict(ctx.config.stores),
                dict(ctx.config.sms_templates),
            )
        )

    before = snapshot()
    create_db_record(ctx, NoParams())
    send_sms(ctx, SendSmsParams(template="confirmation", flag="confirm_sms"))
    update_flag(ctx, UpdateFlagParams(flag="confirm_sms"))
    send_telegram(ctx, MessageParams(message="x"))
    log_event(ctx, LogEventParams(message="y"))
    assert snapshot() == before


def test_one_context_is_safe_to_reuse_across_threads(
    config: AppConfig, services: ActionServicesBundle, telegram: RecordingChannel
) -> None:
    ctx = context(config, services, booking(name="김철수"))
    params = MessageParams(message="{{ booking.name }} {{ store.alias }}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: send_telegram(ctx, params), range(64)))
    assert len(telegram.messages) == 64 and set(telegram.messages) == {"김철수 강남점"}
    assert all(r.notifications[0].text == "김철수 강남점" for r in results)


def test_concurrent_sends_from_one_context_send_once(
    config: AppConfig, services: ActionServicesBundle, sms: RecordingSms
) -> None:
    ctx = context(config, services, booking())
    params = SendSmsParams(template="confirmation", flag="confirm_sms")
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [r.status for r in pool.map(lambda _: send_sms(ctx, params), range(16))]
    assert len(sms.sent) == 1
    assert statuses.count("ok") == 1 and statuses.count("skipped") == 15


# --- errors and registration ---------------------------------------------------------------------------------


def test_action_execution_error_carries_its_context_and_survives_pickling() -> None:
    err = ActionExecutionError("send_sms", "1_2", ValueError("bad"), {"template": "t"})
    assert str(err) == "Action 'send_sms' failed for booking 1_2: bad"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.executor_name, copy.booking_id, copy.context_data) == ("send_sms", "1_2", {"template": "t"})


def test_register_actions_registers_the_six_executors_and_record_reschedule() -> None:
    # the services come with each run's scope (RunScope), not with the engine: RuleEngine.services is gone;
    # issue 13 added record_reschedule to the seed story's six
    engine = RuleEngine()
    register_actions(engine)
    assert set(engine.actions) == {
        "send_sms",
        "create_db_record",
        "update_flag",
        "send_telegram",
        "send_slack",
        "log_event",
        "record_reschedule",
    }
    assert len(ACTIONS) == 7
