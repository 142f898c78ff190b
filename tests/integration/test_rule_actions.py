"""The seed story's integration test (story 3.3, acceptance 11; issue 3, item 3).

The real engine runs the real action executors - the default `config/` rules plus one extra rule that
announces new bookings on Slack and logs them - with state in DynamoDB behind dynalite (and moto_server),
and the real `SensClient`, `TelegramClient` and `SlackWebhookClient` talking over sockets to the local
stand-ins. A run is what production does: `build_runtime(settings)` then `run_once`. The tests read the
table with a plain boto3 client and the messages from what the stand-ins received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from naver_sms.config.loader import load_config
from naver_sms.config.settings import Settings
from naver_sms.database.dynamo_target import DynamoTarget
from naver_sms.domain.clock import FixedClock
from naver_sms.notifications.sms_service import SensClient
from naver_sms.retry import RetryPolicy
from naver_sms.rules.report import RunReport
from naver_sms.runner import run_once
from naver_sms.wiring import build_runtime
from tests.integration.conftest import CONFIG_DIR, Channels, config_with_rules, raw_item
from tests.world import kst, write_bookings
from tests.world import raw_booking as naver_booking

NOW = kst("2026-11-26 10:00")
NEXT_RUN = NOW + timedelta(minutes=20)  # the schedule's next run: past the 10-minute claim lease

#: One rule on top of the defaults: every new confirmed booking is announced on Slack, then logged.
ANNOUNCE_RULE = """
- name: new_booking_announcement
  description: Every new confirmed booking is announced on Slack, then logged.
  conditions:
    - type: booking_status
      params: {status: RC03}
    - type: booking_not_in_db
  actions:
    - type: send_slack
      params: {message: "새 예약 {{ booking.booking_num }} {{ store.alias }} {{ booking.booking_time }}"}
    - type: log_event
      params: {message: "{{ booking.name }} booked at {{ store.alias }}", status: announced}
"""


@dataclass(frozen=True)
class Guest:
    """One synthetic customer's booking."""

    booking_id: int
    store_id: str
    start: str  # Korean time
    phone: str  # digits
    name: str

    @property
    def booking_num(self) -> str:
        return f"{self.store_id}_{self.booking_id}"

    @property
    def phone_key(self) -> str:
        return f"{self.phone[:3]}-{self.phone[3:7]}-{self.phone[7:]}"

    def raw(self) -> dict[str, Any]:
        return naver_booking(
            self.booking_id, store_id=self.store_id, start=self.start, phone=self.phone, name=self.name
        )


TOMORROW = Guest(970_000_001, "1000001", "2026-11-27 14:00", "01055500001", "김철수")  # confirmation only
SOON = Guest(970_000_002, "1000002", "2026-11-26 11:30", "01055500002", "이영희")  # confirmation + guide
LATER = Guest(970_000_003, "1000003", "2026-11-27 16:00", "01055500003", "박민수")  # confirmation only
GUESTS = (TOMORROW, SOON, LATER)

CONFIG = load_config(CONFIG_DIR)
CONFIRMATION = CONFIG.sms_templates["confirmation"].text
GUIDE_BUSAN = CONFIG.sms_templates["guide_busan"].text


def no_sleep(seconds: float) -> None:
    """Time never passes in these tests: the clients' waits between retries return at once."""


