"""Where the daily report's HTML page goes (`NAVER_SMS_REPORTS_DIR`): a directory (one machine: the page is a
file, its path in the message), or `s3://bucket/reports/` (AWS: the page is an object under the deployment's
`reports/` prefix - kept ReportRetentionDays, deploy/template.yaml - and the message carries a presigned,
time-limited link to it). A presigned link signed with a Lambda role's temporary credentials stops working
when those expire, whatever its own expiry says (docs/owner.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from naver_sms.errors import NaverSmsError


class Publisher(Protocol):
    def publish(self, name: str, html: str, *, hours: int) -> str:
        """Keep the page `name` (e.g. `2026-11-26.html`) and return how to open it (a link or a path)."""
        ...


class DirectoryReports:
    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, name: str, html: str, *, hours: int) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)
        return str(target)


class S3Reports:
    """The pages as objects under a prefix of a bucket, shared by presigned GET links."""

    def __init__(self, url: str, *, client: Any = None, region: str | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise NaverSmsError(f"not an S3 location: {url!r} (expected s3://bucket/prefix/)")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        if client is None:
            # boto3 only where reports go to S3
            import boto3

            client = boto3.client("s3", region_name=region)
        self.client = client

    def publish(self, name: str, html: str, *, hours: int) -> str:
        key = self.prefix + name
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=html.encode("utf-8"),
                ContentType="text/html; charset=utf-8",
                CacheControl="no-store",
            )
            return str(
                self.client.generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=min(hours, 168) * 3600
                )
            )
        except Exception as exc:  # botocore's errors: the report goes out without its link
            raise NaverSmsError(
                f"the report page could not be kept in s3://{self.bucket}/{key}: {exc}"
            ) from exc


def publisher_for(location: str | None, *, region: str | None = None) -> Publisher | None:
    """The publisher of `NAVER_SMS_REPORTS_DIR` (None: no page is kept)."""
    if not location:
        return None
    if location.startswith("s3://"):
        return S3Reports(location, region=region)
    return DirectoryReports(Path(location))
