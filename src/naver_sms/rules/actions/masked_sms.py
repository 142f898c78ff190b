"""The SMS service of one booking, as `send_sms` uses it: its errors never carry the customer's name."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from naver_sms.domain.privacy import mask_text
from naver_sms.errors import DeliveryError
from naver_sms.ports import SmsMessage, SmsReceipt, SmsService, send_checked


class NamesMasked:
    """The SMS service of one booking, whose errors never carry the customer's name: a provider may echo
    it in its answer (a SENS 400 quoting the text), and the error's text is logged, stored as the flag's
    `last_error`, reported and printed. Phone numbers are masked by the clients themselves."""

    def __init__(self, sms: SmsService, names: Collection[str]) -> None:
        self._sms = sms
        self._names = tuple(n for n in names if n)
        self.live = sms.live

    def _masked(self, exc: DeliveryError) -> DeliveryError:
        masked = exc.with_text(lambda text: mask_text(text, self._names))
        masked.__suppress_context__ = True  # the original's text (with the name) is in no traceback
        return masked

    def send_guarded(self, message: SmsMessage, before_request: Callable[[], None] | None) -> SmsReceipt:
        try:
            return send_checked(self._sms, message, before_request)
        except DeliveryError as exc:
            raise self._masked(exc)  # noqa: B904 - the original is deliberately not chained

    def send(self, message: SmsMessage) -> SmsReceipt:
        return self.send_guarded(message, None)

    def find_sent(
        self, message: SmsMessage, *, since: datetime, until: datetime, exclude: Collection[str] = ()
    ) -> SmsReceipt | None:
        try:
            return self._sms.find_sent(message, since=since, until=until, exclude=exclude)
        except DeliveryError as exc:
            raise self._masked(exc)  # noqa: B904 - the original is deliberately not chained
