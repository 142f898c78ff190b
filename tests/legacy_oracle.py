"""An independent, literal re-implementation of the legacy job's decisions (legacy-behaviour.md §2-§6).

It shares no code with `naver_sms`: it reads the raw Naver booking objects, the YAML configuration (with
PyYAML, not the project's loader) and a plain dict standing in for the DynamoDB table `sms`, and it does
what the legacy Lambda did, in the legacy order - write the flag, then "send". The parity tests run it next
to the real runner on the same bookings, table and clock, and compare what each sent and left behind.

The only places where it follows the project rather than the legacy code are the ones the spec itself
fixes (legacy-behaviour.md §2 and §7): the phone key of numbers that are not 11 digits long, decisions in
Asia/Seoul instead of the host clock, and a malformed booking being skipped instead of crashing the run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

KST = ZoneInfo("Asia/Seoul")

#: The legacy attributes of a row of the `sms` table (legacy-behaviour.md §3).
LEGACY_ATTRIBUTES = (
    "booking_num",
    "phone",
    "name",
    "booking_time",
    "confirm_sms",
    "remind_sms",
    "option_sms",
    "option_time",
)

#: §6: the word of each kind in the Telegram summary line.
SUMMARY_LABEL = {"confirmation": "예약확정", "guide": "안내", "event": "옵션"}
NOTHING_TO_SEND = "문자 발송 대상 없음"

Key = tuple[str, str]


@dataclass(frozen=True)
class LegacyConfig:
    """What the legacy job had hard-coded: senders, subject, keywords and the three kinds of text."""

    default_sender: str
    subject: str
    option_keywords: tuple[str, ...]
    store_ids: tuple[str, ...]
    store_sender: Mapping[str, str]  # stores with their own number only
    guide_text: Mapping[str, str]  # store id -> its guide
    confirmation_text: str
    event_text: str

    @classmethod
    def load(cls, config_dir: Path) -> LegacyConfig:
        stores_doc = yaml.safe_load((config_dir / "stores.yaml").read_text(encoding="utf-8"))
        texts = yaml.safe_load((config_dir / "templates.yaml").read_text(encoding="utf-8"))["sms"]
        stores = stores_doc["stores"]
        return cls(
            default_sender=str(stores_doc["default_sender"]),
            subject=str(stores_doc["subject"]),
            option_keywords=tuple(stores_doc["option_keywords"]),
            store_ids=tuple(str(s["id"]) for s in stores),
            store_sender={str(s["id"]): str(s["sender"]) for s in stores if s.get("sender")},
            guide_text={str(s["id"]): texts[s["templates"]["guide"]]["text"] for s in stores},
            confirmation_text=texts["confirmation"]["text"],
            event_text=texts["event"]["text"],
        )


@dataclass(frozen=True)
class LegacyBooking:
    """§2, field by field."""

    booking_num: str
    phone: str  # hyphenated: the sort key
    digits: str
    name: str
    store_id: str
    status: str
    reserve_at: datetime  # naive Korean wall-clock time, as the legacy job computed it (UTC + 9 h)
    option: bool


@dataclass(frozen=True)
class LegacySms:
    """One SMS as the legacy job posted it to SENS (§5)."""

    booking_num: str
    kind: str  # confirmation | guide | event
    to: str
    sender: str
    type: str
    subject: str
    content: str
    content_type: str = "COMM"

    @property
    def wire(self) -> tuple[str, str, str, str, str]:
        """What the parity compares: recipient, sender, type, subject, content."""
        return (self.to, self.sender, self.type, self.subject, self.content)


@dataclass
class LegacyRun:
    sms: list[LegacySms] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """§6: the result lines joined by newlines, or "nothing to send"."""
        return "\n".join(self.lines) if self.lines else NOTHING_TO_SEND


def phone_key(digits: str) -> str:
    """§2: 3-4-rest for 11-digit numbers (the legacy key). The legacy split of other lengths was wrong and
    the spec lets the project pick a correct, stable form: Seoul `02` numbers 2-(3|4)-4, other 10-digit
    numbers 3-3-4 (the project's documented choice), anything else unsplit."""
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith("02") and len(digits) in (9, 10):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    if len(digits) == 10:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits


def map_booking(raw: Mapping[str, Any], keywords: Iterable[str]) -> LegacyBooking:
    """§2. Raises KeyError/ValueError on a malformed object (the caller skips it)."""
    digits = re.sub(r"\D", "", str(raw["phone"]))
    if not digits:
        raise ValueError("no phone")
    start = datetime.strptime(raw["snapshotJson"]["startDateTime"][:19], "%Y-%m-%dT%H:%M:%S")
    reserve_at = (start + timedelta(hours=9)).replace(second=0)
    names = [o["name"] for o in raw.get("bookingOptionJson") or []]
    return LegacyBooking(
        booking_num=f"{raw['businessId']}_{raw['bookingId']}",
        phone=phone_key(digits),
        digits=digits,
        name=str(raw.get("name") or ""),
        store_id=str(raw["businessId"]),
        status=str(raw["bookingStatusCode"]),
        reserve_at=reserve_at,
        option=any(k in n for n in names for k in keywords),
    )


def legacy_row(
    booking: LegacyBooking, *, confirm_sms: bool, remind_sms: bool, option_sms: bool = False
) -> dict[str, Any]:
    """A row of the `sms` table with only the legacy attributes (§3)."""
    return {
        "booking_num": booking.booking_num,
        "phone": booking.phone,
        "name": booking.name,
        "booking_time": booking.reserve_at.strftime("%Y-%m-%d %H:%M:%S"),
        "confirm_sms": confirm_sms,
        "remind_sms": remind_sms,
        "option_sms": option_sms,
        "option_time": "",
    }


class LegacyJob:
    """The legacy decisions over a dict `table`: {(booking_num, phone): row}."""

    def __init__(self, config: LegacyConfig) -> None:
        self.config = config
        self.table: dict[Key, dict[str, Any]] = {}

    def seed(self, booking: LegacyBooking, **flags: bool) -> dict[str, Any]:
        row = legacy_row(booking, **flags)
        self.table[(booking.booking_num, booking.phone)] = row
        return row

    def map(self, raw: Mapping[str, Any]) -> LegacyBooking:
        return map_booking(raw, self.config.option_keywords)

    # §5
    def _sms(self, booking: LegacyBooking, kind: str) -> LegacySms:
        cfg = self.config
        if kind == "confirmation":
            sender, content = cfg.default_sender, cfg.confirmation_text
        elif kind == "guide":
            sender = cfg.store_sender.get(booking.store_id, cfg.default_sender)
            content = cfg.guide_text[booking.store_id]
        else:
            sender, content = cfg.default_sender, cfg.event_text
        return LegacySms(booking.booking_num, kind, booking.digits, sender, "LMS", cfg.subject, content)

    def _send(self, run: LegacyRun, booking: LegacyBooking, kind: str) -> None:
        run.sms.append(self._sms(booking, kind))
        run.lines.append(f"{booking.phone} {SUMMARY_LABEL[kind]} 문자 발송 완료")

    def run(self, raws: Iterable[Mapping[str, Any]], now: datetime) -> LegacyRun:
        """One run at `now` (aware; taken as Korean wall-clock time) over the fetched booking objects, in
        the order they were fetched. §1: the legacy job fetched the confirmed bookings and decided them all
        (§3), then the completed ones (§4) - so every confirmation and guide comes before any event."""
        wall = now.astimezone(KST).replace(tzinfo=None, second=0, microsecond=0)
        run = LegacyRun()
        mapped = []
        for raw in raws:
            try:
                booking = self.map(raw)
            except (KeyError, ValueError, TypeError):
                continue
            if booking.store_id in self.config.store_ids:
                mapped.append(booking)
        for booking in mapped:
            if booking.status == "RC03":
                self._confirmed(run, booking, wall)
        for booking in mapped:
            if booking.status == "RC08":
                self._completed(run, booking, wall)
        return run

    def _confirmed(self, run: LegacyRun, booking: LegacyBooking, now: datetime) -> None:
        """§3."""
        key = (booking.booking_num, booking.phone)
        row = self.table.get(key)
        two_hours = timedelta(hours=2)
        if row is None:
            w = booking.reserve_at - two_hours <= now < booking.reserve_at
            self.table[key] = legacy_row(booking, confirm_sms=True, remind_sms=w)
            self._send(run, booking, "confirmation")
            if w:
                self._send(run, booking, "guide")
            return
        if row["remind_sms"] is False and now < booking.reserve_at and booking.reserve_at - now < two_hours:
            if row["confirm_sms"] is False:
                row["confirm_sms"] = True
                self._send(run, booking, "confirmation")
            row["remind_sms"] = True
            self._send(run, booking, "guide")

    def _completed(self, run: LegacyRun, booking: LegacyBooking, now: datetime) -> None:
        """§4."""
        if now.hour != 20:
            return
        row = self.table.get((booking.booking_num, booking.phone))
        if row is None:
            return
        if row["option_sms"] is False and booking.option:
            row["option_sms"] = True
            self._send(run, booking, "event")
