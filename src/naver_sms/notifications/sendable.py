"""What SENS accepts, checked before any request (external-apis.md §2): the sandbox outbox refuses the same
texts the live client would, so a rehearsal never hides a too-long message. No HTTP here."""

from __future__ import annotations

from dataclasses import replace

from naver_sms.domain.sms_text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    choose_type,
    euc_kr_length,
)
from naver_sms.errors import DeliveryRejected, MessageTooLong
from naver_sms.ports import SmsMessage

__all__ = ["CHANNEL", "CONTENT_TYPES", "SENS_TYPES", "check_sendable", "resolve_type"]

CHANNEL = "sens"
SENS_TYPES = ("SMS", "LMS", "MMS")
CONTENT_TYPES = ("COMM", "AD")


def resolve_type(message: SmsMessage) -> SmsMessage:
    """A template's `type: auto` becomes SMS when the content fits in 90 EUC-KR bytes, LMS otherwise."""
    if message.type.strip().lower() == "auto":
        return replace(message, type=choose_type(message.content))
    return message


def check_sendable(message: SmsMessage) -> None:
    """Refuse, before any request, what SENS would refuse or - worse - silently truncate.

    Raises `MessageTooLong` (content over 90 bytes for SMS / 2000 for LMS and MMS, subject over 40 bytes,
    counted in EUC-KR) or `DeliveryRejected` (unknown type, empty content, a number that is not digits)."""
    if message.type not in SENS_TYPES:
        raise DeliveryRejected(f"unknown SMS type {message.type!r} (SMS, LMS, MMS or auto)", channel=CHANNEL)
    if message.content_type not in CONTENT_TYPES:
        raise DeliveryRejected(f"unknown contentType {message.content_type!r} (COMM or AD)", channel=CHANNEL)
    if not message.to.isdigit() or not message.to.isascii():
        raise DeliveryRejected("the recipient must be digits only", channel=CHANNEL)
    if not message.sender.isdigit() or not message.sender.isascii():
        raise DeliveryRejected("the sender number must be digits only", channel=CHANNEL)
    if not message.content:
        raise DeliveryRejected("the content is empty", channel=CHANNEL)
    limit = SMS_MAX_BYTES if message.type == "SMS" else LMS_MAX_BYTES
    size = euc_kr_length(message.content)
    if size > limit:
        raise MessageTooLong(
            f"{message.type} content is {size} bytes in EUC-KR, over the limit of {limit} "
            "(SENS would truncate it)",
            channel=CHANNEL,
        )
    if message.type != "SMS":
        subject_size = euc_kr_length(message.subject)
        if subject_size > SUBJECT_MAX_BYTES:
            raise MessageTooLong(
                f"subject is {subject_size} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}",
                channel=CHANNEL,
            )
