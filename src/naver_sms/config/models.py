"""The configuration files as typed models: stores, SMS templates, and the loaded whole (`AppConfig`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from naver_sms.config.reports import ReportsFile
from naver_sms.domain.booking import Store

_DIGITS = r"^\d{8,12}$"
_STORE_ID = r"^\d+$"
#: a Naver booking status code (`status` of booking_status)
STATUS_PATTERN = r"^RC\d\d$"
#: a valid value of each pattern of the configuration and what it means, for the errors that refuse a value
PATTERN_EXAMPLES: dict[str, tuple[str, str]] = {
    _DIGITS: ("0200000000", "a sender number: 8 to 12 digits, no dashes"),
    _STORE_ID: ("1000001", "the store's Naver businessId: digits"),
    STATUS_PATTERN: (
        "RC03",
        "RC and two digits: RC03 confirmed, RC08 completed, RC02 requested, RC04 cancelled",
    ),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SmsTemplate(_Strict):
    """One SMS text (legacy-behaviour.md §5). Legacy texts have no variables and are sent byte for byte."""

    type: Literal["SMS", "LMS", "auto"] = "LMS"
    content_type: Literal["COMM", "AD"] = Field(default="COMM", alias="contentType")
    subject: str | None = None  # None: the business subject of stores.yaml
    text: str
    #: The word of the Telegram summary line: "{phone} {label} 문자 발송 완료" (legacy-behaviour.md §6).
    label: str | None = None


class StoreEntry(_Strict):
    id: str = Field(pattern=_STORE_ID)
    name: str
    alias: str
    sender: str | None = Field(default=None, pattern=_DIGITS)
    #: template role (e.g. `guide`) -> SMS template name, for `send_sms(store_specific: true)`
    templates: dict[str, str] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("sender", mode="before")
    @classmethod
    def _sender_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class StoresFile(_Strict):
    default_sender: str = Field(pattern=_DIGITS)
    #: One fixed subject per business (legacy: the business name + " 안내").
    subject: str
    #: Legacy `option`: an option name contains any of these (legacy-behaviour.md §2).
    option_keywords: list[str] = Field(min_length=1)
    stores: list[StoreEntry] = Field(min_length=1)

    @field_validator("default_sender", mode="before")
    @classmethod
    def _sender_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class TemplatesFile(_Strict):
    sms: dict[str, SmsTemplate] = Field(min_length=1)


@dataclass(frozen=True)
class AppConfig:
    """Everything loaded and validated from the configuration directory."""

    config_dir: Path
    stores: Mapping[str, Store]
    sms_templates: Mapping[str, SmsTemplate]
    default_sender: str
    subject: str
    option_keywords: tuple[str, ...]
    rules: Any  # the raw rule list (with lines), compiled by the rule engine
    rules_file: Path
    warnings: tuple[str, ...] = field(default=())
    #: the files that could not be loaded (their part is empty here): the checks that need one hold back,
    #: so its errors do not bury the other files' under errors of their own (`loader.read_config`)
    broken: frozenset[str] = field(default=frozenset())
    templates_file: Path | None = None
    #: where each SMS template's text and subject start in templates.yaml: `"confirmation.text"` ->
    #: (line, whether it is a `|` block, whose lines are the file's lines)
    template_lines: Mapping[str, tuple[int | None, bool]] = field(default_factory=dict)
    #: reports.yaml: the summary's timing, the daily report, prices (defaults: the legacy summary only)
    reports: ReportsFile = field(default_factory=ReportsFile)
    #: the opt-out list (numbers that refused advertising), when the directory has one
    opt_out_file: Path | None = None

    def store(self, store_id: str) -> Store | None:
        return self.stores.get(store_id)

    def sender_for(self, store: Store | None, store_specific: bool) -> str:
        """`from`: the store's own number for store-specific templates, the default otherwise (§5)."""
        if store_specific and store is not None and store.sender:
            return store.sender
        return self.default_sender
