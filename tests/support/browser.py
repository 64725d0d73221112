"""What the browser tests share: Debian's Chromium, and a watch on the pages' scripts."""

from __future__ import annotations

from collections.abc import Iterator

from playwright.sync_api import ConsoleMessage, Page

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

    def _note(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(_BROWSER_OWN):
            self.seen.append(message.text)

    def none_during_test(self) -> Iterator[None]:
        """The body of an autouse fixture: fails the test that saw any."""
        self.seen.clear()
        yield
        assert self.seen == [], "the pages' scripts failed"
