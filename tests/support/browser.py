"""What the browser tests share: Debian's Chromium, and a watch on the pages' scripts.

A pytest plugin (tests/conftest.py loads it): its fixtures are `browser`, `script_errors`
and `page`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the networking switches Chromium keeps trying to reach Google, which this
# machine refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000
# The browser's own line for an HTTP error answer (a 401 before signing in, say).
_BROWSER_OWN = ("Failed to load resource",)


class ScriptErrors:
    """Uncaught errors and logged errors of the pages watched.

    The pages catch their own failures to show the user a notice, so a broken function
    would pass unseen wherever a test checks nothing else on the screen.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.seen.append(str(error)))
        page.on("console", self._note)
        return page

    def open_page(self, context: BrowserContext) -> Page:
        """A new page of ``context``, watched, that waits up to TIMEOUT_MS."""
        page = self.watch(context.new_page())
        page.set_default_timeout(TIMEOUT_MS)
        return page

    def _note(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(_BROWSER_OWN):
            self.seen.append(message.text)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module: starting it takes longer than most tests."""
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def script_errors() -> Iterator[ScriptErrors]:
    """Fails the test if a page it watched had a script error, which it may not check for."""
    errors = ScriptErrors()
    yield errors
    assert errors.seen == [], f"the pages' scripts failed: {errors.seen}"


@pytest.fixture
def page(browser: Browser, script_errors: ScriptErrors) -> Iterator[Page]:
    """A watched page in a context of its own, so no cookies or storage leak between tests."""
    context = browser.new_context()
    yield script_errors.open_page(context)
    context.close()
