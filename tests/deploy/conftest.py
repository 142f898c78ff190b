"""The deployment's tests: the SAM template (always) and the Lambda image (`make image-test` only).

Tests marked `image` need the built image and a Docker daemon. `make test` deselects them (they are not
skipped: CI's `NAVER_SMS_REQUIRE_STANDINS=1` allows no skip); `make image-test` builds the image, starts
a daemon of its own (deploy/with-dockerd.sh) and runs them with `NAVER_SMS_IMAGE` set to the image's tag.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NAVER_SMS_IMAGE"):
        return
    image_tests = [item for item in items if item.get_closest_marker("image")]
    if image_tests:
        config.hook.pytest_deselected(items=image_tests)
        items[:] = [item for item in items if not item.get_closest_marker("image")]
