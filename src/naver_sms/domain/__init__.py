"""The domain: bookings, records, stores and time. Depends on nothing else in the package."""

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
