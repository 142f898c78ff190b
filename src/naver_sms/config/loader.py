"""Loading and validating the configuration directory (stores.yaml, templates.yaml, rules.yaml, the optional
opt-out.txt; docs/rules/) before anything runs. Every error names the file, the line, the field and a
suggestion for a misspelt name; all errors of a load are raised together (`ConfigErrors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from naver_sms.config.advertising import advertising_problems
from naver_sms.config.models import (
    PATTERN_EXAMPLES,
    AppConfig,
    SmsTemplate,
    StoreEntry,
    StoresFile,
    TemplatesFile,
)
from naver_sms.config.opt_out import OPT_OUT_FILE, read_opt_out
from naver_sms.config.reports import load_reports
from naver_sms.config.yaml_lines import LineDict, line_of, load_yaml, nested_key_line
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


def _node_at(data: Any, loc: Sequence[str | int]) -> Any:
    node = data
    for part in loc:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


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
            deeper = nested_key_line(_node_at(data, loc[:-1]), str(loc[-1])) if loc else None
            if deeper is not None:  # written, one level too deep: say where, not only where it is missing
                message = (
                    f"required field is missing here: the `{loc[-1]}:` of line {deeper} is indented too deep "
                    "(check its indentation)"
                )
                line = deeper
        elif err["type"] == "string_pattern_mismatch":
            example = PATTERN_EXAMPLES.get(str(err.get("ctx", {}).get("pattern")))
            got = err.get("input")
            message = (
                f"must look like {example[0]!r} ({example[1]}), got {got!r}"
                if example
                else f"{err['msg']}, got {got!r}"
            )
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
    default_subject: str | None,
    file: str,
    data: Any,
    errors: list[ConfigError],
    warnings: list[str],
) -> None:
    """A text without variables is sent as written: measured here, exactly. One with variables is measured
    as it renders (naver_sms.rules.config_check), never as written."""
    node = data.get("sms", {}).get(name) if isinstance(data, dict) else None
    line = line_of(node, "text") if isinstance(node, LineDict) else None
    size = euc_kr_length(tpl.text)
    limit = SMS_MAX_BYTES if tpl.type == "SMS" else LMS_MAX_BYTES
    if "{" not in tpl.text and size > limit:
        auto = " - make it `type: auto` to send it as an LMS (2,000 bytes)" if tpl.type == "SMS" else ""
        errors.append(
            ConfigError(
                f"text is {size} bytes in EUC-KR, over the {tpl.type} limit of {limit} (SENS would truncate "
                f"it){auto}",
                file=file,
                line=line,
                field=f"sms.{name}.text",
            )
        )
    subject = tpl.subject if tpl.subject is not None else default_subject
    if subject is not None and "{" not in subject and euc_kr_length(subject) > SUBJECT_MAX_BYTES:
        errors.append(
            ConfigError(
                f"subject is {euc_kr_length(subject)} bytes in EUC-KR, over the limit of {SUBJECT_MAX_BYTES}",
                file=file,
                line=line_of(node, "subject") if isinstance(node, LineDict) else None,
                field=f"sms.{name}.subject",
            )
        )
    if tpl.content_type == "AD":
        sender = (default_subject or "").removesuffix(" 안내").strip() or "상호"
        for problem in advertising_problems(tpl.text, sender=sender):
            errors.append(ConfigError(problem, file=file, line=line, field=f"sms.{name}.text"))
    odd = non_euc_kr_chars(tpl.text + (subject or ""))
    if odd:
        shown = " ".join(f"{c!r}(U+{ord(c):04X})" for c in odd)
        warnings.append(
            f"{file}:{line or '?'}: sms.{name}: characters outside EUC-KR, kept as written "
            f"(SENS may drop or reject them): {shown}"
        )


def _text_lines(data: Any) -> dict[str, tuple[int | None, bool]]:
    """Where each template's text and subject start in templates.yaml (`confirmation.text` -> (line, block))."""
    found: dict[str, tuple[int | None, bool]] = {}
    sms = data.get("sms") if isinstance(data, dict) else None
    for name, node in (sms or {}).items():
        if isinstance(node, LineDict):
            for key in ("text", "subject"):
                start, block = node.text_lines.get(key, (node.key_lines.get(key), False))
                found[f"{name}.{key}"] = (start, block)
    return found


