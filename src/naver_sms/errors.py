"""Every error the package raises, in one tree under `NaverSmsError` (`rules.exceptions` adds
`ActionExecutionError`). Adapters translate third-party exceptions (botocore, sqlite3, httpx, selenium) into
these with ``raise ... from exc``; nothing from a library leaks upward.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest known name to a misspelt one, if any is close enough (for every "did you mean")."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


class NaverSmsError(Exception):
    """Base of every error of the package.

    Three traits say what an error means for the run (read with `getattr`, any exception may be asked):
    `counts_attempt` - a failure of a flag's effect counts one of its bounded attempts (False: nothing was
    tried that could have succeeded, the flag stays open as it was); `stops_run` - the run cannot go on
    (every later effect would fail the same way): the engine stops and the run is reported failed;
    `permanent` - no retry can fix this failure (a text over the SMS limit, a template that cannot render):
    the flag it was guarding fails for good at once (`naver_sms.flags.effect`) instead of being tried again
    on the next runs, and `fix` - where set - says what the operator must change before resetting it."""

    counts_attempt: ClassVar[bool] = True
    stops_run: ClassVar[bool] = False
    permanent: ClassVar[bool] = False
    fix: str | None = None


class ConfigError(NaverSmsError):
    """An invalid configuration, located as precisely as the YAML allows."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        rule: str | None = None,
        field: str | None = None,
        suggestion: str | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column  # 1-based, where the YAML reader or decoder knows it
        self.rule = rule
        self.field = field
        self.suggestion = suggestion
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        parts = [where + ":"]
        if self.rule:
            parts.append(f"rule {self.rule!r}:")
        if self.field:
            parts.append(f"{self.field}:")
        parts.append(self.message)
        text = " ".join(parts)
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class ConfigErrors(ConfigError):
    """Every error found while loading the configuration (loading reports them all, not just the first)."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(
            first.message,
            file=first.file,
            line=first.line,
            rule=first.rule,
            field=first.field,
            suggestion=first.suggestion,
            column=first.column,
        )

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)


class SecretError(NaverSmsError):
    """A secret is missing or malformed. Names the secret and the key, never the value."""


class RepositoryError(NaverSmsError):
    """The state store (SQLite, DynamoDB) failed."""


class RecordReadError(RepositoryError):
    """Reading a record failed. The booking is skipped and reported - never treated as not in the database
    (legacy-behaviour.md §7)."""


class RecordMissing(RepositoryError):
    """A conditional update addressed a record that does not exist."""


class FlagError(RepositoryError):
    """A flag transition was refused. Carries the record key and the flag."""

    def __init__(self, message: str, *, key: tuple[str, str], flag: str, **details: Any) -> None:
        self.key = key
        self.flag = flag
        self.details: Mapping[str, Any] = details
        super().__init__(f"{key[0]} {flag}: {message}")


class FlagAlreadyDone(FlagError):
    """The flag is true already: the side effect happened."""


class FlagClaimed(FlagError):
    """Another run holds a live claim on the flag."""


class FlagFailedForGood(FlagError):
    """The flag's attempts reached the bound. Reported on every run until an operator resets it."""


class ClaimLost(FlagError):
    """Commit or release by a run that does not (or no longer) hold the claim."""


class DeliveryError(NaverSmsError):
    """A message was not delivered by a channel."""

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        status_code: int | None = None,
        provider_message: str | None = None,
    ) -> None:
        self.channel = channel
        self.status_code = status_code
        self.provider_message = provider_message
        super().__init__(f"{channel}: {message}")

    def with_text(self, transform: Callable[[str], str]) -> Self:
        """The same error (class, channel, status, cause) with its texts passed through `transform` - e.g.
        a provider's answer that echoed a customer's name, masked once the name is known."""
        message = str(self).removeprefix(f"{self.channel}: ")
        copy = type(self).__new__(type(self))
        DeliveryError.__init__(
            copy,
            transform(message),
            channel=self.channel,
            status_code=self.status_code,
            provider_message=transform(self.provider_message) if self.provider_message else None,
        )
        copy.__cause__, copy.__traceback__ = self.__cause__, self.__traceback__
        return copy


class DeliveryRejected(DeliveryError):
    """The service refused the message (4xx other than 429): final."""


class CredentialsRefused(DeliveryRejected):
    """The service refused our credentials (401/403), and again after they were fetched anew (a rotation):
    nothing that needs them can succeed in this run. No attempt is counted against any flag; the run stops
    and is reported failed, and the summary says what to check (docs/operations.md, "Rotate secrets")."""

    counts_attempt = False
    stops_run = True


class DeliveryUnavailable(DeliveryError):
    """The service stayed unavailable (429, 5xx, connection failures) through every retry."""


class OutcomeUnknown(DeliveryError):
    """The request went out and no answer came back: the message may have been delivered.

    Never resent blindly: resolved through the provider's look-up (external-apis.md §2)."""


class MessageTooLong(DeliveryError):
    """The text is over the channel's limit (SENS counts EUC-KR bytes and truncates silently): the same text
    is as long on the next run, so it is permanent."""

    permanent = True


class BookingSourceError(NaverSmsError):
    """Fetching bookings failed."""


class BookingsLost(BookingSourceError):
    """The source had bookings and not one could be read (every file broken, every booking malformed, every
    store failed): the run fails - never "nothing to send"."""


class LoginError(BookingSourceError):
    """The Naver login did not produce a valid session."""


class LoginBlocked(LoginError):
    """Naver stopped the login for a person to act: captcha, second factor, wrong password."""


class StoreFetchError(BookingSourceError):
    """One store's bookings could not be fetched; the run goes on with the others."""

    def __init__(self, message: str, *, store_id: str) -> None:
        self.store_id = store_id
        super().__init__(f"store {store_id}: {message}")
