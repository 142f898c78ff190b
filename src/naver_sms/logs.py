"""Every log line about a booking is one JSON object written here, personal data masked (domain.privacy).

Every record of the process - the package's and every library's - passes one record factory (installed on
import): it carries its run (`run_id`, `request_id`: `log_context`) and its phone numbers are masked, whatever
the logger and the level. `BodyMasking` is for an SDK's request bodies (installed by the adapter);
`configure_logging` is the entry points' level and format.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from naver_sms.domain.privacy import mask_text

LOG_FORMATS = ("text", "json")


def emit(logger: logging.Logger, level: int, event: str, /, **fields: Any) -> dict[str, Any]:
    """Write one JSON object (`{"event": ..., **fields}`) as a log line; returns it. Values must already be
    safe; strings are passed through `mask_text` once more as a net."""
    record = {"event": event}
    for key, value in fields.items():
        record[key] = mask_text(value) if isinstance(value, str) else value
    if logger.isEnabledFor(level):  # a dropped INFO event is not serialised (7,000 SMS: 7,000 of them)
        logger.log(level, json.dumps(record, ensure_ascii=False, default=str))
    return record


# --- the run a record belongs to ------------------------------------------------------------------------------

_context: ContextVar[dict[str, str] | None] = ContextVar("naver_sms_log_context", default=None)
#: the context of the run this process runs now, for records of threads that did not inherit the context
#: variable (a thread pool's workers): a process runs one run at a time (Lambda, serve, the CLI)
_process_context: dict[str, str] = {}
_process_lock = threading.Lock()


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Every record made inside carries `fields` as attributes (e.g. `run_id`, `request_id`); nests."""
    added = {key: value for key, value in fields.items() if value}
    merged = {**(_context.get() or {}), **added}
    token = _context.set(merged)
    with _process_lock:
        before = dict(_process_context)
        _process_context.update(added)
    try:
        yield
    finally:
        _context.reset(token)
        with _process_lock:
            _process_context.clear()
            _process_context.update(before)


def current_context() -> dict[str, str]:
    """The fields of the innermost `log_context` (a worker thread sees the process's current run)."""
    found = _context.get()
    if found is not None:
        return dict(found)
    with _process_lock:
        return dict(_process_context)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def _mask_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, dict) and not record.args:  # Powertools' and the runtime's structured lines
        record.msg = _mask_value(record.msg)
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is not ours to fix; keep its text, never its arguments
        message = str(record.msg)
    masked = mask_text(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None


_FACTORY_LOCK = threading.Lock()
_installed: list[Callable[..., logging.LogRecord]] = []


def _install_record_factory() -> None:
    with _FACTORY_LOCK:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            for key, value in current_context().items():
                if not hasattr(record, key):
                    setattr(record, key, value)
            _mask_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed.append(factory)


_install_record_factory()


# --- request and response bodies of the libraries ------------------------------------------------------------

#: a DynamoDB string attribute holding a customer's name or the Naver session's cookies, in a JSON body as
#: botocore logs it (the repr of the body's bytes): the value runs to the first quote that is not escaped
_PRIVATE_ATTRIBUTE = re.compile(r'("(?:name|cookies)"\s*:\s*\{\s*"S"\s*:\s*")(.*?)(?<!\\)(?="\s*\})')


class BodyMasking(logging.Filter):
    """For the loggers of an SDK that logs whole request and response bodies at DEBUG (botocore, urllib3):
    a customer's name (a DynamoDB `name` attribute) and the Naver session's cookies (`cookies`) become `***`;
    phone numbers are masked for every logger by the record factory. Installed by the adapter that makes
    the client (`naver_sms.database.dynamodb_client.open_dynamodb`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _PRIVATE_ATTRIBUTE.sub(lambda m: m.group(1) + "***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_BODY_MASKING = BodyMasking()


def mask_bodies(*logger_names: str) -> None:
    """Install `BodyMasking` on the named loggers (once each)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _BODY_MASKING not in logger.filters:
            logger.addFilter(_BODY_MASKING)


# --- where the lines go ------------------------------------------------------------------------------------


def parse_level(value: str | int) -> int:
    """A level name (`debug`, `INFO`, ...) or number; `ValueError` names the choices."""
    if isinstance(value, int):
        return value
    text = value.strip().upper()
    if text.isdigit():
        return int(text)
    level = logging.getLevelNamesMapping().get(text)
    if level is None:
        raise ValueError(f"unknown log level {value!r}: expected debug, info, warning, error or critical")
    return level


class _TextFormatter(logging.Formatter):
    """`2026-11-26 18:40:00,123 WARNING naver_sms.runner [run 20261126T094000-ab12cd34] message`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(run)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        run_id = getattr(record, "run_id", None)
        record.run = f" [run {run_id}]" if run_id else ""
        return super().format(record)


def _json_formatter() -> logging.Formatter:
    # Powertools' formatter (already a dependency) writes one JSON object per line, the record's extra
    # attributes (run_id, request_id) as keys; imported only by a process that asked for JSON lines
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    return LambdaPowertoolsFormatter(service="naver-sms")


_HANDLER_NAME = "naver-sms"


def configure_logging(level: str | int = logging.WARNING, fmt: str = "text") -> None:
    """The root logger writes `level` and above to stderr as text or JSON lines (one handler of ours,
    replaced on a second call). Masking holds at every level: it is done when a record is made."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}: expected {' or '.join(LOG_FORMATS)}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_json_formatter() if fmt == "json" else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(parse_level(level))
