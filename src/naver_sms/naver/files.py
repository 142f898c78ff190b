"""The sandbox booking source: Naver-format JSON (a file holding a JSON array, or a directory of them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from naver_sms.domain.booking import Booking, BookingError, Store
from naver_sms.errors import BookingSourceError
from naver_sms.ports import FetchResult

__all__ = ["JsonFileSource"]


class JsonFileSource:
    """Reads bookings exactly as the partner API returns them. Bookings of stores not in `stores` are
    ignored (as the live source never asks for them); malformed ones are skipped and reported."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.description = f"files: {self.path}"

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.iterdir() if p.suffix == ".json")
        if self.path.is_file():
            return [self.path]
        raise BookingSourceError(f"no such bookings file or directory: {self.path}")

    def fetch(self, stores: Sequence[Store], now: datetime) -> FetchResult:
        wanted = {s.id for s in stores}
        result = FetchResult()
        seen: set[str] = set()
        for file in self._files():
            try:
                data: Any = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                result.skipped.append(BookingError(f"{file.name}: not readable JSON: {exc}"))
                continue
            if not isinstance(data, list):
                result.skipped.append(BookingError(f"{file.name}: expected a JSON array of bookings"))
                continue
            for obj in data:
                try:
                    booking = Booking.from_naver(obj)
                except BookingError as exc:
                    result.skipped.append(exc)
                    continue
                if booking.store_id in wanted and booking.booking_num not in seen:
                    seen.add(booking.booking_num)
                    result.bookings.append(booking)
        return result
