"""The rule engine: registries of condition and action types, compilation and validation of the rules,
side-effect-free evaluation into a plan (with the reason each rule did or did not match), and execution.

    engine = RuleEngine()                       # built-in conditions registered
    register_actions(engine, services)          # rules.actions
    rules = engine.compile(config)              # ConfigErrors with file:line, rule, field, suggestion
    plan = engine.evaluate(rules, facts)        # no side effects
    engine.execute(plan, context_factory, report)

Rules file (product.md, "Rules"): an ordered list of `{name, enabled, description, mode, conditions,
actions}`. A list of conditions means all; `any: [...]`, `all: [...]` and `not: {...}` nest. `mode: digest`
collects the bookings a rule matches in a run and runs its actions once, with `bookings` in scope.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from naver_sms.config.loader import suggest, validation_errors
from naver_sms.config.models import AppConfig
from naver_sms.config.yaml_lines import LineDict, line_of
from naver_sms.errors import ConfigError, ConfigErrors
from naver_sms.rules.conditions import CONDITIONS, ConditionType
from naver_sms.rules.context import ActionContext, ActionResult, ActionServicesBundle
from naver_sms.rules.exceptions import ActionExecutionError
from naver_sms.rules.facts import Facts
from naver_sms.rules.report import RunError, RunReport

__all__ = [
    "ActionType",
    "CompiledAction",
    "CompiledRule",
    "Evaluation",
    "Plan",
    "RuleEngine",
]

log = logging.getLogger("naver_sms.engine")

_RULE_FIELDS = ("name", "enabled", "description", "mode", "conditions", "actions")
_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


@dataclass(frozen=True, slots=True)
class ActionType:
    """An action type: its parameter model, its executor, and how it takes part in validation."""

    name: str
    params: type[BaseModel]
    execute: Callable[[ActionContext, Any], ActionResult]
    summary: str
    #: usable in `mode: digest` rules
    digest: bool = False
    #: what it would do, without doing it (dry runs and `plan`); None = nothing worth showing
    preview: Callable[[ActionContext, Any], ActionResult] | None = None
    #: extra validation against the whole configuration: returns (message, field, suggestion) problems
    validate: (
        Callable[[Any, AppConfig, Literal["each", "digest"]], list[tuple[str, str, str | None]]] | None
    ) = None


# --- compiled conditions ------------------------------------------------------------------------------------


class Node:
    """A compiled condition. `first_failure` returns None when it holds, or the node that made it fail."""

    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def seen(self, facts: Facts) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Leaf(Node):
    ctype: ConditionType
    params: Any
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        return None if self.ctype.check(facts, self.params) else self

    def describe(self) -> dict[str, Any]:
        return {"type": self.ctype.name, "params": self.params.model_dump(mode="json", exclude_defaults=True)}

    def seen(self, facts: Facts) -> Any:
        return dict(self.ctype.observe(facts, self.params))


@dataclass(frozen=True, slots=True)
class AllOf(Node):
    children: tuple[Node, ...]
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        for child in self.children:
            failed = child.first_failure(facts)
            if failed is not None:
                return failed
        return None

    def describe(self) -> dict[str, Any]:
        return {"all": [c.describe() for c in self.children]}

    def seen(self, facts: Facts) -> Any:
        return [c.seen(facts) for c in self.children]


@dataclass(frozen=True, slots=True)
class AnyOf(Node):
    children: tuple[Node, ...]
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        for child in self.children:
            if child.first_failure(facts) is None:
                return None
        return self

    def describe(self) -> dict[str, Any]:
        return {"any": [c.describe() for c in self.children]}

    def seen(self, facts: Facts) -> Any:
        return [c.seen(facts) for c in self.children]


@dataclass(frozen=True, slots=True)
class NotOf(Node):
    child: Node
    path: str
    line: int | None

    def first_failure(self, facts: Facts) -> Node | None:
        return self if self.child.first_failure(facts) is None else None

    def describe(self) -> dict[str, Any]:
        return {"not": self.child.describe()}

    def seen(self, facts: Facts) -> Any:
        return self.child.seen(facts)


@dataclass(frozen=True, slots=True)
class CompiledAction:
    atype: ActionType
    params: Any
    index: int
    line: int | None

    @property
    def name(self) -> str:
        return self.atype.name


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    description: str
    enabled: bool
    mode: Literal["each", "digest"]
    condition: AllOf
    actions: tuple[CompiledAction, ...]
    line: int | None


# --- the plan -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One rule against one booking: matched, or the first condition that failed."""

    rule: CompiledRule
    facts: Facts
    failed: Node | None

    @property
    def matched(self) -> bool:
        return self.failed is None

    def explain(self) -> dict[str, Any]:
        """The reason, with the values the failing condition saw (computed on demand)."""
        if self.failed is None:
            return {"rule": self.rule.name, "matched": True}
        return {
            "rule": self.rule.name,
            "matched": False,
            "failed": self.failed.path,
            "condition": self.failed.describe(),
            "seen": self.failed.seen(self.facts),
        }


