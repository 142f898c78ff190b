"""The CLI's writers never fail on text their stream cannot encode (issue 9, item 4)."""

from __future__ import annotations

import io
import json

from naver_sms.cli.common import SafeConsole, json_text, write_json

PAYLOAD = {"source": "files: /tmp/b\udcff", "text": "예약 확정", "id": "\ud800"}


def strict_stream(encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", write_through=True)


def written(stream: io.TextIOWrapper) -> bytes:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue()


def test_json_keeps_korean_readable_and_writes_lone_surrogates_as_escapes_that_read_back() -> None:
    text = json_text(PAYLOAD)
    assert "예약 확정" in text and "\\udcff" in text and "\\ud800" in text
    text.encode("utf-8")
    assert json.loads(text) == PAYLOAD


def test_json_on_a_utf8_stream_is_utf8() -> None:
    stream = strict_stream("utf-8")
    write_json(PAYLOAD, stream)
    assert json.loads(written(stream).decode("utf-8")) == PAYLOAD


def test_json_on_a_stream_that_cannot_carry_korean_falls_back_to_ascii_escapes() -> None:
    stream = strict_stream("ascii")
    write_json(PAYLOAD, stream)
    out = written(stream)
    assert out.count(b"\n") == 1  # one object, written once
    assert json.loads(out.decode("ascii")) == PAYLOAD


def test_the_console_writes_what_its_stream_cannot_encode_as_escapes() -> None:
    for encoding in ("utf-8", "ascii"):
        stream = strict_stream(encoding)
        console = SafeConsole(file=stream, width=80)
        console.print("to b\udcff: 예약", highlight=False, markup=False)
        out = written(stream).decode(encoding)
        assert "b\\udcff" in out
        assert ("예약" if encoding == "utf-8" else "\\uc608\\uc57d") in out


def test_text_that_is_not_valid_markup_is_printed_as_it_is_in_lines_and_tables() -> None:
    from rich.table import Table

    stream = strict_stream("utf-8")
    console = SafeConsole(file=stream, width=80)
    console.print("status [/] of booking 1")  # a MarkupError in a plain rich Console
    table = Table()
    table.add_column("status")
    table.add_row("[/]")
    console.print(table)
    out = written(stream).decode("utf-8")
    assert "status [/] of booking 1" in out
    assert "│ [/]" in out
