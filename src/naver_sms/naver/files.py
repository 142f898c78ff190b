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


class BookingFileError(BookingError):
    """A whole bookings file that cannot be read: reported (named, with the reason), the others go on."""

    def _render(self) -> str:
        return f"file {self.file}: {self.reason}"


def _read(file: Path) -> Any:
    """The JSON value of one file; whatever the file holds, the only error is a `BookingFileError`."""

    def bad(reason: str) -> BookingFileError:
        return BookingFileError(reason, file=file.name)

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise bad(f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise bad(f"not UTF-8: the byte 0x{data[exc.start]:02x} at line {line} cannot be read") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # the decoder recurses per level: no booking object is nested that deep
        raise bad("nested too deeply to read: a bookings file is a JSON array of booking objects") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise bad(f"not JSON this source can read: {exc}") from None


class JsonFileSource:
    """Reads bookings exactly as the partner API returns them. Bookings of stores not in `stores` are
    ignored (as the live source never asks for them); malformed ones are skipped and reported, naming
    their file; a file that cannot be read is reported as a whole, and the other files are read."""

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
            result.parts += 1
            try:
                data = _read(file)
            except BookingFileError as exc:
                result.skipped.append(exc)
                result.parts_lost += 1
                continue
            if not isinstance(data, list):
                result.skipped.append(
                    BookingFileError(
                        f"expected a JSON array of bookings, got a JSON {_json_kind(data)}", file=file.name
                    )
                )
                result.parts_lost += 1
                continue
            read = 0
            for obj in data:
                try:
                    booking = Booking.from_naver(obj)
                except BookingError as exc:
                    result.skipped.append(exc.in_file(file.name))
                    continue
                read += 1
                if booking.store_id in wanted and booking.booking_num not in seen:
                    seen.add(booking.booking_num)
                    result.bookings.append(booking)
            if data and not read:  # bookings were there, and not one could be read
                result.parts_lost += 1
        return result


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"
