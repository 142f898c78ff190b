"""What the CLI prints can always be printed (issue 9, item 4: a report must never be lost after a run acted).

A report can carry text its stream cannot encode: a lone surrogate from a file or directory name that is not
UTF-8 (the file system hands such names over with surrogates), or a character outside a terminal's
encoding. Python's stdout refuses it with `UnicodeEncodeError` - after the run has acted.

- `write_json` prints one JSON object as UTF-8 text, each lone surrogate as its JSON escape (`\\udcff`):
  valid JSON that `json.loads` reads back to the same string; where even that cannot be encoded, the
  whole object is written in ASCII escapes (`ensure_ascii`).
- `SafeConsole` is a rich `Console` whose writes fall back to backslash escapes for what the stream's
  encoding cannot carry, instead of raising; and a text that is not valid rich markup (data such as a
  booking id `[/]` inside a styled line) is printed as plain text instead of raising `MarkupError`.
  Lines that carry data escape it (`rich.markup.escape`), so it is shown as written, not styled.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any, TextIO, cast

from rich.console import Console
from rich.errors import MarkupError
from rich.text import Text

from naver_sms.domain.text import printable

__all__ = ["SafeConsole", "json_text", "write_json"]


def json_text(payload: Any) -> str:
    """`payload` as one line of JSON, non-ASCII kept readable, lone surrogates as `\\uXXXX` escapes."""
    # json.dumps writes a surrogate as itself only inside a string: there its escape is the same value
    return printable(json.dumps(payload, ensure_ascii=False))


def write_json(payload: Any, stream: TextIO | None = None) -> None:
    """Print `payload` as one JSON line on `stream` (stdout by default); never fails on its text."""
    out = stream if stream is not None else sys.stdout
    try:
        out.write(json_text(payload) + "\n")  # encoded whole before anything is written
    except UnicodeEncodeError:  # a stream that cannot carry e.g. Korean: ASCII escapes, the same JSON
        out.write(json.dumps(payload, ensure_ascii=True) + "\n")


class _Encodable:
    """A text stream that writes what its encoding cannot carry as backslash escapes instead of raising;
    everything else (isatty, fileno, encoding, flush) is the stream's own."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(self._stream, "encoding", None) or "utf-8"
            return self._stream.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class SafeConsole(Console):
    """A rich `Console` (same options) that never fails on text its stream cannot encode. The stream is
    looked up at each write, as rich does (so tests that swap sys.stdout still see the output)."""

    @property
    def file(self) -> IO[str]:
        return cast(IO[str], _Encodable(super().file))

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        self._file = new_file

    def render_str(self, text: str, **options: Any) -> Text:
        try:
            return super().render_str(text, **options)
        except MarkupError:  # data that looks like markup and is not: show the text as it is
            return super().render_str(text, **{**options, "markup": False})
