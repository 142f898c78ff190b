"""The domain: bookings, records, stores and time. Depends on nothing else in the package.

The names are imported when first used (PEP 562), so that a module needing one leaf - `domain.privacy` for
the masking of every log record - does not load the booking models with it (cold start).
"""

import typing as _typing

_EXPORTS = {
    "FLAG_NAMES": "naver_sms.domain.booking",
    "KST": "naver_sms.domain.clock",
    "Booking": "naver_sms.domain.booking",
    "BookingError": "naver_sms.domain.booking",
    "BookingOption": "naver_sms.domain.booking",
    "BookingRecord": "naver_sms.domain.booking",
    "Clock": "naver_sms.domain.clock",
    "FixedClock": "naver_sms.domain.clock",
    "Store": "naver_sms.domain.booking",
    "SystemClock": "naver_sms.domain.clock",
    "format_phone_key": "naver_sms.domain.booking",
    "mask_name": "naver_sms.domain.privacy",
    "mask_phone": "naver_sms.domain.privacy",
    "parse_kst": "naver_sms.domain.clock",
}

__all__ = [
    "FLAG_NAMES",
    "KST",
    "Booking",
    "BookingError",
    "BookingOption",
    "BookingRecord",
    "Clock",
    "FixedClock",
    "Store",
    "SystemClock",
    "format_phone_key",
    "mask_name",
    "mask_phone",
    "parse_kst",
]


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'naver_sms.domain' has no attribute {name!r}")
    import importlib  # only when a name is first used: the point of the lazy package

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if _typing.TYPE_CHECKING:  # what mypy and editors see: the same names, imported eagerly
    from naver_sms.domain.booking import (
        FLAG_NAMES,
        Booking,
        BookingError,
        BookingOption,
        BookingRecord,
        Store,
        format_phone_key,
    )
    from naver_sms.domain.clock import KST, Clock, FixedClock, SystemClock, parse_kst
    from naver_sms.domain.privacy import mask_name, mask_phone
