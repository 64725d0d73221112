"""Client keys: one per address, one per IPv6 /64, one per Telegram user."""

from __future__ import annotations

import pytest

from bot.security.clients import UNKNOWN_CLIENT, client_key_for_address, telegram_client_key


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "ip:203.0.113.7"),
        ("::ffff:203.0.113.7", "ip:203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "ip:2001:db8:1:2::/64"),
        (None, UNKNOWN_CLIENT),
        ("not an address", UNKNOWN_CLIENT),
    ],
)
def test_client_keys(host: str | None, key: str) -> None:
    assert client_key_for_address(host) == key


def test_a_whole_ipv6_64_is_one_client_and_fits_the_column() -> None:
    first = client_key_for_address("2001:db8:abcd:12:1::1")
    second = client_key_for_address("2001:db8:abcd:12:9999::7")

    assert first == second
    assert len(client_key_for_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) <= 64
    assert telegram_client_key(123456789) == "tg:123456789"
