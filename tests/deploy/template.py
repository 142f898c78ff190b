"""deploy/template.yaml as the tests read it: parsed, transformed by AWS SAM's translator (what CloudFormation
deploys), and its simple intrinsics (parameters, pseudo parameters, mappings, conditions) resolved.

The image tests take the function's environment from here, so the container runs with the stack's settings.
"""

from __future__ import annotations

import copy
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "PARAMETERS",
    "TEMPLATE",
    "condition",
    "emitted_metrics_assumed",
    "function_environment",
    "raw_template",
    "resolve",
    "transformed",
]

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "template.yaml"
REGION = "ap-northeast-2"
ACCOUNT = "000000000000"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:naver-sms/credentials-AbCdEf"
#: The parameters without a default, as a deployer gives them.
PARAMETERS: dict[str, Any] = {
    "ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/naver-sms:1",
    "Live": "true",
    "CreateTables": "true",
    "SecretArns": [SECRET_ARN],
}
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": "naver-sms",
    "AWS::URLSuffix": "amazonaws.com",
}


class Unresolved(ValueError):
    """An intrinsic that names a resource (known only once deployed)."""


@cache
def _parsed() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


def raw_template() -> dict[str, Any]:
    """The template as written (SAM resources, `Fn::` forms of the short tags)."""
    return copy.deepcopy(_parsed())


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only when a template uses them by name; this one
    uses none (its role is written out), so no AWS call is ever needed."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(**parameters: Any) -> dict[str, Any]:
    """The CloudFormation template SAM's transform makes of it, for these parameter values."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator's partition lookup
    values = {**PARAMETERS, **parameters}
    result: dict[str, Any] = transform(raw_template(), values, _NoManagedPolicies())
    return result


def _parameter_value(template: dict[str, Any], name: str, parameters: dict[str, Any]) -> Any:
    if name in PSEUDO:
        return PSEUDO[name]
    if name in parameters:
        return parameters[name]
    declared = template.get("Parameters", {}).get(name)
    if declared is None:
        raise Unresolved(f"Ref {name} (a resource)")
    if "Default" not in declared:
        raise Unresolved(f"parameter {name} has no default")
    default = declared["Default"]
    if declared.get("Type") == "CommaDelimitedList":
        return [s.strip() for s in str(default).split(",")]
    return default


def resolve(
    value: Any,
    parameters: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
    *,
    keep_resources: bool = False,
) -> Any:
    """`value` with Ref (parameters, pseudo parameters), Fn::FindInMap, Fn::Sub, Fn::Join, Fn::If and
    Fn::Split worked out; raises `Unresolved` for anything that names a resource (`keep_resources`: a
    `Ref` to a resource or an `Fn::GetAtt` stays as it is)."""
    template = template if template is not None else _parsed()
    params = {**PARAMETERS, **(parameters or {})}
    if isinstance(value, list):
        return [resolve(v, params, template, keep_resources=keep_resources) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: resolve(v, params, template, keep_resources=keep_resources) for k, v in value.items()}
    [(key, arg)] = value.items()
    if key == "Ref":
        if keep_resources and arg in template.get("Resources", {}):
            return value
        return _parameter_value(template, arg, params)
    if key == "Fn::GetAtt" and keep_resources:
        return value
    if key == "Fn::FindInMap":
        mapping, top, second = (resolve(a, params, template) for a in arg)
        return template["Mappings"][mapping][top][second]
    if key == "Fn::Join":
        separator, items = arg
        return str(separator).join(str(i) for i in resolve(items, params, template))
    if key == "Fn::Split":
        separator, text = arg
        return str(resolve(text, params, template)).split(separator)
    if key == "Fn::If":
        name, yes, no = arg
        return resolve(yes if condition(name, params, template) else no, params, template)
    if key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        local = {k: resolve(v, params, template) for k, v in variables.items()}

        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in local:
                return str(local[name])
            if "." in name:
                raise Unresolved(f"${{{name}}} (a resource attribute)")
            return str(_parameter_value(template, name, params))

        return re.sub(r"\$\{([^}!]+)\}", one, text)
    if key.startswith("Fn::") or key == "Condition":
        raise Unresolved(key)
    return {key: resolve(arg, params, template)}


def condition(
    name: str, parameters: dict[str, Any] | None = None, template: dict[str, Any] | None = None
) -> bool:
    """A condition of the template, evaluated for these parameters."""
    template = template if template is not None else _parsed()
    params = {**PARAMETERS, **(parameters or {})}
    return bool(_evaluate(template["Conditions"][name], params, template))


def _evaluate(expression: Any, params: dict[str, Any], template: dict[str, Any]) -> Any:
    [(key, arg)] = expression.items()
    if key == "Fn::Equals":
        left, right = (resolve(a, params, template) for a in arg)
        return str(left) == str(right)
    if key == "Fn::Not":
        return not _evaluate(arg[0], params, template)
    if key == "Fn::And":
        return all(_evaluate(a, params, template) for a in arg)
    if key == "Fn::Or":
        return any(_evaluate(a, params, template) for a in arg)
    if key == "Condition":
        return condition(arg, params, template)
    raise Unresolved(key)


def emitted_metrics_assumed() -> dict[str, str]:
    """What the alarms assume the handler emits: the template's `HandlerMetrics` mapping."""
    emitted: dict[str, str] = _parsed()["Mappings"]["HandlerMetrics"]["Emitted"]
    return dict(emitted)


def function_environment(**overrides: str) -> dict[str, str]:
    """The function's environment as the stack sets it, with `overrides` for the values that name AWS
    resources (those must all be overridden)."""
    variables = _parsed()["Resources"]["RunFunction"]["Properties"]["Environment"]["Variables"]
    env: dict[str, str] = {}
    for name, value in variables.items():
        if name in overrides:
            env[name] = overrides[name]
            continue
        try:
            env[name] = str(resolve(value))
        except Unresolved as exc:
            raise AssertionError(f"{name} names an AWS resource ({exc}): give it in the overrides") from None
    unknown = set(overrides) - set(variables)
    assert not unknown, f"not variables of the function: {sorted(unknown)}"
    return env
