"""The `session` table's meaning, written once for both backends: item `"1"` holds the cookies as JSON text
(legacy-behaviour.md §1), item `"login_pause"` the pause; a backend implements three primitives."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from naver_sms.ports import LOGIN_PAUSE_ID, LoginPause

#: legacy's item of the cookies
COOKIES_ID = "1"
#: when the cookies of item "1" were saved (`saved_at`, ISO 8601)
COOKIES_SAVED_ID = "cookies_saved"


class SessionTable:
    """`SessionRepository` over `get_text`, `put_text` and `delete` (translated into `RepositoryError`)."""

    def get_text(self, item_id: str, attribute: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def put_text(self, item_id: str, attribute: str, text: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def delete(self, item_id: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def load_cookies(self) -> list[dict[str, Any]] | None:
        raw = self.get_text(COOKIES_ID, "cookies")
        try:
            cookies = json.loads(raw) if raw is not None else None
        except ValueError:
            return None  # an unreadable cache: log in again, as if there were none
        return cookies if isinstance(cookies, list) else None

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]], *, at: datetime | None = None) -> None:
        self.put_text(COOKIES_ID, "cookies", json.dumps([dict(c) for c in cookies], ensure_ascii=False))
        # an item of its own: legacy's item "1" keeps exactly its one attribute
        self.put_text(COOKIES_SAVED_ID, "saved_at", (at or datetime.now(UTC)).isoformat())

    def cookies_saved_at(self) -> datetime | None:
        raw = self.get_text(COOKIES_SAVED_ID, "saved_at")
        try:
            at = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None
        return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)

    def clear_cookies(self) -> None:
        self.delete(COOKIES_ID)

    def load_login_pause(self) -> LoginPause | None:
        raw = self.get_text(LOGIN_PAUSE_ID, "pause")
        return None if raw is None else LoginPause.from_json(raw)

    def save_login_pause(self, pause: LoginPause) -> None:
        self.put_text(LOGIN_PAUSE_ID, "pause", pause.to_json())

    def clear_login_pause(self) -> None:
        self.delete(LOGIN_PAUSE_ID)