@dataclass
class World:
    target: DynamoTarget
    channels: Channels
    settings: Settings
    _ids: Iterator[int]

    def run(self, at: datetime = NOW, **sens_options: Any) -> RunReport:
        """One run, as a fresh process would make it. `sens_options` rebuild the SENS client with other
        constructor options (timeouts, look-up attempts); the waits between retries never sleep."""
        run_id = f"it-run-{next(self._ids)}"
        # one real time for the run, the SENS client (it signs with it) and SENS itself (it checks it)
        self.channels.sens.set_clock(FixedClock(at))
        runtime, _ = build_runtime(
            self.settings, clock=FixedClock(at), real_clock=FixedClock(at), run_id=run_id
        )
        if sens_options:
            runtime.services.sms_service.close()  # type: ignore[attr-defined]
            client = SensClient.from_settings(
                self.settings, sleep=no_sleep, clock=FixedClock(at), **sens_options
            )
            runtime.services = replace(runtime.services, sms_service=client)
        try:
            return run_once(runtime, run_id=run_id)
        finally:
            runtime.close()

    def row(self, guest: Guest) -> dict[str, Any]:
        return raw_item(self.target, guest.booking_num, guest.phone_key)

    def sms_at_sens(self) -> list[tuple[str, str, str, str, str]]:
        return [(m.to, m.sender, m.type, m.subject, m.content) for m in self.channels.sens.messages]


@pytest.fixture
def backend() -> str:
    return "dynalite"  # dynalite proves atomic conditional writes; tests parametrise moto_server as well


@pytest.fixture
def world(backend: str, dynamo_target: Any, channels: Channels, tmp_path: Path) -> World:
    """Three new bookings, empty DynamoDB tables, live channels pointed at the stand-ins."""
    target = dynamo_target(backend)
    settings = Settings(
        config_dir=config_with_rules(tmp_path, ANNOUNCE_RULE),
        db=target.url(),
        live=True,
        bookings_path=write_bookings(tmp_path / "bookings.json", [g.raw() for g in GUESTS]),
        sens_base=channels.url,
        sens_access_key=SecretStr(channels.sens.access_key),
        sens_secret_key=SecretStr(channels.sens.secret_key),
        sens_service_id=channels.sens.service_id,
        telegram_base=channels.url,
        telegram_token=SecretStr(channels.telegram.token),
        telegram_chat_id=channels.chat_id,
        slack_webhook_url=SecretStr(channels.webhook_url),
        slack_enabled=True,
        # one booking after the other: these tests read the order in which the stand-ins received the
        # messages across bookings (parallel sends keep it within a booking: tests/integration/test_act_step.py)
        send_concurrency=1,
    )
    return World(target, channels, settings, itertools.count(1))


# --- one run, end to end -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["dynalite", "moto"])
def test_a_run_writes_the_legacy_rows_with_boolean_flags(world: World, backend: str) -> None:
    # GIVEN three new confirmed bookings, one of them starting within two hours
    # WHEN one live run acts on them
    report = world.run()
    # THEN each has its row with the legacy attributes and their DynamoDB types: S for text, BOOL for flags
    assert report.ok and report.errors == []
    for guest in GUESTS:
        item = world.row(guest)
        assert {k: item[k] for k in ("booking_num", "phone", "name", "booking_time", "option_time")} == {
            "booking_num": {"S": guest.booking_num},
            "phone": {"S": guest.phone_key},
            "name": {"S": guest.name},
            "booking_time": {"S": guest.start + ":00"},
            "option_time": {"S": ""},
        }
        assert item["confirm_sms"] == {"BOOL": True}
        assert item["remind_sms"] == {"BOOL": guest is SOON}
        assert item["option_sms"] == {"BOOL": False}
    # AND each set flag carries the id SENS gave its SMS, and no claim is left behind
    request_ids = {m.request_id for m in world.channels.sens.messages}
    for guest in GUESTS:
        item = world.row(guest)
        assert item["confirm_sms_request_id"]["S"] in request_ids
        assert "confirm_sms_claim_run" not in item
    assert world.row(SOON)["remind_sms_request_id"]["S"] in request_ids


