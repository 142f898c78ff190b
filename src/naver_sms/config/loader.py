"""Loading and validating the configuration directory (stores.yaml, templates.yaml, rules.yaml; docs/rules/)
before anything runs. Every error names the file, the line, the field and a suggestion for a misspelt name;
all errors of a load are raised together (`ConfigErrors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from naver_sms.config.models import AppConfig, SmsTemplate, StoreEntry, StoresFile, TemplatesFile
from naver_sms.config.yaml_lines import LineDict, line_of, load_yaml
from naver_sms.domain.booking import Store
from naver_sms.domain.sms_text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    SUBJECT_MAX_BYTES,
    euc_kr_length,
    non_euc_kr_chars,
)
from naver_sms.errors import ConfigError, ConfigErrors, did_you_mean

STORES_FILE = "stores.yaml"
TEMPLATES_FILE = "templates.yaml"
RULES_FILE = "rules.yaml"

M = TypeVar("M", bound=BaseModel)


def _locate(data: Any, loc: Sequence[str | int]) -> tuple[int | None, str]:
    """Walk a pydantic error location through the loaded YAML to the deepest line we know."""
    line = line_of(data)
    node = data
    parts: list[str] = []
    for part in loc:
        key_line = line_of(node, part)
        if key_line is not None:
            line = key_line
        parts.append(f"[{part}]" if isinstance(part, int) else (("." if parts else "") + str(part)))
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    return line, "".join(parts)


def validation_errors(
    exc: ValidationError,
    data: Any,
    *,
    file: str,
    rule: str | None = None,
    prefix: str = "",
    known_fields: Iterable[str] = (),
) -> list[ConfigError]:
    """Translate pydantic's errors into located `ConfigError`s (with a suggestion for unknown fields)."""
    errors = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        line, field = _locate(data, loc)
        message = err["msg"]
        suggestion = None
        if err["type"] == "extra_forbidden" and loc:
            message = "unknown field"
            suggestion = did_you_mean(str(loc[-1]), known_fields)
        elif err["type"] == "missing":
            message = "required field is missing"
        # a model-level validator has no field of its own: name the model, not "params."
        located = prefix + field if field else prefix.rstrip(".") or None
        errors.append(
            ConfigError(message, file=file, line=line, rule=rule, field=located, suggestion=suggestion)
        )
    return errors


def _parse(model: type[M], data: Any, file: str, errors: list[ConfigError]) -> M | None:
    if not isinstance(data, dict):
        errors.append(ConfigError("expected a mapping at the top of the file", file=file, line=1))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        known = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
        nested: set[str] = set()
        for f in ("stores", "sms"):
            if f in model.model_fields:
                nested |= _nested_fields(f)
        errors.extend(validation_errors(exc, data, file=file, known_fields=known | nested))
        return None


def _nested_fields(name: str) -> set[str]:
    model: type[BaseModel] = StoreEntry if name == "stores" else SmsTemplate
    return set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}


_RULES_FILE_KEYS = ("rules",)


def _unknown_top_level_keys(data: Any, file: str, errors: list[ConfigError]) -> bool:
    """rules.yaml holds `rules:` and nothing else: any other key (`rulez:`) would be silently ignored.
    Returns whether one of them looks like a misspelt `rules`."""
    if not isinstance(data, dict):
        return False
    misspelt = False
    for key in data:
        if key in _RULES_FILE_KEYS:
            continue
        close = did_you_mean(key, _RULES_FILE_KEYS) or ("rules" if key.lower().startswith("rule") else None)
        misspelt = misspelt or close is not None
        errors.append(
            ConfigError(
                "unknown top-level key (rules.yaml holds only `rules:`)",
                file=file,
                line=line_of(data, key),
                field=key,
                suggestion=close,
            )
        )
    return misspelt


