"""Why a rule did not match a booking, in words: the failed condition with every parameter (those left at
their default marked: `min_count=2 (default)`) and what it saw, an `any` branch by branch. `plan` shows it
(naver_sms.cli.plan_view) and so does a failing rule fixture (naver_sms.rule_fixtures)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from naver_sms.rules.facts import Facts
from naver_sms.rules.plan import AllOf, AnyOf, Evaluation, Leaf, Node, NotOf


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def _params(params: BaseModel) -> str:
    """Every parameter of a condition, those left at their default marked: `min_count=2 (default)`."""
    shown = []
    for name in type(params).model_fields:
        value = getattr(params, name)
        default = "" if name in params.model_fields_set else " (default)"
        shown.append(f"{name}={_value(value.isoformat() if hasattr(value, 'isoformat') else value)}{default}")
    return ", ".join(shown)


def _seen(seen: Any) -> str:
    if isinstance(seen, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in seen.items())
    return json.dumps(seen, ensure_ascii=False, default=str)


def _said(node: Node, facts: Facts) -> str:
    """A condition in words with what it saw: `booking_in_db() saw in_db=false`."""
    if isinstance(node, Leaf):
        return f"{node.ctype.name}({_params(node.params)}) saw {_seen(node.seen(facts))}"
    if isinstance(node, NotOf):
        return f"not {_said(node.child, facts)}"
    if isinstance(node, AllOf | AnyOf):
        word = "all" if isinstance(node, AllOf) else "any"
        return f"{word} of: " + "; ".join(_said(child, facts) for child in node.children)
    return json.dumps(node.describe(), ensure_ascii=False)


def why_not(e: Evaluation) -> list[str]:
    """The lines that say why a rule did not match: the failed condition, an `any` branch by branch."""
    node = e.failed
    if node is None:
        return []
    if isinstance(node, AnyOf):
        lines = [f"{node.path}: none of {len(node.children)} branches held"]
        for i, child in enumerate(node.children, 1):
            parts = child.children if isinstance(child, AllOf) else (child,)
            lines += [
                f"  {i}. {_said(parts[0], e.facts)}",
                *(f"     and {_said(p, e.facts)}" for p in parts[1:]),
            ]
        return lines
    if isinstance(node, NotOf):
        return [f"{node.path}: the opposite held: {_said(node.child, e.facts)}"]
    return [f"{node.path}: {_said(node, e.facts)}"]
