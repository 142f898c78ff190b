"""The `session` table on DynamoDB: item `id = "1"` holds the browser's cookies as a JSON string
(legacy-behaviour.md §1), item `id = "login_pause"` the pause of browser logins after Naver blocked one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from naver_sms.database.dynamo_target import DynamoDBClient, DynamoTarget, describe_error, make_client
from naver_sms.errors import RepositoryError
from naver_sms.ports import LOGIN_PAUSE_ID, LoginPause

__all__ = ["DynamoSessionRepository"]


class DynamoSessionRepository:
    """The `session` table: item `id = "1"`, `cookies` = JSON string of the browser's cookie list
    (legacy-behaviour.md §1)."""

    ITEM_ID = "1"

    def __init__(self, target: DynamoTarget, *, client: DynamoDBClient | None = None) -> None:
        self.target = target
        self.client = client if client is not None else make_client(target)
        self.table = target.session_table

    def _translate(self, operation: str, exc: Exception) -> RepositoryError:
        return RepositoryError(f"DynamoDB {operation} on {self.table}: {describe_error(exc)}")

    def load_cookies(self) -> list[dict[str, Any]] | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key={"id": {"S": self.ITEM_ID}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("get_item", exc) from exc
        raw = response.get("Item", {}).get("cookies", {}).get("S")
        if raw is None:
            return None
        try:
            cookies = json.loads(raw)
        except ValueError:
            return None  # unreadable cache: log in again, as if there were none
        return cookies if isinstance(cookies, list) else None

    def save_cookies(self, cookies: Sequence[Mapping[str, Any]]) -> None:
        text = json.dumps([dict(c) for c in cookies], ensure_ascii=False)
        try:
            self.client.put_item(
                TableName=self.table, Item={"id": {"S": self.ITEM_ID}, "cookies": {"S": text}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put_item", exc) from exc

    def clear_cookies(self) -> None:
        self._delete(self.ITEM_ID)

    # The pause: item `id = "login_pause"`, attribute `pause` = its JSON (an item added beside legacy's).

    def load_login_pause(self) -> LoginPause | None:
        try:
            response = self.client.get_item(
                TableName=self.table, Key={"id": {"S": LOGIN_PAUSE_ID}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("get_item", exc) from exc
        raw = response.get("Item", {}).get("pause", {}).get("S")
        return None if raw is None else LoginPause.from_json(raw)

    def save_login_pause(self, pause: LoginPause) -> None:
        try:
            self.client.put_item(
                TableName=self.table, Item={"id": {"S": LOGIN_PAUSE_ID}, "pause": {"S": pause.to_json()}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put_item", exc) from exc

    def clear_login_pause(self) -> None:
        self._delete(LOGIN_PAUSE_ID)

    def _delete(self, item_id: str) -> None:
        try:
            self.client.delete_item(TableName=self.table, Key={"id": {"S": item_id}})
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("delete_item", exc) from exc
