"""naver_sms.json_codec: orjson's speed with exactly the standard library's answers and errors."""

from __future__ import annotations

import json

import pytest

from naver_sms.json_codec import loads, loads_checked

SAME = [
    '{"bookingId": 900000001, "name": "홍길동", "options": [{"price": 5000}], "ok": true, "none": null}',
    '[1, 2.5, -3, "a\\u00e9", {"k": [[], {}]}]',
    '{"big": 123456789012345678901234567890}',  # beyond 64 bits: an exact int, as json gives
    '{"id": "1234567890123456789012"}',  # a long run of digits in a text: still exact
    '{"bad": "\\ud800"}',  # a lone surrogate orjson refuses
    '{"x": NaN, "y": Infinity}',  # json's extensions
    '{"x": 1e400}',
    '{"a": 1, "a": 2}',  # the last of a repeated key wins
    '"text"',
]


@pytest.mark.parametrize("text", SAME)
def test_loads_gives_what_json_loads_gives_for_text_and_bytes(text: str) -> None:
    expected = json.loads(text)
    got = loads(text)
    assert repr(got) == repr(expected)  # repr: NaN != NaN, and int vs float must not differ
    assert type(got) is type(expected)
    assert repr(loads(text.encode("utf-8", "surrogatepass"))) == repr(expected)


@pytest.mark.parametrize("text", ['{"a": }', "[1, 2", "", '{"a": 1} x', "[" * 5 + "]"])
def test_an_error_is_the_one_json_loads_raises(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(text)
    assert (got.value.msg, got.value.lineno, got.value.colno) == (
        expected.value.msg,
        expected.value.lineno,
        expected.value.colno,
    )


@pytest.mark.parametrize(
    ("text", "encodable"),
    [
        ('{"name": "홍길동", "options": [{"name": "원본"}]}', True),  # orjson read it: no lone surrogate
        ('{"name": "\\ud83d\\ude00"}', True),  # a pair is one character
        ('{"name": "\\ud800"}', False),  # orjson refuses it: json reads it, and the value holds it
        ('{"\\udc00": 1}', False),  # in a key too
        ('{"name": "\\ude00\\ud83d"}', False),  # a pair the wrong way round: two lone surrogates
        ('{"a": {"b\\udbff": "x"}}', False),  # in a nested key
        ('{"id": 1234567890123456789012}', False),  # read by json for its exact int: not known either way
    ],
)
def test_loads_checked_says_whether_every_text_is_known_to_encode(text: str, encodable: bool) -> None:
    value, known = loads_checked(text)
    assert known is encodable
    assert repr(value) == repr(json.loads(text))
    if known:
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # would raise on a lone surrogate


def test_raw_surrogate_bytes_are_never_taken_as_known_to_encode() -> None:
    # a lone surrogate written raw (not escaped), as `surrogatepass` writes it: json reads it, orjson refuses it
    text = '{"name": "\udc80"}'
    value, known = loads_checked(text)
    assert known is False and value == {"name": "\udc80"}
    assert loads_checked(text.encode("utf-8", "surrogatepass"))[1] is False