@dataclass
class Plan:
    """Every enabled rule evaluated against every booking, in order. Building it has no side effects."""

    rules: tuple[CompiledRule, ...]
    evaluations: list[list[Evaluation]] = field(default_factory=list)  # per booking, per rule
    facts: list[Facts] = field(default_factory=list)  # per booking, in order

    def matches(self) -> Iterable[Evaluation]:
        for per_booking in self.evaluations:
            for evaluation in per_booking:
                if evaluation.matched:
                    yield evaluation

    def for_booking(self, booking_num: str) -> list[Evaluation]:
        for per_booking in self.evaluations:
            if per_booking and per_booking[0].facts.booking.booking_num == booking_num:
                return per_booking
        return []

    def digest_groups(self) -> dict[str, list[Facts]]:
        groups: dict[str, list[Facts]] = {r.name: [] for r in self.rules if r.mode == "digest"}
        for evaluation in self.matches():
            if evaluation.rule.mode == "digest":
                groups[evaluation.rule.name].append(evaluation.facts)
        return groups


ContextFactory = Callable[[CompiledRule, Facts | None, Sequence[Facts]], ActionContext]


class RuleEngine:
    """Registries, compilation, evaluation and execution."""

    def __init__(self, *, with_builtin_conditions: bool = True) -> None:
        self.conditions: dict[str, ConditionType] = {}
        self.actions: dict[str, ActionType] = {}
        #: the services given to `register_actions` at bootstrap (the runtime hands the same bundle to every
        #: ActionContext it makes: `Runtime.services`)
        self.services: ActionServicesBundle | None = None
        if with_builtin_conditions:
            for ctype in CONDITIONS:
                self.register_condition(ctype)

    # registries

    def register_condition(self, ctype: ConditionType) -> None:
        if ctype.name in self.conditions:
            raise ValueError(f"condition type {ctype.name!r} is registered already")
        self.conditions[ctype.name] = ctype

    def register_action(self, atype: ActionType) -> None:
        if atype.name in self.actions:
            raise ValueError(f"action type {atype.name!r} is registered already")
        self.actions[atype.name] = atype

    # compilation

    def compile(self, config: AppConfig) -> tuple[CompiledRule, ...]:
        """Validate and compile the rules of `config`. Raises `ConfigErrors` listing every problem."""
        compiler = _Compiler(self, config)
        rules = compiler.compile_all(config.rules)
        if compiler.errors:
            raise ConfigErrors(compiler.errors)
        return rules

    # evaluation

    def evaluate(self, rules: Sequence[CompiledRule], facts: Iterable[Facts]) -> Plan:
        enabled = tuple(r for r in rules if r.enabled)
        plan = Plan(rules=enabled)
        append = plan.evaluations.append
        for f in facts:
            plan.facts.append(f)
            append([Evaluation(rule, f, rule.condition.first_failure(f)) for rule in enabled])
        return plan

    # execution

    def execute(self, plan: Plan, make_context: ContextFactory, report: RunReport) -> None:
        """Run the actions of every match: per booking in order, rules in order; then digest rules once.

        A failing action is wrapped in `ActionExecutionError`, logged and counted; the rule's later actions
        do not run; the engine goes on with the next rule and booking. An action that reports `skipped`
        (e.g. the SMS went out already, or another run holds it) quietly ends its rule for that booking.
        """
        self._walk(plan, make_context, report, self._run_actions)

    def preview(self, plan: Plan, make_context: ContextFactory, report: RunReport) -> None:
        """What `execute` would do, without doing it: dry runs and `naver-sms plan`."""
        self._walk(plan, make_context, report, self._preview_actions)

    def _walk(
        self,
        plan: Plan,
        make_context: ContextFactory,
        report: RunReport,
        act: Callable[[CompiledRule, ActionContext, RunReport], None],
    ) -> None:
        """Every match in order - per booking, rules in order - then each digest rule once."""
        for per_booking in plan.evaluations:
            for evaluation in per_booking:
                if evaluation.matched and evaluation.rule.mode == "each":
                    report.rules_matched[evaluation.rule.name] += 1
                    act(evaluation.rule, make_context(evaluation.rule, evaluation.facts, ()), report)
        for name, group in plan.digest_groups().items():
            if group:
                rule = next(r for r in plan.rules if r.name == name)
                report.rules_matched[name] += len(group)
                act(rule, make_context(rule, None, group), report)

    def _preview_actions(self, rule: CompiledRule, ctx: ActionContext, report: RunReport) -> None:
        for action in rule.actions:
            report.actions[(rule.name, action.name, "planned")] += 1
            if action.atype.preview is not None:
                try:
                    _record(report, action.atype.preview(ctx, action.params))
                except Exception as exc:  # a template that cannot render: show it, as execute would fail
                    cause = _record_partial(report, exc)
                    report.errors.append(
                        RunError(
                            "action",
                            f"{action.name}: {cause}",
                            rule=rule.name,
                            action=action.name,
                            booking_num=ctx.booking_id,
                        )
                    )
                    return  # as in a real run, the rule's later actions would not run

    def _run_actions(self, rule: CompiledRule, ctx: ActionContext, report: RunReport) -> None:
        for action in rule.actions:
            try:
                try:
                    result = action.atype.execute(ctx, action.params)
                except ActionExecutionError:
                    raise
                except Exception as exc:
                    raise ActionExecutionError(action.name, ctx.booking_id, exc, {"rule": rule.name}) from exc
            except ActionExecutionError as err:
                report.actions[(rule.name, action.name, "failed")] += 1
                _record_partial(report, err)
                report.errors.append(
                    RunError(
                        "action",
                        str(err.original_error),
                        rule=rule.name,
                        action=action.name,
                        booking_num=ctx.booking_id,
                        store_id=ctx.store.id if ctx.store else None,
                    )
                )
                log.error(
                    json.dumps(
                        {
                            "event": "action_failed",
                            "rule": rule.name,
                            "action": action.name,
                            "booking_id": ctx.booking_id,
                            "error_type": type(err.original_error).__name__,
                            "skipped_actions": [a.name for a in rule.actions[action.index + 1 :]],
                        },
                        ensure_ascii=False,
                    )
                )
                return
            report.actions[(rule.name, action.name, result.status)] += 1
            _record(report, result)
            if result.status in ("skipped", "disabled"):
                # nothing went out (done elsewhere, or the channel is off): what follows (e.g. an
                # update_flag marking bookings as notified) must not run
                return