def _stores(
    stores_file: StoresFile,
    data: Any,
    file: str,
    templates: Mapping[str, SmsTemplate] | None,
    errors: list[ConfigError],
) -> dict[str, Store]:
    seen_ids: set[str] = set()
    stores: dict[str, Store] = {}
    for index, entry in enumerate(stores_file.stores):
        node = data["stores"][index]
        if entry.id in seen_ids:
            errors.append(
                ConfigError(
                    f"duplicate store id {entry.id}",
                    file=file,
                    line=line_of(node, "id"),
                    field=f"stores[{index}].id",
                )
            )
        seen_ids.add(entry.id)
        for role, template in entry.templates.items():
            if templates is not None and template not in templates:  # unknown when templates.yaml is broken
                errors.append(
                    ConfigError(
                        f"unknown SMS template {template!r}",
                        file=file,
                        line=line_of(node.get("templates"), role),
                        field=f"stores[{index}].templates.{role}",
                        suggestion=did_you_mean(template, templates),
                    )
                )
        stores[entry.id] = Store(
            id=entry.id,
            name=entry.name,
            alias=entry.alias,
            sender=entry.sender,
            templates=MappingProxyType(dict(entry.templates)),
        )
    return stores


def read_config(config_dir: Path | str) -> tuple[AppConfig, list[ConfigError]]:
    """Load and check every file on its own, so that one file's errors never hide another's: the
    configuration - a file that could not be loaded contributes nothing and is named in `broken` - and every
    error found. (The rules' conditions and actions are the rule engine's to check.)"""
    config_dir = Path(config_dir)
    errors: list[ConfigError] = []
    warnings: list[str] = []
    paths = {name: config_dir / name for name in (STORES_FILE, TEMPLATES_FILE, RULES_FILE)}
    raw: dict[str, Any] = {}
    for name, path in paths.items():
        try:
            raw[name] = load_yaml(path)
        except ConfigError as exc:
            errors.append(exc)
    stores_path, templates_path, rules_path = (
        str(paths[n]) for n in (STORES_FILE, TEMPLATES_FILE, RULES_FILE)
    )
    stores_file = _parse(StoresFile, raw[STORES_FILE], stores_path, errors) if STORES_FILE in raw else None
    templates_file = (
        _parse(TemplatesFile, raw[TEMPLATES_FILE], templates_path, errors) if TEMPLATES_FILE in raw else None
    )
    rules: Any = None
    if RULES_FILE in raw:
        rules_raw = raw[RULES_FILE]
        misspelt = _unknown_top_level_keys(rules_raw, rules_path, errors)
        if isinstance(rules_raw, dict) and isinstance(rules_raw.get("rules"), list):
            rules = rules_raw["rules"]
        elif not misspelt:  # a misspelt `rulez:` said it already
            errors.append(
                ConfigError("expected `rules:` with a list of rules", file=rules_path, line=1, field="rules")
            )
    if templates_file is not None:
        for name, tpl in templates_file.sms.items():
            subject = stores_file.subject if stores_file is not None else None
            _check_template(name, tpl, subject, templates_path, raw[TEMPLATES_FILE], errors, warnings)
    templates = templates_file.sms if templates_file is not None else None
    stores = _stores(stores_file, raw[STORES_FILE], stores_path, templates, errors) if stores_file else {}
    broken = {
        name
        for name, loaded in (
            (STORES_FILE, stores_file),
            (TEMPLATES_FILE, templates_file),
            (RULES_FILE, rules),
        )
        if loaded is None
    }
    reports, _ = load_reports(config_dir, errors, validation_errors)
    opt_out_path = config_dir / OPT_OUT_FILE
    if opt_out_path.exists():
        try:
            read_opt_out(opt_out_path)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)
    config = AppConfig(
        config_dir=config_dir,
        stores=MappingProxyType(stores),
        sms_templates=MappingProxyType(dict(templates or {})),
        default_sender=stores_file.default_sender if stores_file else "",
        subject=stores_file.subject if stores_file else "",
        option_keywords=tuple(stores_file.option_keywords) if stores_file else (),
        rules=rules if rules is not None else [],
        rules_file=paths[RULES_FILE],
        warnings=tuple(warnings),
        broken=frozenset(broken),
        templates_file=paths[TEMPLATES_FILE],
        template_lines=MappingProxyType(_text_lines(raw.get(TEMPLATES_FILE))),
        reports=reports,
        opt_out_file=opt_out_path if opt_out_path.exists() else None,
    )
    return config, errors


def load_config(config_dir: Path | str) -> AppConfig:
    """Load and validate `stores.yaml`, `templates.yaml` and `rules.yaml` (the rules' shape only; the
    rule engine validates conditions and actions). Raises `ConfigErrors` listing every problem found."""
    config, errors = read_config(config_dir)
    if errors:
        raise ConfigErrors(errors)
    return config
