"""The rule compiler: rules.yaml (docs/rules/rules-config.md) checked against the registered condition and action
types, every problem collected with its file, line, rule, field and a suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from naver_sms.config.loader import validation_errors
from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import LineDict, line_of, nested_key_line
from naver_sms.domain.period import PeriodError, PeriodSpec
from naver_sms.errors import ConfigError, ConfigErrors, did_you_mean
from naver_sms.rules.actions.common import DIGEST_VARS
from naver_sms.rules.changes import STATUS_GATE, StatusGateParams, on_demand
from naver_sms.rules.conditions import ConditionType
from naver_sms.rules.guards import link_guards
from naver_sms.rules.plan import AllOf, AnyOf, CompiledAction, CompiledRule, Leaf, Node, NotOf, statuses_asked
from naver_sms.rules.quiet import AD_QUIET, Quiet
from naver_sms.rules.templates import TemplateProblem, check_template
from naver_sms.rules.timing import WindowParams
from naver_sms.rules.types import ActionType, Mode

_RULE_FIELDS = (
    "name",
    "enabled",
    "description",
    "mode",
    "quiet_hours",
    "conditions",
    "actions",
    "once_per",
    "when_empty",
)
_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


def compile_rules(
    config: AppConfig, conditions: Mapping[str, ConditionType], actions: Mapping[str, ActionType]
) -> tuple[CompiledRule, ...]:
    """Validate and compile the rules of `config`. Raises `ConfigErrors` listing every problem."""
    compiler = RuleCompiler(config, conditions, actions)
    rules = compiler.compile_all(config.rules)
    if compiler.errors:
        raise ConfigErrors(compiler.errors)
    return rules


class RuleCompiler:
    def __init__(
        self, config: AppConfig, conditions: Mapping[str, ConditionType], actions: Mapping[str, ActionType]
    ) -> None:
        self.conditions = conditions
        self.actions = actions
        self.config = config
        self.file = str(config.rules_file)
        self.errors: list[ConfigError] = []

    def error(
        self,
        message: str,
        line: int | None,
        rule: str | None,
        field: str | None,
        suggestion: str | None = None,
    ) -> None:
        self.errors.append(
            ConfigError(message, file=self.file, line=line, rule=rule, field=field, suggestion=suggestion)
        )

    def unknown_fields(
        self,
        raw: dict[str, Any],
        known: tuple[str, ...],
        rule: str,
        prefix: str = "",
        hints: tuple[str, ...] = (),
    ) -> None:
        for key in raw:
            if key not in known:
                self.error(
                    "unknown field",
                    line_of(raw, key),
                    rule,
                    f"{prefix}{key}",
                    did_you_mean(key, hints or known),
                )

    @staticmethod
    def needs_list(raw: dict[str, Any], key: str) -> tuple[str, int | None]:
        """The error of a rule without `conditions` or `actions`, at the line where it was written one
        level too deep when it was (an indentation mistake), at the rule otherwise."""
        if key not in raw and (deeper := nested_key_line(raw, key)) is not None:
            return (
                f"a rule needs a non-empty list of {key}: the `{key}:` of line {deeper} is indented too deep",
                deeper,
            )
        return f"a rule needs a non-empty list of {key}", line_of(raw, key)

    def compile_all(self, raw_rules: Any) -> tuple[CompiledRule, ...]:
        compiled: list[CompiledRule] = []
        names: set[str] = set()
        for index, raw in enumerate(raw_rules):
            where = f"rules[{index}]"
            if not isinstance(raw, dict):
                self.error("a rule must be a mapping", line_of(raw_rules, index), None, where)
                continue
            name = raw.get("name")
            if name is None or name == "":
                self.error("required field is missing", line_of(raw), None, f"{where}.name")
                name = where
            elif not isinstance(name, str):  # `name: off` is a YAML boolean
                self.error(
                    f"must be text, got {name!r} (quote it)", line_of(raw, "name"), None, f"{where}.name"
                )
                name = where
            elif not re.match(_NAME_PATTERN, name):
                self.error(
                    "a rule name is letters, digits, '_', '.' or '-' (it keys reports and logs)",
                    line_of(raw, "name"),
                    name,
                    "name",
                )
            elif name in names:
                self.error("duplicate rule name", line_of(raw, "name"), name, "name")
            names.add(name)
            rule = self.compile_rule(raw, name)
            if rule is not None:
                compiled.append(rule)
        return tuple(compiled)

    def compile_rule(self, raw: dict[str, Any], name: str) -> CompiledRule | None:
        before = len(self.errors)
        self.unknown_fields(raw, _RULE_FIELDS, name)
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            self.error("must be true or false", line_of(raw, "enabled"), name, "enabled")
        mode = raw.get("mode", "each")
        if mode not in ("each", "digest"):
            self.error(
                "must be `each` or `digest`",
                line_of(raw, "mode"),
                name,
                "mode",
                did_you_mean(str(mode), ("each", "digest")),
            )
            mode = "each"
        conditions = raw.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            self.error(*self.needs_list(raw, "conditions"), name, "conditions")
            conditions = []
        root = AllOf(
            tuple(
                self.condition(c, name, f"conditions[{i}]", line_of(conditions, i))
                for i, c in enumerate(conditions)
            ),
            "conditions",
            line_of(raw, "conditions"),
        )
        actions_raw = raw.get("actions")
        if not isinstance(actions_raw, list) or not actions_raw:
            self.error(*self.needs_list(raw, "actions"), name, "actions")
            actions_raw = []
        actions = [
            a
            for i, r in enumerate(actions_raw)
            if (a := self.action(r, name, i, line_of(actions_raw, i), mode)) is not None
        ]
        actions = link_guards(actions, name, mode, self.error)
        quiet = self.quiet(raw, name, actions)
        once_per, when_empty = self.period(raw, name, mode, actions)
        if len(self.errors) > before:
            return None
        gate = Leaf(
            STATUS_GATE, StatusGateParams(asks=on_demand(statuses_asked(root))), "(status)", line_of(raw)
        )
        return CompiledRule(
            name,
            str(raw.get("description", "")),
            bool(enabled),
            mode,
            root,
            tuple(actions),
            line_of(raw),
            once_per=once_per,
            when_empty=when_empty,
            gate=gate,
            quiet=quiet,
        )

    def quiet(self, raw: dict[str, Any], rule: str, actions: list[CompiledAction]) -> Quiet | None:
        """The rule's quiet windows: its own `quiet_hours`, and the advertising hours when it sends AD."""
        windows = []
        if "quiet_hours" in raw:
            line = line_of(raw, "quiet_hours")
            params = self.params(WindowParams, raw["quiet_hours"], rule, "quiet_hours", line)
            if params is not None:
                assert isinstance(params, WindowParams)
                windows.append((params.window, f"quiet hours {params.window.describe()}"))
        if any(a.atype.advertises is not None and a.atype.advertises(a.params, self.config) for a in actions):
            windows.append((AD_QUIET, f"advertising: no sends {AD_QUIET.describe()} (정보통신망법 §50)"))
        if not windows:
            return None
        quiet = Quiet(tuple(windows))
        if quiet.covers_the_whole_day():
            self.error(
                "these quiet hours cover the whole day: the rule could never act",
                line_of(raw, "quiet_hours") or line_of(raw),
                rule,
                "quiet_hours",
                f"an advertising rule may act only {AD_QUIET.end:%H:%M}-{AD_QUIET.start:%H:%M}",
            )
        return quiet

    def period(
        self, raw: dict[str, Any], rule: str, mode: Mode, actions: list[CompiledAction]
    ) -> tuple[PeriodSpec | None, str | None]:
        """A digest's `once_per` and `when_empty` (docs/rules/actions.md, "Digests once per period")."""
        once_per: PeriodSpec | None = None
        if "once_per" in raw:
            line = line_of(raw, "once_per")
            if mode != "digest":
                self.error("once_per is for digest rules: add `mode: digest`", line, rule, "once_per")
            else:
                try:
                    once_per = PeriodSpec.parse(raw["once_per"])
                except PeriodError as exc:
                    self.error(str(exc), line, rule, "once_per")
        if "when_empty" not in raw:
            return once_per, None
        value, line = raw["when_empty"], line_of(raw, "when_empty")
        if "once_per" not in raw:
            self.error(
                "when_empty needs once_per: without a period an empty digest would be posted on every run",
                line,
                rule,
                "when_empty",
            )
            return once_per, None
        if value == "skip":
            return once_per, None
        if not isinstance(value, str) or not value.strip():
            self.error("must be `skip` or the text to post when nobody matched", line, rule, "when_empty")
            return once_per, None
        if not any(a.atype.sends == "message" and "message" in type(a.params).model_fields for a in actions):
            self.error(
                "when_empty is posted by the rule's send_telegram or send_slack: the rule has none",
                line,
                rule,
                "when_empty",
            )
        try:
            check_template(value, allowed=DIGEST_VARS)
        except TemplateProblem as exc:
            self.error(str(exc), line, rule, "when_empty", exc.suggestion)
        return once_per, value

    def condition(self, raw: Any, rule: str, path: str, line: int | None) -> Node:
        if isinstance(raw, str):  # a bare type name: `- booking_not_in_db`
            raw_dict: Any = LineDict(type=raw)
            raw_dict.line, raw_dict.key_lines = line or 0, {}
            raw = raw_dict
        if not isinstance(raw, dict):
            self.error("a condition must be a mapping like {type: ..., params: {...}}", line, rule, path)
            return AllOf((), path, line)
        line = line_of(raw) or line
        for combinator in ("all", "any"):
            if combinator in raw:
                if len(raw) != 1:
                    self.error(f"`{combinator}` stands alone in its mapping", line, rule, path)
                items = raw[combinator]
                if not isinstance(items, list) or not items:
                    self.error(f"`{combinator}` takes a non-empty list", line, rule, path)
                    return AllOf((), path, line)
                children = tuple(
                    self.condition(c, rule, f"{path}.{combinator}[{i}]", line_of(items, i))
                    for i, c in enumerate(items)
                )
                return AllOf(children, path, line) if combinator == "all" else AnyOf(children, path, line)
        if "not" in raw:
            if len(raw) != 1:
                self.error("`not` stands alone in its mapping", line, rule, path)
            return NotOf(self.condition(raw["not"], rule, f"{path}.not", line_of(raw, "not")), path, line)
        self.unknown_fields(
            raw, ("type", "params"), rule, f"{path}.", ("type", "params", "any", "all", "not")
        )
        ctype_name = raw.get("type")
        ctype = self.conditions.get(ctype_name) if isinstance(ctype_name, str) else None
        if ctype is None:
            self.error(
                f"unknown condition type {ctype_name!r}",
                line_of(raw, "type"),
                rule,
                f"{path}.type",
                did_you_mean(str(ctype_name), self.conditions),
            )
            return AllOf((), path, line)
        params = self.params(
            ctype.params, raw.get("params"), rule, f"{path}.params", line_of(raw, "params") or line
        )
        if params is None:
            return AllOf((), path, line)
        return Leaf(ctype, params, path, line)

    def params(
        self, model: type[BaseModel], raw: Any, rule: str, path: str, line: int | None
    ) -> BaseModel | None:
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            self.error("params must be a mapping", line, rule, path)
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            known = set(model.model_fields)
            for err in validation_errors(
                exc, raw, file=self.file, rule=rule, prefix=f"{path}.", known_fields=known
            ):
                self.error(err.message, err.line or line, rule, err.field, err.suggestion)
            return None

    def action(self, raw: Any, rule: str, index: int, line: int | None, mode: Mode) -> CompiledAction | None:
        path = f"actions[{index}]"
        if isinstance(raw, str):
            raw = {"type": raw}
        if not isinstance(raw, dict):
            self.error("an action must be a mapping like {type: ..., params: {...}}", line, rule, path)
            return None
        self.unknown_fields(raw, ("type", "params"), rule, f"{path}.")
        name = raw.get("type")
        atype = self.actions.get(name) if isinstance(name, str) else None
        if atype is None:
            self.error(
                f"unknown action type {name!r}",
                line_of(raw, "type") or line,
                rule,
                f"{path}.type",
                did_you_mean(str(name), self.actions),
            )
            return None
        if mode == "digest" and not atype.digest:
            self.error(
                f"{atype.name} cannot run in a digest rule",
                line_of(raw, "type") or line,
                rule,
                f"{path}.type",
            )
            return None
        params = self.params(
            atype.params, raw.get("params"), rule, f"{path}.params", line_of(raw, "params") or line
        )
        if params is None:
            return None
        if atype.validate is not None:
            for message, field_name, suggestion in atype.validate(params, self.config, mode):
                params_node = raw.get("params")
                self.error(
                    message,
                    line_of(params_node, field_name.split(".")[0]) if isinstance(params_node, dict) else line,
                    rule,
                    f"{path}.params.{field_name}",
                    suggestion,
                )
        return CompiledAction(atype, params, index, line)