def _record_partial(report: RunReport, exc: Exception) -> BaseException:
    """Record what a failing action did before it failed (e.g. the failed SMS); returns the cause."""
    if not isinstance(exc, ActionExecutionError):
        return exc
    partial = exc.context_data.get("result")
    if isinstance(partial, ActionResult):
        _record(report, partial)
    return exc.original_error


def _record(report: RunReport, result: ActionResult) -> None:
    report.sms.extend(result.sms)
    report.flags.extend(result.flags)
    report.notifications.extend(result.notifications)


# --- the compiler -------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, engine: RuleEngine, config: AppConfig) -> None:
        self.engine = engine
        self.config = config
        self.file = str(config.rules_file)
        self.errors: list[ConfigError] = []

    def error(
        self,
        message: str,
        *,
        line: int | None,
        rule: str | None,
        field: str | None,
        suggestion: str | None = None,
    ) -> None:
        self.errors.append(
            ConfigError(message, file=self.file, line=line, rule=rule, field=field, suggestion=suggestion)
        )

    def compile_all(self, raw_rules: Any) -> tuple[CompiledRule, ...]:
        compiled: list[CompiledRule] = []
        names: set[str] = set()
        for index, raw in enumerate(raw_rules):
            where = f"rules[{index}]"
            if not isinstance(raw, dict):
                self.error("a rule must be a mapping", line=line_of(raw_rules, index), rule=None, field=where)
                continue
            name = raw.get("name")
            if name is None or name == "":
                self.error("required field is missing", line=line_of(raw), rule=None, field=f"{where}.name")
                name = where
            elif not isinstance(name, str):  # `name: off` is a YAML boolean
                self.error(
                    f"must be text, got {name!r} (quote it)",
                    line=line_of(raw, "name"),
                    rule=None,
                    field=f"{where}.name",
                )
                name = where
            elif not re.match(_NAME_PATTERN, name):
                self.error(
                    "a rule name is letters, digits, '_', '.' or '-' (it keys reports and logs)",
                    line=line_of(raw, "name"),
                    rule=name,
                    field="name",
                )
            elif name in names:
                self.error("duplicate rule name", line=line_of(raw, "name"), rule=name, field="name")
            names.add(name)
            rule = self.compile_rule(raw, name)
            if rule is not None:
                compiled.append(rule)
        return tuple(compiled)

    def compile_rule(self, raw: dict[str, Any], name: str) -> CompiledRule | None:
        before = len(self.errors)
        for key in raw:
            if key not in _RULE_FIELDS:
                self.error(
                    "unknown field",
                    line=line_of(raw, key),
                    rule=name,
                    field=key,
                    suggestion=suggest(key, _RULE_FIELDS),
                )
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            self.error("must be true or false", line=line_of(raw, "enabled"), rule=name, field="enabled")
        mode = raw.get("mode", "each")
        if mode not in ("each", "digest"):
            self.error(
                "must be `each` or `digest`",
                line=line_of(raw, "mode"),
                rule=name,
                field="mode",
                suggestion=suggest(str(mode), ("each", "digest")),
            )
            mode = "each"
        conditions = raw.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            self.error(
                "a rule needs a non-empty list of conditions",
                line=line_of(raw, "conditions"),
                rule=name,
                field="conditions",
            )
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
            self.error(
                "a rule needs a non-empty list of actions",
                line=line_of(raw, "actions"),
                rule=name,
                field="actions",
            )
            actions_raw = []
        actions = [
            a
            for i, r in enumerate(actions_raw)
            if (a := self.action(r, name, i, line_of(actions_raw, i), mode)) is not None
        ]
        actions = self.link_guards(actions, name, mode)
        if len(self.errors) > before:
            return None
        return CompiledRule(
            name, str(raw.get("description", "")), bool(enabled), mode, root, tuple(actions), line_of(raw)
        )

    def condition(self, raw: Any, rule: str, path: str, line: int | None) -> Node:
        if isinstance(raw, str):  # a bare type name: `- booking_not_in_db`
            raw_dict: Any = LineDict(type=raw)
            raw_dict.line, raw_dict.key_lines = line or 0, {}
            raw = raw_dict
        if not isinstance(raw, dict):
            self.error(
                "a condition must be a mapping like {type: ..., params: {...}}",
                line=line,
                rule=rule,
                field=path,
            )
            return AllOf((), path, line)
        line = line_of(raw) or line
        for combinator in ("all", "any"):
            if combinator in raw:
                if len(raw) != 1:
                    self.error(
                        f"`{combinator}` stands alone in its mapping", line=line, rule=rule, field=path
                    )
                items = raw[combinator]
                if not isinstance(items, list) or not items:
                    self.error(f"`{combinator}` takes a non-empty list", line=line, rule=rule, field=path)
                    return AllOf((), path, line)
                children = tuple(
                    self.condition(c, rule, f"{path}.{combinator}[{i}]", line_of(items, i))
                    for i, c in enumerate(items)
                )
                return AllOf(children, path, line) if combinator == "all" else AnyOf(children, path, line)
        if "not" in raw:
            if len(raw) != 1:
                self.error("`not` stands alone in its mapping", line=line, rule=rule, field=path)
            return NotOf(self.condition(raw["not"], rule, f"{path}.not", line_of(raw, "not")), path, line)
        for key in raw:
            if key not in ("type", "params"):
                self.error(
                    "unknown field",
                    line=line_of(raw, key),
                    rule=rule,
                    field=f"{path}.{key}",
                    suggestion=suggest(key, ("type", "params", "any", "all", "not")),
                )
        ctype_name = raw.get("type")
        ctype = self.engine.conditions.get(ctype_name) if isinstance(ctype_name, str) else None
        if ctype is None:
            self.error(
                f"unknown condition type {ctype_name!r}",
                line=line_of(raw, "type"),
                rule=rule,
                field=f"{path}.type",
                suggestion=suggest(str(ctype_name), self.engine.conditions),
            )
            return AllOf((), path, line)
        params = self.params(
            ctype.params, raw.get("params"), rule, f"{path}.params", line_of(raw, "params") or line
        )
        if params is None:
            return AllOf((), path, line)
        return Leaf(ctype, params, path, line)

    def params(self, model: type[BaseModel], raw: Any, rule: str, path: str, line: int | None) -> Any:
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            self.error("params must be a mapping", line=line, rule=rule, field=path)
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            known = set(model.model_fields)
            for err in validation_errors(
                exc, raw, file=self.file, rule=rule, prefix=f"{path}.", known_fields=known
            ):
                err.line = err.line or line
                self.errors.append(
                    ConfigError(
                        err.message,
                        file=self.file,
                        line=err.line,
                        rule=rule,
                        field=err.field,
                        suggestion=err.suggestion,
                    )
                )
            return None

    def action(
        self, raw: Any, rule: str, index: int, line: int | None, mode: Literal["each", "digest"]
    ) -> CompiledAction | None:
        path = f"actions[{index}]"
        if isinstance(raw, str):
            raw = {"type": raw}
        if not isinstance(raw, dict):
            self.error(
                "an action must be a mapping like {type: ..., params: {...}}",
                line=line,
                rule=rule,
                field=path,
            )
            return None
        for key in raw:
            if key not in ("type", "params"):
                self.error(
                    "unknown field",
                    line=line_of(raw, key),
                    rule=rule,
                    field=f"{path}.{key}",
                    suggestion=suggest(key, ("type", "params")),
                )
        name = raw.get("type")
        atype = self.engine.actions.get(name) if isinstance(name, str) else None
        if atype is None:
            self.error(
                f"unknown action type {name!r}",
                line=line_of(raw, "type") or line,
                rule=rule,
                field=f"{path}.type",
                suggestion=suggest(str(name), self.engine.actions),
            )
            return None
        if mode == "digest" and not atype.digest:
            self.error(
                f"{atype.name} cannot run in a digest rule",
                line=line_of(raw, "type") or line,
                rule=rule,
                field=f"{path}.type",
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
                    line=line_of(params_node, field_name.split(".")[0])
                    if isinstance(params_node, dict)
                    else line,
                    rule=rule,
                    field=f"{path}.params.{field_name}",
                    suggestion=suggestion,
                )
        return CompiledAction(atype, params, index, line)

    def link_guards(
        self, actions: list[CompiledAction], rule: str, mode: Literal["each", "digest"]
    ) -> list[CompiledAction]:
        """A rule that sends and then sets a flag claims that flag first.

        Each `send_sms` without its own `flag` is guarded by the rule's next `update_flag(flag, value: true)`
        before another `send_sms` (messages to the owner in between are passed over); it must be guarded,
        or it would send on every run. Each `send_telegram` / `send_slack` without its own `flag` is guarded
        by the next `update_flag(flag, value: true)` when no other send comes first and no earlier send of
        the rule is guarded by that flag; otherwise it stays unguarded, as it is allowed to. Two sends of
        one rule guarded by the same flag are an error: the second would never go out.

        An `update_flag(flag, value: true)` after a send guarded by `flag` writes nothing: the send
        committed exactly what went out (in a digest, only the bookings it listed), and a write of its own
        could mark bookings that another run holds or that were never posted."""
        messages = ("send_telegram", "send_slack")
        linked = list(actions)
        guarded: set[str] = set()
        for i, action in enumerate(linked):
            field = f"actions[{action.index}]"
            if action.name == "update_flag":
                if action.params.value and action.params.flag in guarded:
                    linked[i] = CompiledAction(
                        replace(action.atype, execute=_set_by_its_send),
                        action.params,
                        action.index,
                        action.line,
                    )
                continue
            if action.name not in ("send_sms", *messages):
                continue
            flag: str | None = getattr(action.params, "flag", None)
            if flag is None:
                flag = self._guard_of(linked[i + 1 :], action.name)
                if flag is None and action.name == "send_sms":
                    self.error(
                        "send_sms needs a flag, or it would send on every run: follow it with "
                        "update_flag(flag: ..., value: true) or give it `flag`",
                        line=action.line,
                        rule=rule,
                        field=field,
                    )
                    continue
                if flag is None or (flag in guarded and action.name != "send_sms"):
                    continue  # an unguarded message: posted each time the rule gets this far
                linked[i] = CompiledAction(
                    action.atype, action.params.model_copy(update={"flag": flag}), action.index, action.line
                )
            if flag in guarded:
                self.error(
                    f"{flag} already guards an earlier send of this rule: this {action.name} would never "
                    "go out (it finds the flag set); give it a flag of its own",
                    line=action.line,
                    rule=rule,
                    field=f"{field}.params.flag" if getattr(action.params, "flag", None) else field,
                )
            guarded.add(flag)
        return linked

    @staticmethod
    def _guard_of(following: Sequence[CompiledAction], sender: str) -> str | None:
        """The flag of the next `update_flag(value: true)`, unless a send comes first (for `send_sms`, only
        another `send_sms` counts: messages to the owner between an SMS and its flag are common)."""
        stops = ("send_sms",) if sender == "send_sms" else ("send_sms", "send_telegram", "send_slack")
        for action in following:
            if action.name == "update_flag" and action.params.value:
                return str(action.params.flag)
            if action.name in stops:
                return None
        return None


def _set_by_its_send(ctx: ActionContext, params: Any) -> ActionResult:
    """The executor of an `update_flag` whose flag guards an earlier send of its rule (see `link_guards`)."""
    return ActionResult(status="noop", detail=f"{params.flag} is set by the send it guards")


def describe_rules(rules: Sequence[CompiledRule]) -> list[Mapping[str, Any]]:
    """A JSON-able view of compiled rules (for `rules check --json`)."""
    return [
        {
            "name": r.name,
            "enabled": r.enabled,
            "mode": r.mode,
            "line": r.line,
            "conditions": r.condition.describe()["all"],
            "actions": [
                {"type": a.name, "params": a.params.model_dump(mode="json", exclude_none=True)}
                for a in r.actions
            ],
        }
        for r in rules
    ]
