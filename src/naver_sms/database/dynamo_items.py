"""DynamoDB's attribute values and expressions, without boto3: Python values in and out (numbers as `int`, or
`float` when they have a fraction, as SQLite's JSON gives them), and the Update/ConditionExpression of one
conditional write with a placeholder for every name and value."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from naver_sms.errors import RepositoryError
from naver_sms.flags.store import Absent, AbsentOrLt, Eq, Expect, Lt, NotTrue


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value. bool is tested before int (bool is an int)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise RepositoryError(f"cannot store a {type(value).__name__} in DynamoDB")


def _number(text: str) -> int | float:
    """DynamoDB numbers come back as strings (boto3's resource layer would give Decimal): `int` when
    integral, as SQLite's JSON gives them, else `float`."""
    if any(c in text for c in ".eE"):
        value = float(text)
        return int(value) if value.is_integer() and "." not in text else value
    return int(text)


def _bytes(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def from_attr(attr: Mapping[str, Any]) -> Any:
    kind, value = next(iter(attr.items()))
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "B":  # boto3 gives bytes, DynamoDB's JSON base64 text (database/dynamo_wire.py)
        return _bytes(value)
    if kind == "SS":
        return sorted(value)
    if kind == "NS":
        return sorted(_number(v) for v in value)
    if kind == "BS":
        return sorted(_bytes(v) for v in value)
    raise RepositoryError(f"unknown DynamoDB attribute type {kind!r}")


def to_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_attr(value) for name, value in item.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: from_attr(value) for name, value in item.items()}


class Expression:
    """Builds an UpdateExpression/ConditionExpression with a placeholder for every name and value, so
    reserved words (`name`, `phone`...) and any custom flag name are safe."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, str] = {}

    def name(self, attr: str) -> str:
        if attr not in self._by_name:
            placeholder = f"#n{len(self._by_name)}"
            self._by_name[attr] = placeholder
            self.names[placeholder] = attr
        return self._by_name[attr]

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_attr(value)
        return placeholder

    def condition(self, attr: str, cond: Expect) -> str:
        n = self.name(attr)
        if isinstance(cond, Absent):
            return f"attribute_not_exists({n})"
        if isinstance(cond, Eq):
            # DynamoDB's `=` is false across types (N vs S vs BOOL), like `matches()`.
            return f"{n} = {self.value(cond.value)}"
        if isinstance(cond, NotTrue):
            return f"(attribute_not_exists({n}) OR {n} <> {self.value(True)})"
        if isinstance(cond, Lt):
            # `<` against a number is false when the attribute is absent or not a number.
            return f"{n} < {self.value(cond.value)}"
        if isinstance(cond, AbsentOrLt):
            return f"(attribute_not_exists({n}) OR {n} < {self.value(cond.value)})"
        raise TypeError(f"unknown condition {cond!r}")
