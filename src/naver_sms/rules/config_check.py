"""The whole configuration checked in one pass, before anything is sent (`naver-sms rules check`, and every
run before it starts): what the loader found in each file, the rules compiled, and every SMS template of
templates.yaml - used or not - checked once, at its own line:

- its names (variables, attributes also of loop variables, filters, tests) and whatever the sandbox would
  refuse (naver_sms.rules.templates), reported at the template's line of templates.yaml (the line inside a
  `|` block) with the rule(s) that use it;
- its length as it renders, not as written (naver_sms.rules.measure): over the limit with every variable of
  known length at its longest is an error (with `type: auto` suggested for an SMS); what only a booking
  knows (the customer's name...) is a warning that says how many bytes are left for it.

And one thing of the rules together: a send guarded by a flag, due only while the booking has no row, that
no rule sends again once the row exists - a message that found its channel off, or a failed send, would
never go out (a warning that says how to key the rule on its flag: docs/rules/actions.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from naver_sms.config.loader import RULES_FILE, TEMPLATES_FILE
from naver_sms.config.models import AppConfig, SmsTemplate
from naver_sms.domain.booking import Store
from naver_sms.domain.sms_text import SUBJECT_MAX_BYTES, limit_of
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.rules.actions.common import EACH_VARS
from naver_sms.rules.engine import RuleEngine
from naver_sms.rules.measure import measure
from naver_sms.rules.plan import AllOf, AnyOf, CompiledRule, Leaf, Node
from naver_sms.rules.templates import TemplateProblem, check_template

#: with fewer bytes than this left for what only a booking knows, an LMS template gets a warning
LMS_MARGIN = 200


@dataclass
class Checked:
    rules: tuple[CompiledRule, ...] = ()
    errors: list[ConfigError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_config(config: AppConfig, engine: RuleEngine) -> Checked:
    """Compile the rules and check every SMS template (see the module's docstring); nothing raised."""
    checked = Checked()
    if RULES_FILE not in config.broken:
        try:
            checked.rules = engine.compile(config)
        except ConfigErrors as exc:
            checked.errors += exc.errors
    if TEMPLATES_FILE not in config.broken:
        users = _users(config)
        for name, tpl in config.sms_templates.items():
            _check_sms_template(config, name, tpl, users.get(name, {}), checked)
    checked.warnings += _due_only_without_a_row(config, checked.rules)
    return checked


def _users(config: AppConfig) -> dict[str, dict[str, list[Store] | None]]:
    """template -> rule -> the stores it is sent for through a role (None: any store), from the raw rules."""
    found: dict[str, dict[str, list[Store] | None]] = {}
    rules = config.rules if isinstance(config.rules, list) else []
    for rule in rules:
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
            continue
        for action in rule.get("actions") or []:
            params = action.get("params") if isinstance(action, dict) else None
            if (
                not isinstance(action, dict)
                or action.get("type") != "send_sms"
                or not isinstance(params, dict)
            ):
                continue
            role = params.get("template")
            if not isinstance(role, str):
                continue
            if params.get("store_specific") is True:
                for store in config.stores.values():
                    if (mapped := store.templates.get(role)) is not None:
                        stores = found.setdefault(mapped, {}).setdefault(rule["name"], [])
                        if stores is not None:
                            stores.append(store)
            else:
                found.setdefault(role, {})[rule["name"]] = None
    return found


def _check_sms_template(
    config: AppConfig, name: str, tpl: SmsTemplate, users: dict[str, list[Store] | None], checked: Checked
) -> None:
    file = str(config.templates_file)
    rules = sorted(users)
    used = (
        f" (used by rule{'s' if len(rules) > 1 else ''} {', '.join(repr(r) for r in rules)})" if rules else ""
    )

    def where(key: str, line_in_text: int | None = None) -> int | None:
        start, block = config.template_lines.get(f"{name}.{key}", (None, False))
        return start + line_in_text - 1 if start and block and line_in_text else start

    def error(key: str, message: str, line: int | None, suggestion: str | None = None) -> None:
        checked.errors.append(
            ConfigError(
                f"SMS template {name!r}: {message}{used}",
                file=file,
                line=line,
                rule=rules[0] if len(rules) == 1 else None,
                field=f"sms.{name}.{key}",
                suggestion=suggestion,
            )
        )

    texts = [("text", tpl.text)] + ([("subject", tpl.subject)] if tpl.subject is not None else [])
    for key, text in texts:
        try:
            check_template(text, allowed=EACH_VARS)
        except TemplateProblem as exc:
            error(key, str(exc), where(key, exc.line), exc.suggestion)
            return
    stores = _stores_for(config, users)
    rule = max(rules, key=len, default="")
    sms_type = "LMS" if tpl.type == "auto" else tpl.type
    size = measure(tpl.text, stores, rule)
    limit = limit_of(sms_type)
    line = where("text")
    if size is None:
        checked.warnings.append(
            f"{file}:{line or '?'}: sms.{name}: cannot be measured before it is sent (it needs data only a "
            f"booking has); a text over {limit} bytes is refused when it is sent"
        )
    elif size.size > limit:
        auto = (
            " - make it `type: auto` to send a longer text as an LMS (2,000 bytes)"
            if tpl.type == "SMS"
            else ""
        )
        error(
            "text",
            f"renders to {size.size} bytes in EUC-KR with every variable at its longest known value"
            f"{_for_store(size.store)}, over the {tpl.type} limit of {limit} (SENS would truncate it){auto}",
            line,
        )
    elif size.unbounded and limit - size.size < (limit if tpl.type == "SMS" else LMS_MARGIN):
        auto = "; `type: auto` sends a longer text as an LMS" if tpl.type == "SMS" else ""
        left = limit - size.size
        checked.warnings.append(
            f"{file}:{line or '?'}: sms.{name}: {size.size} bytes of the {sms_type} limit of {limit} without "
            f"{', '.join(size.unbounded)} (no known length): {left} bytes ({left // 2} Hangul) are left for "
            f"them; a longer text is refused when it is sent{auto}"
        )
    subject = tpl.subject if tpl.subject is not None else config.subject
    if sms_type != "SMS" and "{" in subject:
        sized = measure(subject, stores, rule)
        if sized is not None and sized.size > SUBJECT_MAX_BYTES:
            error(
                "subject",
                f"the subject renders to {sized.size} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}",
                where("subject"),
            )


def _stores_for(config: AppConfig, users: dict[str, list[Store] | None]) -> list[Store]:
    """The stores a template can be sent for: those whose role names it, unless a rule sends it directly."""
    if not users or any(stores is None for stores in users.values()):
        return list(config.stores.values()) or [Store("0", "", "")]
    return list({s.id: s for stores in users.values() for s in stores or ()}.values())


def _for_store(store: str | None) -> str:
    return f" (store {store})" if store else ""


def _only_without_row(node: Node) -> bool:
    """Whether a condition holds only while the booking has no row, on every branch."""
    if isinstance(node, Leaf):
        return node.ctype.only_without_row
    if isinstance(node, AllOf):
        return any(_only_without_row(child) for child in node.children)
    if isinstance(node, AnyOf):
        return all(_only_without_row(child) for child in node.children)
    return False


def _guarded_sends(rule: CompiledRule) -> Iterable[tuple[Any, str]]:
    for action in rule.actions:
        flag = getattr(action.params, "flag", None)
        if action.atype.sends is not None and isinstance(flag, str):
            yield action, flag


def _due_only_without_a_row(config: AppConfig, rules: Sequence[CompiledRule]) -> list[str]:
    """A send guarded by a flag that only a booking without a row can match, and that no rule sends again
    once the row exists: the first run writes the row, so a message that found its channel off, or a send
    that failed, is never due again."""
    retried = {flag for r in rules if not _only_without_row(r.condition) for _, flag in _guarded_sends(r)}
    warnings = []
    for rule in rules:
        if not _only_without_row(rule.condition):
            continue
        for action, flag in _guarded_sends(rule):
            if flag in retried:
                continue
            retry = (
                f"key it on its flag: `flag_not_set({flag})` instead of booking_not_in_db"
                if action.atype.sends == "message"
                else f"retry it: `any: [booking_not_in_db, {{type: flag_retry_due, params: {{flag: {flag}}}}}]`"
            )
            warnings.append(
                f"{config.rules_file}:{action.line or rule.line or '?'}: rule {rule.name!r}: {action.name} is due "
                f"only while the booking has no row, and the first run writes the row: a "
                f"{'message that finds its channel off' if action.atype.sends == 'message' else 'send that fails'}"
                f" would never go out - {retry} (docs/rules/actions.md#new-bookings-and-a-channel-that-is-off)"
            )
    return warnings
