"""Credentials that rotate: a channel that refuses ours fetches them again, once, and retries once.

A secret in Secrets Manager can be rotated while a warm Lambda still holds the old value (for at most
`POWERTOOLS_PARAMETERS_MAX_AGE` seconds: `naver_sms.config.secrets`). When SENS or Telegram answers 401/403,
the channel here fetches the credentials again (`refresh`: the secrets read anew, whatever their age),
rebuilds its client with them and retries the request once. Refused again, the credentials are wrong, not
stale: `CredentialsRefused` - it counts no attempt against any flag (nothing was tried that could succeed),
stops the run, and the run is reported failed with what to check (`naver_sms.runner`). Later requests of
the same run are refused at once, without calling the service again.

The refresh happens at most once per channel and run (a channel is built for each run by `naver_sms.wiring`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Generic, TypeVar

from naver_sms.config.settings import Settings
from naver_sms.errors import CredentialsRefused, DeliveryError
from naver_sms.logs import emit
from naver_sms.ports import ChannelReceipt, SmsMessage, SmsReceipt, SmsService, TelegramService, send_checked

log = logging.getLogger("naver_sms.rotation")

#: the answers that say "not these credentials" (SENS's API gateway, Telegram's Bot API)
AUTH_STATUSES = frozenset({401, 403})

C = TypeVar("C")
R = TypeVar("R")


class _Refreshing(Generic[C]):
    """A client built from settings, rebuilt once from settings loaded anew when it is refused."""

    CHANNEL = ""
    HINT = ""

    def __init__(self, client: C, *, build: Callable[[Settings], C], refresh: Callable[[], Settings]) -> None:
        self._client = client
        self._build = build
        self._refresh = refresh
        self._refreshed = False
        self._refused: CredentialsRefused | None = None
        self._lock = threading.Lock()

    @property
    def refused(self) -> CredentialsRefused | None:
        """The refusal of this run's credentials, once the refreshed ones were refused too."""
        return self._refused

    def _call(self, request: Callable[[C], R]) -> R:
        if self._refused is not None:
            raise self._refused
        client = self._client
        try:
            return request(client)
        except DeliveryError as exc:
            if exc.status_code not in AUTH_STATUSES:
                raise
            first = exc
        client = self._renewed(client, first)
        try:
            return request(client)
        except DeliveryError as exc:
            if exc.status_code not in AUTH_STATUSES:
                raise
            raise self._refuse(exc) from None

    def _renewed(self, refused: C, exc: DeliveryError) -> C:
        """The client with freshly fetched credentials (made once; a second refusal is final)."""
        with self._lock:
            if self._refused is not None:
                raise self._refused
            if self._refreshed:
                if self._client is refused:  # refused after its refresh: the credentials are wrong
                    raise self._refuse(exc) from None
                return self._client
            self._refreshed = True
            emit(log, logging.WARNING, "credentials_refused", channel=self.CHANNEL, status=exc.status_code)
            try:
                settings = self._refresh()
                fresh = self._build(settings)
            except Exception as failed:  # the secret cannot be read now: the old credentials stay refused
                raise self._refuse(exc, f"fetching them again failed: {failed}") from None
            close = getattr(self._client, "close", None)
            if callable(close):
                close()
            self._client = fresh
            emit(log, logging.INFO, "credentials_refreshed", channel=self.CHANNEL)
            return fresh

    def _refuse(
        self, exc: DeliveryError, why: str = "refused again after they were fetched anew"
    ) -> CredentialsRefused:
        refused = CredentialsRefused(
            f"the credentials were refused (HTTP {exc.status_code}), {why}: {self.HINT}",
            channel=exc.channel,
            status_code=exc.status_code,
            provider_message=exc.provider_message,
        )
        self._refused = refused
        emit(log, logging.ERROR, "credentials_invalid", channel=self.CHANNEL, status=exc.status_code)
        return refused

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            close()


class RefreshingSms(_Refreshing[SmsService]):
    """`SmsService` over a SENS client whose keys may rotate."""

    CHANNEL = "sens"
    HINT = "check sens_access_key, sens_secret_key and sens_service_id in the secret (docs/operations.md)"

    def __init__(
        self, client: SmsService, *, build: Callable[[Settings], SmsService], refresh: Callable[[], Settings]
    ) -> None:
        super().__init__(client, build=build, refresh=refresh)
        self.live = client.live

    def send(self, message: SmsMessage) -> SmsReceipt:
        return self._call(lambda client: client.send(message))

    def send_guarded(self, message: SmsMessage, before_request: Callable[[], None] | None) -> SmsReceipt:
        return self._call(lambda client: send_checked(client, message, before_request))

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        return self._call(lambda client: client.find_sent(message, since=since, until=until, exclude=exclude))


class RefreshingTelegram(_Refreshing[TelegramService]):
    """`TelegramService` over a Bot API client whose token may rotate."""

    CHANNEL = "telegram"
    HINT = "check telegram_token and telegram_chat_id in the secret (docs/operations.md)"

    def __init__(
        self,
        client: TelegramService,
        *,
        build: Callable[[Settings], TelegramService],
        refresh: Callable[[], Settings],
    ) -> None:
        super().__init__(client, build=build, refresh=refresh)
        self.enabled = client.enabled

    def send_message(self, text: str, *, chat_id: str | None = None) -> ChannelReceipt:
        return self._call(lambda client: client.send_message(text, chat_id=chat_id))
