"""Naver's booking status codes (docs/naver.md) and the row attributes that record a booking's changes.

RC03 (confirmed) and RC08 (completed) are what the legacy job fetched and what every run fetches; RC02
(requested, waiting for the store to confirm) and RC04 (cancelled) are fetched only when a rule asks about
them (docs/rules/conditions.md, "Cancellations, requests and changes"). Other codes are kept as data.
"""

from __future__ import annotations

REQUESTED = "RC02"  # 예약 신청: waiting for the store to confirm
CONFIRMED = "RC03"  # 예약 확정
CANCELLED = "RC04"  # 예약 취소
COMPLETED = "RC08"  # 이용 완료

#: the statuses fetched only for the rules that ask about them - and seen only by those rules
ON_DEMAND = (REQUESTED, CANCELLED)

# Attributes added to a booking's row (the legacy attributes keep their names and meaning: docs/database.md).
#: the row was made while the booking was only requested (RC02): it holds a rule's flags, nothing else
NOTED_AS = "noted_as"
#: the start time the row had before a reschedule was recorded (`booking_time` holds the new one) ...
RESCHEDULED_FROM = "rescheduled_from"
#: ... and when the change was recorded (ISO 8601, real time)
RESCHEDULED_AT = "rescheduled_at"
