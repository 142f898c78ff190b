"""Whether a proxy is configured for this process: where one is, the clients that take shortcuts past their
library's own connection handling (http_direct.DirectHttp for httpx, database/dynamo_wire for boto3) leave
every request to the library, which goes through the proxy."""

from __future__ import annotations

import urllib.request

#: the environment variables that name a proxy for httpx or botocore (a test clears them all)
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def environment_proxies() -> bool:
    """Whether a proxy for HTTP or HTTPS is configured, read as httpx and botocore read it
    (`urllib.request.getproxies()`: the environment, and on macOS and Windows the system settings)."""
    found = urllib.request.getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))
