"""The SENS look-up never takes another message for this one: one customer's two bookings get the same
confirmation text, and a send with no answer must not be settled by the other booking's SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from naver_sms.errors import DeliveryUnavailable, OutcomeUnknown
from naver_sms.notifications.sms_service import SensClient
from naver_sms.ports import SmsMessage
from tests.notifications.conftest import RECIPIENT, SENDER
from tests.standins.sens import SensStandIn

pytestmark = pytest.mark.integration

Sens = tuple[SensStandIn, str]
MakeClient = Callable[..., SensClient]
SAME_TEXT = SmsMessage(
    to=RECIPIENT,
    sender=SENDER,
    type="LMS",
    subject="예시스튜디오 안내",
    content="[예시스튜디오] 예약이 확정되었습니다.",
)
WINDOW = {"since": datetime.now(UTC) - timedelta(hours=1), "until": datetime.now(UTC) + timedelta(hours=1)}


def test_a_lost_send_is_not_settled_by_the_same_text_sent_a_moment_before(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN booking 1's confirmation accepted, then booking 2's (same phone, same text) lost before SENS got it
    standin, _ = sens_server
    client = make_sens_client(timeout=0.3)
    first = client.send(SAME_TEXT)
    standin.stall_next(seconds=10)
    # WHEN booking 2's send gets no answer, THEN its look-up does not take booking 1's message for it
    with pytest.raises(OutcomeUnknown):
        client.send(SAME_TEXT)
    assert [m.request_id for m in standin.messages] == [first.request_id]


def test_a_look_up_skips_requests_known_to_be_other_messages(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN a message accepted by another process (its request id is on the other booking's row)
    other = make_sens_client().send(SAME_TEXT)
    # WHEN a fresh client looks for this booking's message, excluding what the rows already account for
    found = make_sens_client().find_sent(SAME_TEXT, exclude={str(other.request_id)}, **WINDOW)
    # THEN nothing matches: this booking's SMS was never sent
    assert found is None


def test_two_requests_that_could_both_be_this_message_are_reported_as_undecidable(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN two identical messages accepted, neither known to this client
    sender = make_sens_client()
    sender.send(SAME_TEXT)
    sender.send(SAME_TEXT)
    # WHEN a fresh client looks one up, THEN it says it cannot tell instead of picking one
    with pytest.raises(DeliveryUnavailable, match="cannot tell"):
        make_sens_client().find_sent(SAME_TEXT, **WINDOW)


def test_without_the_text_a_single_candidate_is_taken_but_two_are_undecidable(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS results that do not show the text (unconfirmed either way)
    standin, _ = sens_server
    standin.hide_text = True
    guide = SmsMessage(
        to=RECIPIENT, sender=SENDER, type="LMS", subject="예시스튜디오 안내", content="오늘 촬영 안내"
    )
    make_sens_client().send(SAME_TEXT)
    # WHEN looking for the confirmation with one candidate THEN it is found
    assert make_sens_client().find_sent(SAME_TEXT, **WINDOW) is not None
    # AND with a guide to the same number from the same sender, it cannot tell which is which
    make_sens_client().send(guide)
    with pytest.raises(DeliveryUnavailable, match="does not show their text"):
        make_sens_client().find_sent(SAME_TEXT, **WINDOW)


def test_a_message_not_listed_yet_is_outcome_unknown_not_a_resend(
    sens_server: Sens, make_sens_client: MakeClient
) -> None:
    # GIVEN SENS accepting a message, answering nothing, and listing it only a minute later
    standin, _ = sens_server
    standin.list_lag = timedelta(minutes=1)
    standin.accept_then_stall(seconds=10)
    # WHEN the client sends THEN its look-ups find nothing yet: outcome unknown, one SMS at SENS
    with pytest.raises(OutcomeUnknown):
        make_sens_client(timeout=0.3).send(SAME_TEXT)
    assert len(standin.messages) == 1
    # AND once it is listed, a later look-up finds it
    standin.list_lag = timedelta(0)
    assert make_sens_client().find_sent(SAME_TEXT, **WINDOW) is not None
