"""Which pages may open the console's WebSocket."""

from __future__ import annotations

import pytest

from bot.security.origins import origin_allowed


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://desk.shop.example", "desk.shop.example"),
        ("https://desk.shop.example:443", "desk.shop.example"),
        ("https://DESK.shop.example", "desk.shop.example:443"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_the_gateways_own_pages_may(origin: str, host: str) -> None:
    assert origin_allowed(origin, host=host, allowed="")


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://evil.example", "desk.shop.example"),
        ("https://desk.shop.example.evil.example", "desk.shop.example"),
        ("https://desk.shop.example:8443", "desk.shop.example"),
        ("http://127.0.0.1:8001", "127.0.0.1:8000"),
        ("null", "desk.shop.example"),
        ("file://desk.shop.example", "desk.shop.example"),
        ("https://desk.shop.example/console", "desk.shop.example"),
        ("https://user@desk.shop.example", "desk.shop.example"),
        ("https://desk.shop.example:99999", "desk.shop.example"),
        ("", "desk.shop.example"),
        (None, "desk.shop.example"),
        ("https://desk.shop.example", None),
    ],
)
def test_other_pages_and_non_origins_may_not(origin: str | None, host: str | None) -> None:
    assert not origin_allowed(origin, host=host, allowed="")


def test_configured_origins_may_whichever_way_they_are_written() -> None:
    allowed = "wss://ops.shop.example  https://agents.shop.example:8443/"

    assert origin_allowed("https://ops.shop.example", host="gw.internal", allowed=allowed)
    assert origin_allowed("https://agents.shop.example:8443", host="gw.internal", allowed=allowed)
    assert not origin_allowed("http://ops.shop.example", host="gw.internal", allowed=allowed)
    assert not origin_allowed("https://agents.shop.example", host="gw.internal", allowed=allowed)
