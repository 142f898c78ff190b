"""The opt-out list of the configuration: `opt-out.txt` beside the rules, one phone number a line.

Numbers that refused advertising (무료수신거부) get no SMS of `contentType: AD` (docs/rules/actions.md,
"Advertising"). Any way of writing a Korean number is accepted (`010-1234-5678`, `+82 10 1234 5678`); `#`
starts a comment; blank lines are ignored. A line that is not a Korean number is a configuration error
naming its line - never the number itself, which is personal data.
"""

from __future__ import annotations

from pathlib import Path

from naver_sms.domain.phone import PhoneError, national_number
from naver_sms.errors import ConfigError, ConfigErrors

OPT_OUT_FILE = "opt-out.txt"


def read_opt_out(path: Path) -> frozenset[str]:
    """The national digits of every number of the file. Raises `ConfigErrors` naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the opt-out list cannot be read: {exc}", file=str(path)) from None
    numbers: set[str] = set()
    errors: list[ConfigError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        written = line.split("#", 1)[0].strip()
        if not written:
            continue
        try:
            numbers.add(national_number(written))
        except PhoneError as exc:
            errors.append(ConfigError(f"{exc} (one phone number a line)", file=str(path), line=number))
    if errors:
        raise ConfigErrors(errors)
    return frozenset(numbers)


class FileOptOut:
    """`ports.OptOutList` over the file: read again for every run, so an edit counts from the next run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"

    def numbers(self) -> frozenset[str]:
        if not self.path.exists():  # removed since the configuration was loaded: nobody is on it
            return frozenset()
        return read_opt_out(self.path)
