"""The browser tests' Chromium: Debian's, driven by Playwright; the tests skip without it
(except in CI, which installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest


def chromium() -> str:
    """The Chromium executable; skips the calling test module when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            raise RuntimeError("the browser tests need Debian's chromium: .ci/run installs it")
        pytest.skip(
            "browser tests skipped: install Debian's chromium (apt-get install -y chromium) to "
            "run them; .ci/run does",
            allow_module_level=True,
        )
    return found


CHROMIUM = chromium()

from playwright.async_api import Browser, async_playwright  # noqa: E402


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()
