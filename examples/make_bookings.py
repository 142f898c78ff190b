"""Regenerate the synthetic sandbox bookings in examples/bookings/ (Naver partner API format).

    .venv/bin/python examples/make_bookings.py

The set is laid out around the README's clock, 2026-11-26 18:40 Korean time, and covers every legacy case
(docs/rules/rules-config.md, "The legacy job"): new bookings (tomorrow, inside the two-hour window, exactly two hours ahead,
already started), completed bookings with and without option keywords, cancelled and requested bookings,
a 10-digit phone number, and one malformed booking that is skipped and reported. All names and numbers are
synthetic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

KST = timezone(timedelta(hours=9))
OUT = Path(__file__).parent / "bookings"
EARLIER = Path(__file__).parent / "bookings-earlier"

NAMES = ["홍길동", "김철수", "이영희", "박민수", "최지우", "정하늘", "강바다", "조은별", "윤서준", "장미래"]


def booking(
    n: int,
    store: int,
    status: str,
    start_kst: datetime,
    *,
    options: list[tuple[str, int]],
    minutes: int = 50,
    phone: str | None = None,
) -> dict[str, Any]:
    start = start_kst.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    opts = [
        {
            "optionId": 100 + i,
            "name": name,
            "price": 0 if i else 30000,
            "bookingCount": count,
            "categoryTypeCode": "REQUIRED" if i == 0 else "CUSTOM",
        }
        for i, (name, count) in enumerate(options)
    ]
    name = NAMES[n % len(NAMES)]
    phone = phone or f"010000{n:05d}"
    return {
        "bookingId": 900000000 + n,
        "businessId": 1000000 + store,
        "businessName": f"Example Studio {store}",
        "bizItemId": 7000000 + store,
        "bizItemType": "STANDARD",
        "bizItemName": f"{minutes}min / 1-4 persons",
        "bookingStatusCode": status,
        "name": name,
        "phone": phone,
        "email": f"customer{n}@example.com",
        "startDate": start_kst.strftime("%Y-%m-%d"),
        "bookingCount": 1,
        "price": 30000,
        "regDateTime": (start_kst - timedelta(days=3)).isoformat(),
        "confirmedDateTime": (start_kst - timedelta(days=3, minutes=-2)).isoformat(),
        "isCompleted": status == "RC08",
        "snapshotJson": {
            "bookingId": 900000000 + n,
            "businessId": 1000000 + store,
            "bizItemName": f"{minutes}min / 1-4 persons",
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "globalTimezone": "Asia/Seoul",
            "name": name,
            "phone": phone,
            "bookingOptionJson": opts,
            "couponJson": [{"couponName": "알림받기 쿠폰", "couponType": "GIFT"}] if n % 4 == 0 else [],
        },
        "bookingOptionJson": opts,
    }


def main() -> None:
    day = datetime(2026, 11, 26, tzinfo=KST)
    base = [("50분 촬영", 1)]
    confirmed = [
        booking(1, 1, "RC03", day + timedelta(days=1, hours=14), options=base),  # tomorrow: confirmation
        booking(2, 2, "RC03", day + timedelta(hours=20), options=base),  # 80 min ahead: confirmation + guide
        booking(3, 3, "RC03", day + timedelta(hours=20, minutes=40), options=base),  # exactly 2 h: + guide
        booking(4, 4, "RC03", day + timedelta(hours=15), options=base),  # already started: confirmation only
        booking(5, 5, "RC03", day + timedelta(days=2, hours=11), options=[*base, ("원본 파일 추가", 1)]),
        booking(6, 6, "RC03", day + timedelta(hours=19, minutes=30), options=base, phone="0311234567"),
        booking(
            7,
            7,
            "RC03",
            day + timedelta(days=5, hours=10),
            options=[*base, ("전문가 보정", 2), ("추가 인화", 1)],
        ),
        booking(8, 8, "RC03", day + timedelta(hours=21), options=base),  # 2 h 20 ahead: not yet
    ]
    completed = [
        booking(11, 1, "RC08", day + timedelta(hours=11), options=[*base, ("인스타 팔로우 이벤트", 1)]),
        booking(
            12,
            2,
            "RC08",
            day + timedelta(hours=13),
            options=[*base, ("무료 인화지 (네이버 포토리뷰 약속 시)", 1)],
        ),
        booking(13, 3, "RC08", day + timedelta(hours=10), options=base),  # no keyword: never the event SMS
        booking(14, 4, "RC08", day - timedelta(days=1, hours=-15), options=[*base, ("원본 전체", 1)]),
    ]
    other = [
        booking(21, 1, "RC02", day + timedelta(days=1, hours=16), options=base),  # waiting for confirmation
        booking(22, 2, "RC04", day + timedelta(days=1, hours=17), options=base),  # cancelled
    ]
    malformed = booking(31, 3, "RC03", day + timedelta(days=1, hours=12), options=base)
    del malformed["phone"], malformed["snapshotJson"]["phone"]
    OUT.mkdir(exist_ok=True)
    files = {"confirmed.json": confirmed, "completed.json": completed, "other.json": [*other, malformed]}
    for name, items in files.items():
        (OUT / name).write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"{OUT / name}: {len(items)} bookings")
    # The completed bookings as they were while still confirmed: a run over these first gives them their rows,
    # so that the review ("event") SMS can be seen at 20 o'clock (the event SMS needs a row: docs/rules/rules-config.md).
    before = [{**b, "bookingStatusCode": "RC03", "isCompleted": False} for b in completed]
    EARLIER.mkdir(exist_ok=True)
    (EARLIER / "confirmed.json").write_text(
        json.dumps(before, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"{EARLIER / 'confirmed.json'}: {len(before)} bookings")


if __name__ == "__main__":
    main()
