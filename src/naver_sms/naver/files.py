"""The sandbox booking source: Naver-format JSON (a file holding a JSON array, or a directory of them)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from naver_sms.domain.booking import BookingError, Store
from naver_sms.errors import BookingSourceError
from naver_sms.json_codec import loads
from naver_sms.naver.wire import map_object, read_page
from naver_sms.ports import FetchResult, merged

#: bookings mapped and handed on at a time: a run decides them and lets them go before the next ones
BATCH = 500


class BookingFileError(BookingError):
    """A whole bookings file that cannot be read: reported (named, with the reason), the others go on."""

    def _render(self) -> str:
        return f"file {self.file}: {self.reason}"


def _read(file: Path) -> Any:
    """The JSON value of one file (its booking objects as `WireBooking`s when it reads that way: they map as
    the JSON objects would); whatever the file holds, the only error is a `BookingFileError`."""

    def bad(reason: str) -> BookingFileError:
        return BookingFileError(reason, file=file.name)

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise bad(f"cannot be read: {exc.strerror or exc}") from None
    wire = read_page(data)  # the common case: an array of booking objects, read into structs (naver.wire)
    if wire is not None:
        return wire
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise bad(f"not UTF-8: the byte 0x{data[exc.start]:02x} at line {line} cannot be read") from None
    try:
        return loads(text)
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
        return merged(self.fetch_batches(stores, now))

    def fetch_batches(self, stores: Sequence[Store], now: datetime) -> Iterator[FetchResult]:
        """One file at a time, in parts of `BATCH` bookings: a file's parsed JSON is let go as it is mapped,
        so a run holds one file's objects at most (give a large export as several files). A file counts as
        one of the source's `parts` (on its first part), lost when not one of its bookings could be read."""
        wanted = {s.id for s in stores}
        seen: set[str] = set()
        for file in self._files():
            part = FetchResult(parts=1)
            try:
                data = _read(file)
            except BookingFileError as exc:
                part.skipped.append(exc)
                part.parts_lost = 1
                yield part
                continue
            if not isinstance(data, list):
                part.skipped.append(
                    BookingFileError(
                        f"expected a JSON array of bookings, got a JSON {_json_kind(data)}", file=file.name
                    )
                )
                part.parts_lost = 1
                yield part
                continue
            had, read = bool(data), 0
            data.reverse()  # popped from the end: each object is let go once mapped
            while data:
                obj = data.pop()
                try:
                    booking = map_object(obj)
                except BookingError as exc:
                    part.skipped.append(exc.in_file(file.name))
                    continue
                read += 1
                if booking.store_id in wanted and booking.booking_num not in seen:
                    seen.add(booking.booking_num)
                    part.bookings.append(booking)
                    if len(part.bookings) >= BATCH:
                        yield part
                        part = FetchResult()
            if had and not read:  # bookings were there, and not one could be read
                part.parts_lost += 1
            yield part


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"
