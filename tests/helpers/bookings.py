"""Naver-format booking objects (the partner API's shape, external-apis.md §1) and files of them.

All names, numbers and ids are synthetic. `start` is Korean wall-clock time; the object carries it the way
Naver does, as UTC in `snapshotJson.startDateTime`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

#: the option every booking has (no keyword in it)
BASE_OPTION = ("50분 촬영", 1)

NAMES = ("홍길동", "김철수", "이영희", "박민수", "최지우", "정하늘", "강바다", "조은별", "윤서준", "장미래")


def kst(text: str) -> datetime:
    """`"2026-11-26 18:40"` -> an aware datetime in Asia/Seoul."""
    return datetime.fromisoformat(text).replace(tzinfo=KST)


def naver_booking(
    booking_id: int,
    *,
    store_id: int | str = 1000001,
    status: str = "RC03",
    start: datetime | str = "2026-11-26 20:00",
    name: str | None = None,
    phone: str | None = None,
    options: Sequence[tuple[str, int]] = (BASE_OPTION,),
    minutes: int = 50,
) -> dict[str, Any]:
    """One booking object as the partner API returns it."""
    start_kst = kst(start) if isinstance(start, str) else start.astimezone(KST)
    utc = start_kst.astimezone(UTC)
    name = name if name is not None else NAMES[booking_id % len(NAMES)]
    phone = phone if phone is not None else f"010{booking_id % 100_000_000:08d}"
    opts = [
        {"optionId": 100 + i, "name": n, "price": 0, "bookingCount": c, "categoryTypeCode": "CUSTOM"}
        for i, (n, c) in enumerate(options)
    ]
    return {
        "bookingId": booking_id,
        "businessId": int(store_id),
        "businessName": f"Example Studio {store_id}",
        "bizItemName": f"{minutes}min / 1-4 persons",
        "bookingStatusCode": status,
        "name": name,
        "phone": phone,
        "email": f"customer{booking_id}@example.com",
        "startDate": start_kst.strftime("%Y-%m-%d"),
        "regDateTime": (start_kst - timedelta(days=2)).isoformat(),
        "isCompleted": status == "RC08",
        "snapshotJson": {
            "bookingId": booking_id,
            "businessId": int(store_id),
            "startDateTime": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": (utc + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "globalTimezone": "Asia/Seoul",
            "bookingOptionJson": opts,
            "couponJson": [],
        },
        "bookingOptionJson": opts,
    }


def write_bookings(path: Path, bookings: Iterable[dict[str, Any]]) -> Path:
    """Write bookings as one JSON array file (what `--bookings PATH` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(bookings), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def many_bookings(count: int, *, start: datetime | str, first_id: int = 950_000_000) -> list[dict[str, Any]]:
    """`count` confirmed bookings spread over the eight example stores, starting every 10 minutes from
    `start`: a bigger synthetic set for concurrency and throughput tests."""
    base = kst(start) if isinstance(start, str) else start
    return [
        naver_booking(
            first_id + i,
            store_id=1000001 + i % 8,
            start=base + timedelta(minutes=10 * i),
            phone=f"0109{i:07d}",
        )
        for i in range(count)
    ]


#: The guide template of each example store (config/stores.yaml).
GUIDE_OF_STORE = {
    f"100000{n}": f"guide_{name}"
    for n, name in enumerate(
        ("gangnam", "busan", "hongdae", "jamsil", "suwon", "incheon", "daegu", "seongsu"), start=1
    )
}


def racing_bookings(count: int, *, now: str, first_id: int, phone_prefix: str) -> list[dict[str, Any]]:
    """Bookings for concurrent-run tests: even ones start within two hours of `now` (confirmation + guide),
    odd ones tomorrow (confirmation only), spread over the eight example stores. Synthetic numbers."""
    at = kst(now)
    return [
        naver_booking(
            first_id + i,
            store_id=1000001 + i % 8,
            start=at
            + (timedelta(minutes=30 + 10 * (i % 9)) if i % 2 == 0 else timedelta(days=1, hours=i % 8)),
            phone=f"{phone_prefix}{i:07d}",
        )
        for i in range(count)
    ]


def expected_sends(raws: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(booking_num, template) of every SMS the default rules send once for `racing_bookings`."""
    sends: Counter[tuple[str, str]] = Counter()
    for i, raw in enumerate(raws):
        num = f"{raw['businessId']}_{raw['bookingId']}"
        sends[(num, "confirmation")] += 1
        if i % 2 == 0:
            sends[(num, GUIDE_OF_STORE[str(raw["businessId"])])] += 1
    return sends
