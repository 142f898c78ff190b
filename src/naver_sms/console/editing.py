"""What the console does with a text the owner typed: preview it for a sample booking (in the sandbox), change
it in `templates.yaml` without touching the rest of the file, and check a whole candidate configuration -
the full `rules check` and the operator's fixtures (`rules test`) - before anything is written.

Template input is untrusted: it is rendered only by the rules' sandbox (`naver_sms.rules.templates`: Jinja2's
`ImmutableSandboxedEnvironment`, strict undefined, and the load-time check of everything it names), and shown
only HTML-escaped. The YAML is changed with ruamel.yaml's round trip, so comments, order and every other text
stay as they were; the new text is read back and must be exactly what was typed.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from naver_sms.config.loader import load_config
from naver_sms.config.models import AppConfig
from naver_sms.domain.booking import Booking, Store
from naver_sms.domain.clock import KST
from naver_sms.domain.sms_text import LMS_MAX_BYTES, SMS_MAX_BYTES, choose_type, euc_kr_length
from naver_sms.errors import ConfigError, ConfigErrors, NaverSmsError
from naver_sms.owner.config_store import materialise
from naver_sms.rule_fixtures import load_fixtures, run_fixture
from naver_sms.rules.actions.common import EACH_VARS
from naver_sms.rules.templates import TemplateProblem, check_template, render
from naver_sms.wiring import compile_config, fixture_runtimes

#: the longest text the console takes (an LMS is 2,000 bytes; a little more, so the error can be shown)
MAX_TEXT = 10_000


def normalise(text: str) -> str:
    """A text as typed in a browser: its line breaks (a form sends CRLF) as the file keeps them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sample_booking(store: Store, now: datetime) -> Booking:
    """A synthetic booking of `store`, tomorrow at 14:00 (the preview's customer)."""
    start = (now.astimezone(KST) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    return Booking(
        booking_num=f"{store.id}_900000000",
        booking_id="900000000",
        store_id=store.id,
        name="홍길동",
        phone="010-0000-0000",
        phone_digits="01000000000",
        reserve_at=start,
        status="RC03",
        item_name="50분 촬영",
    )


@dataclass(frozen=True, slots=True)
class Preview:
    text: str
    bytes: int
    type: str  # what it would be sent as
    limit: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "bytes": self.bytes,
            "type": self.type,
            "limit": self.limit,
            "error": self.error,
        }


def preview(text: str, declared: str, store: Store, now: datetime) -> Preview:
    """The text rendered for a sample booking of `store`, its EUC-KR bytes and what it would be sent as."""
    text = normalise(text)
    if len(text) > MAX_TEXT:
        return Preview("", 0, declared, LMS_MAX_BYTES, f"longer than {MAX_TEXT} characters")
    try:
        check_template(text, allowed=EACH_VARS)
        shown = render(
            text, {"booking": sample_booking(store, now), "store": store, "now": now, "rule": "preview"}
        )
    except TemplateProblem as exc:
        hint = f" (did you mean {exc.suggestion!r}?)" if exc.suggestion else ""
        return Preview("", euc_kr_length(text), declared, LMS_MAX_BYTES, f"{exc}{hint}")
    except Exception as exc:  # whatever else the sandbox stops at render time (a range too big, ...)
        return Preview("", euc_kr_length(text), declared, LMS_MAX_BYTES, f"cannot render: {exc}")
    size = euc_kr_length(shown)
    kind = choose_type(shown) if declared == "auto" else declared
    limit = SMS_MAX_BYTES if kind == "SMS" else LMS_MAX_BYTES
    error = (
        f"{size} bytes in EUC-KR, over the {kind} limit of {limit} (SENS would cut it)"
        if size > limit
        else None
    )
    return Preview(shown, size, kind, limit, error)


def _yaml() -> YAML:
    yaml = YAML()  # the round trip: comments, order and quoting kept
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def with_text(templates_yaml: bytes, name: str, text: str) -> bytes:
    """`templates.yaml` with template `name`'s text replaced, everything else as it was. Raises `ConfigError`
    for an unknown template, or when the new text would not read back exactly as typed."""
    text = normalise(text)
    yaml = _yaml()
    data = yaml.load(templates_yaml.decode("utf-8"))
    sms = data.get("sms") if isinstance(data, dict) else None
    if not isinstance(sms, dict) or name not in sms or not isinstance(sms[name], dict):
        raise ConfigError(f"no SMS template {name!r}", file="templates.yaml", field=f"sms.{name}")
    sms[name]["text"] = LiteralScalarString(text) if text and "\t" not in text else text
    out = io.StringIO()
    yaml.dump(data, out)
    written = out.getvalue().encode("utf-8")
    if _yaml().load(written.decode("utf-8"))["sms"][name]["text"] != text:
        raise ConfigError(
            "the text cannot be written as typed", file="templates.yaml", field=f"sms.{name}.text"
        )
    return written


@dataclass
class Checked:
    """The checks of a candidate configuration: passed, or what stops it (each `file:line: ...`)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixtures: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    config: AppConfig | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and all(passed for _, passed, _ in self.fixtures)


def check(files: Mapping[str, bytes]) -> Checked:
    """`rules check` and `rules test` on `files` (in a temporary directory: nothing of the real place)."""
    result = Checked()
    with tempfile.TemporaryDirectory(prefix="naver-sms-check-") as tmp:
        directory = materialise(files, Path(tmp))
        try:
            cfg, _, _ = compile_config(directory)
        except ConfigError as exc:
            errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
            result.errors = [e.render().replace(str(directory) + "/", "") for e in errors]
            return result
        result.config, result.warnings = cfg, [w.replace(str(directory) + "/", "") for w in cfg.warnings]
        try:
            make = fixture_runtimes(directory)
            config = load_config(directory)
            for path in sorted((directory / "tests").glob("*.yaml")):
                for fixture, line in load_fixtures(path, config):
                    done = run_fixture(fixture, make_runtime=make, file=path.name, line=line)
                    result.fixtures.append(
                        (f"tests/{path.name}:{line} {fixture.name}", done.passed, done.problems)
                    )
        except ConfigError as exc:
            errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
            result.errors = [e.render().replace(str(directory) + "/", "") for e in errors]
        except NaverSmsError as exc:
            result.errors = [str(exc)]
    return result