def _check_template(
    name: str,
    tpl: SmsTemplate,
    default_subject: str,
    file: str,
    data: Any,
    errors: list[ConfigError],
    warnings: list[str],
) -> None:
    node = data.get("sms", {}).get(name) if isinstance(data, dict) else None
    line = line_of(node, "text") if isinstance(node, LineDict) else None
    size = euc_kr_length(tpl.text)
    limit = SMS_MAX_BYTES if tpl.type == "SMS" else LMS_MAX_BYTES
    if size > limit:
        errors.append(
            ConfigError(
                f"text is {size} bytes in EUC-KR, over the {tpl.type} limit of {limit} (SENS would truncate it)",
                file=file,
                line=line,
                field=f"sms.{name}.text",
            )
        )
    subject = tpl.subject if tpl.subject is not None else default_subject
    if euc_kr_length(subject) > SUBJECT_MAX_BYTES:
        errors.append(
            ConfigError(
                f"subject is {euc_kr_length(subject)} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}",
                file=file,
                line=line_of(node, "subject") if isinstance(node, LineDict) else None,
                field=f"sms.{name}.subject",
            )
        )
    odd = non_euc_kr_chars(tpl.text + subject)
    if odd:
        shown = " ".join(f"{c!r}(U+{ord(c):04X})" for c in odd)
        warnings.append(
            f"{file}:{line or '?'}: sms.{name}: characters outside EUC-KR, kept as written "
            f"(SENS may drop or reject them): {shown}"
        )


def load_config(config_dir: Path | str) -> AppConfig:
    """Load and validate `stores.yaml`, `templates.yaml` and `rules.yaml` (the rules' shape only; the
    rule engine validates conditions and actions). Raises `ConfigErrors` listing every problem found."""
    config_dir = Path(config_dir)
    errors: list[ConfigError] = []
    warnings: list[str] = []
    stores_path, templates_path, rules_path = (
        config_dir / n for n in (STORES_FILE, TEMPLATES_FILE, RULES_FILE)
    )

    raw: dict[Path, Any] = {}
    for path in (stores_path, templates_path, rules_path):
        try:
            raw[path] = load_yaml(path)
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise ConfigErrors(errors)

    stores_file = _parse(StoresFile, raw[stores_path], str(stores_path), errors)
    templates_file = _parse(TemplatesFile, raw[templates_path], str(templates_path), errors)
    rules_raw = raw[rules_path]
    misspelt = _unknown_top_level_keys(rules_raw, str(rules_path), errors)
    if not misspelt and (  # a misspelt `rulez:` said it already
        not isinstance(rules_raw, dict) or not isinstance(rules_raw.get("rules"), list)
    ):
        errors.append(
            ConfigError("expected `rules:` with a list of rules", file=str(rules_path), line=1, field="rules")
        )
    if stores_file is None or templates_file is None or errors:
        raise ConfigErrors(errors)

    for name, tpl in templates_file.sms.items():
        _check_template(
            name, tpl, stores_file.subject, str(templates_path), raw[templates_path], errors, warnings
        )

    seen_ids: set[str] = set()
    stores: dict[str, Store] = {}
    stores_data = raw[stores_path]["stores"]
    for index, entry in enumerate(stores_file.stores):
        node = stores_data[index]
        if entry.id in seen_ids:
            errors.append(
                ConfigError(
                    f"duplicate store id {entry.id}",
                    file=str(stores_path),
                    line=line_of(node, "id"),
                    field=f"stores[{index}].id",
                )
            )
        seen_ids.add(entry.id)
        for role, template in entry.templates.items():
            if template not in templates_file.sms:
                errors.append(
                    ConfigError(
                        f"unknown SMS template {template!r}",
                        file=str(stores_path),
                        line=line_of(node.get("templates"), role),
                        field=f"stores[{index}].templates.{role}",
                        suggestion=did_you_mean(template, templates_file.sms),
                    )
                )
        stores[entry.id] = Store(
            id=entry.id,
            name=entry.name,
            alias=entry.alias,
            sender=entry.sender,
            templates=MappingProxyType(dict(entry.templates)),
        )
    if errors:
        raise ConfigErrors(errors)
    return AppConfig(
        config_dir=config_dir,
        stores=MappingProxyType(stores),
        sms_templates=MappingProxyType(dict(templates_file.sms)),
        default_sender=stores_file.default_sender,
        subject=stores_file.subject,
        option_keywords=tuple(stores_file.option_keywords),
        rules=rules_raw["rules"],
        rules_file=rules_path,
        warnings=tuple(warnings),
    )
