"""Who a client is, for limits: an IP address on the web, a user on Telegram.

An IPv6 client usually holds a whole /64, so it counts as one client; otherwise
each of its 2^64 addresses would get a budget of its own. The address is the TCP
peer unless the gateway was told to trust a proxy (`SHOPDESK_TRUSTED_PROXIES`),
so a client on loopback cannot pick its own with X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

UNKNOWN_CLIENT = "ip:unknown"


def client_key_for_address(host: str | None) -> str:
    """'ip:203.0.113.7', 'ip:2001:db8:1:2::/64'; one shared key when there is no address."""
    if not host:
        return UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        return f"ip:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"ip:{address}"


def client_key(connection: HTTPConnection) -> str:
    """For a request or a WebSocket, as uvicorn resolved its peer."""
    return client_key_for_address(connection.client.host if connection.client else None)


def telegram_client_key(user_id: int) -> str:
    return f"tg:{user_id}"