def test_a_run_sends_each_sms_to_sens_as_the_legacy_job_did(world: World) -> None:
    # GIVEN three new confirmed bookings, the one at the Busan store starting within two hours
    # WHEN one live run acts on them
    report = world.run()
    # THEN SENS received the confirmations and the Busan guide (from the store's own number), LMS with the
    # business subject, the texts as written in templates.yaml - and nothing truncated
    assert world.sms_at_sens() == [
        (TOMORROW.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
        (SOON.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
        (SOON.phone, "0510000000", "LMS", "예시스튜디오 안내", GUIDE_BUSAN),
        (LATER.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
    ]
    assert not any(m.truncated for m in world.channels.sens.messages)
    # AND the report lists them as sent with SENS's request ids
    assert [(s.to, s.template, s.status) for s in report.sms] == [
        (TOMORROW.phone, "confirmation", "sent"),
        (SOON.phone, "confirmation", "sent"),
        (SOON.phone, "guide_busan", "sent"),
        (LATER.phone, "confirmation", "sent"),
    ]
    assert [s.request_id for s in report.sms] == [m.request_id for m in world.channels.sens.messages]


def test_every_request_to_sens_carries_a_valid_signature(world: World) -> None:
    # GIVEN the stand-in, which refuses (401) a request whose signature it cannot verify
    # WHEN one live run sends
    world.run()
    # THEN every send was accepted (202), and its signature is HMAC-SHA256 over "METHOD URI\nts\nkey"
    sens = world.channels.sens
    sends = sens.send_requests
    assert len(sends) == 4 and {r.status for r in sends} == {202}
    for request in sends:
        headers = {k.lower(): v for k, v in request.headers.items()}
        timestamp = headers["x-ncp-apigw-timestamp"]
        text = f"POST {request.uri}\n{timestamp}\n{sens.access_key}"
        digest = hmac.new(sens.secret_key.encode(), text.encode(), hashlib.sha256).digest()
        assert headers["x-ncp-apigw-signature-v2"] == base64.b64encode(digest).decode()
        assert headers["x-ncp-iam-access-key"] == sens.access_key
        assert request.uri == f"/sms/v2/services/{sens.service_id}/messages"


def test_a_run_posts_the_legacy_summary_to_telegram(world: World) -> None:
    # GIVEN three new confirmed bookings  WHEN one live run acts on them
    report = world.run()
    # THEN the Telegram chat got one message: a line per SMS, in decision order, in the legacy format
    summary = "\n".join(
        [
            f"{TOMORROW.phone_key} 예약확정 문자 발송 완료",
            f"{SOON.phone_key} 예약확정 문자 발송 완료",
            f"{SOON.phone_key} 안내 문자 발송 완료",
            f"{LATER.phone_key} 예약확정 문자 발송 완료",
        ]
    )
    telegram = world.channels.telegram
    assert [(m["chat_id"], m["text"]) for m in telegram.messages] == [(int(world.channels.chat_id), summary)]
    assert report.summary == summary


def test_a_rule_with_send_slack_posts_each_new_booking_to_the_webhook(world: World) -> None:
    # GIVEN the extra rule announcing new bookings on Slack  WHEN one live run acts on three new bookings
    report = world.run()
    # THEN the webhook received one rendered message per booking
    assert [m["text"] for m in world.channels.slack.messages] == [
        f"새 예약 {TOMORROW.booking_num} 강남점 2026-11-27 14:00:00",
        f"새 예약 {SOON.booking_num} 부산점 2026-11-26 11:30:00",
        f"새 예약 {LATER.booking_num} 홍대점 2026-11-27 16:00:00",
    ]
    assert report.actions[("new_booking_announcement", "send_slack", "ok")] == 3


def test_a_rule_with_log_event_writes_one_masked_json_line_per_booking(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the extra rule logging new bookings
    caplog.set_level(logging.INFO, logger="naver_sms")
    # WHEN one live run acts on three new bookings
    world.run()
    # THEN one JSON line per booking names the rule, action, booking and status, the customer's name masked
    events = [json.loads(r.getMessage()) for r in caplog.records if '"rule_event"' in r.getMessage()]
    assert events == [
        {
            "event": "rule_event",
            "rule": "new_booking_announcement",
            "action": "log_event",
            "booking_id": guest.booking_num,
            "status": "announced",
            "message": f"{guest.name[0]}*{guest.name[2:]} booked at {alias}",
        }
        for guest, alias in ((TOMORROW, "강남점"), (SOON, "부산점"), (LATER, "홍대점"))
    ]
    assert not any(
        g.name in r.getMessage() or g.phone in r.getMessage() for g in GUESTS for r in caplog.records
    )


# --- a failing action ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "times"),
    [(400, 1), (503, 3)],
    ids=["refused-400", "unavailable-503-beyond-the-retry-bound"],
)
def test_a_failed_sms_leaves_its_flag_open_with_one_attempt(world: World, status: int, times: int) -> None:
    # GIVEN SENS refuses the SMS to one customer (400, final), or answers 503 to every one of the client's
    # three tries
    world.channels.refuse(LATER.phone, status, times=times)
    # WHEN one live run acts on the three bookings
    world.run(retry=RetryPolicy(max_attempts=3))
    # THEN that customer's row keeps confirm_sms false, with one failed attempt (one run) and the error kept
    item = world.row(LATER)
    assert item["confirm_sms"] == {"BOOL": False}
    assert item["confirm_sms_attempts"] == {"N": "1"}
    assert str(status) in item["confirm_sms_last_error"]["S"]
    assert world.channels.refused[LATER.phone] == []  # the client tried exactly `times` times
    assert "confirm_sms_claim_run" not in item  # released, not held


def test_a_refused_sms_leaves_the_rules_later_actions_unrun(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN SENS refuses the SMS to one customer
    world.channels.refuse(LATER.phone, 400)
    caplog.set_level(logging.INFO, logger="naver_sms")
    # WHEN one live run acts on the three bookings
    report = world.run()
    # THEN in that booking's rule the send failed and its update_flag never ran: update_flag ran for the two
    # other bookings only, and the failure is logged with the actions it skipped
    rule = "new_booking_confirmation"
    assert report.actions[(rule, "send_sms", "failed")] == 1
    assert report.actions[(rule, "send_sms", "ok")] == 2
    assert sum(n for (r, a, _), n in report.actions.items() if (r, a) == (rule, "update_flag")) == 2
    failures = [json.loads(r.getMessage()) for r in caplog.records if '"action_failed"' in r.getMessage()]
    assert [(f["rule"], f["action"], f["booking_id"], f["skipped_actions"]) for f in failures] == [
        (rule, "send_sms", LATER.booking_num, ["update_flag"])
    ]


def test_a_refused_sms_does_not_stop_the_engine(world: World) -> None:
    # GIVEN SENS refuses the SMS to one customer
    world.channels.refuse(LATER.phone, 400)
    # WHEN one live run acts on the three bookings
    report = world.run()
    # THEN the other bookings' SMS went out, the later rule still announced the refused booking on Slack,
    # the run itself is fine, and the report and the summary name the failure
    assert [to for to, *_ in world.sms_at_sens()] == [TOMORROW.phone, SOON.phone, SOON.phone]
    assert LATER.booking_num in world.channels.slack.messages[-1]["text"]
    assert report.ok
    assert [(e.kind, e.rule, e.action, e.booking_num) for e in report.errors] == [
        ("action", "new_booking_confirmation", "send_sms", LATER.booking_num)
    ]
    assert "400" in report.errors[0].message
    assert report.summary.splitlines()[-1] == f"{LATER.phone_key} 예약확정 문자 발송 실패"
    assert [m["text"] for m in world.channels.telegram.messages] == [report.summary]


def test_the_next_run_retries_a_refused_sms_and_sets_its_flag(world: World) -> None:
    # GIVEN a run in which SENS refused the SMS to one customer
    world.channels.refuse(LATER.phone, 400)
    world.run()
    # WHEN the next scheduled run comes, 20 minutes later, and SENS accepts it
    report = world.run(NEXT_RUN)
    # THEN that SMS - and only that one - is sent, by the retry rule, and the flag is set
    assert [(s.to, s.rule, s.status) for s in report.sms] == [
        (LATER.phone, "existing_booking_confirmation", "sent")
    ]
    assert Counter(to for to, *_ in world.sms_at_sens()) == {TOMORROW.phone: 1, SOON.phone: 2, LATER.phone: 1}
    item = world.row(LATER)
    assert item["confirm_sms"] == {"BOOL": True}
    assert item["confirm_sms_request_id"]["S"] == world.channels.sens.messages[-1].request_id
    assert report.errors == [] and report.summary == f"{LATER.phone_key} 예약확정 문자 발송 완료"


def test_a_failed_slack_post_leaves_the_rules_log_event_unrun_for_that_booking_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the Slack webhook refuses the first announcement (404 channel_not_found)
    world.channels.slack.fail_next(404, "channel_not_found")
    caplog.set_level(logging.INFO, logger="naver_sms")
    # WHEN one live run acts on the three bookings
    report = world.run()
    # THEN that booking's log_event (the rule's next action) did not run, the other two bookings were
    # announced and logged, and every SMS still went out
    logged = [
        json.loads(r.getMessage())["booking_id"] for r in caplog.records if '"rule_event"' in r.getMessage()
    ]
    assert logged == [SOON.booking_num, LATER.booking_num]
    assert [m["text"].split()[2] for m in world.channels.slack.messages] == [
        SOON.booking_num,
        LATER.booking_num,
    ]
    assert [(e.rule, e.action, e.booking_num) for e in report.errors] == [
        ("new_booking_announcement", "send_slack", TOMORROW.booking_num)
    ]
    assert len(world.channels.sens.messages) == 4


# --- a send whose answer is lost -----------------------------------------------------------------------------


def test_an_sms_accepted_without_an_answer_is_sent_once_and_reconciled_after_the_lease(world: World) -> None:
    # GIVEN SENS accepts the first SMS of a run and then never answers, and its look-up is down meanwhile
    world.channels.sens.accept_then_stall(seconds=30)
    world.channels.sens.fail_next(503, route="list")
    # WHEN a run sends with a short read timeout, then the next runs come 20 and 40 minutes later
    first = world.run(NOW, timeout=1.0, lookup_attempts=1, retry=RetryPolicy(max_attempts=1))
    held = world.row(TOMORROW)
    second = world.run(NEXT_RUN)
    third = world.run(NEXT_RUN + timedelta(minutes=20))
    # THEN the first run reports the outcome unknown and keeps its claim (no blind resend)
    assert [(s.to, s.status) for s in first.sms if s.to == TOMORROW.phone] == [(TOMORROW.phone, "unknown")]
    assert held["confirm_sms"] == {"BOOL": False}
    assert held["confirm_sms_claim_run"] == {"S": first.run_id}
    # AND after the lease the next run found it through SENS's look-up and set the flag without resending
    assert [(s.to, s.status) for s in second.sms] == [(TOMORROW.phone, "reconciled")]
    assert third.sms == []
    stalled = world.channels.sens.messages[0]
    assert stalled.to == TOMORROW.phone
    assert world.row(TOMORROW)["confirm_sms"] == {"BOOL": True}
    assert world.row(TOMORROW)["confirm_sms_request_id"] == {"S": stalled.request_id}
    # AND across the three runs SENS sent each SMS exactly once
    assert Counter(world.sms_at_sens()) == Counter(
        [
            (TOMORROW.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
            (SOON.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
            (SOON.phone, "0510000000", "LMS", "예시스튜디오 안내", GUIDE_BUSAN),
            (LATER.phone, "0200000000", "LMS", "예시스튜디오 안내", CONFIRMATION),
        ]
    )
    assert set(Counter(world.sms_at_sens()).values()) == {1}
