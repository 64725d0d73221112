"""Which pages may open the console's WebSocket: the gateway's own, and those configured.

A browser sends the agent's cookie with a WebSocket handshake whatever page opens it,
and WebSockets have no same-origin rule of their own, so any site could read the live
console of an agent who visits it (cross-site WebSocket hijacking). What the browser
does not let a page choose is the Origin header, nor the Host header it checks
against, so those decide.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# A page's origin is http(s); a configured origin may be written as ws(s) too.
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port), or None for anything that is not an origin ("null", a URL
    with a path, an unknown scheme)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username is not None:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _is_host(origin: tuple[str, str, int], host: str) -> bool:
    """Whether the origin names the Host the request came to. The scheme is not compared:
    behind a TLS proxy the gateway itself sees plain HTTP."""
    try:
        parts = urlsplit(f"//{host.strip()}")
        port = parts.port
    except ValueError:
        return False
    if not parts.hostname:
        return False
    scheme, hostname, origin_port = origin
    return (hostname, origin_port) == (parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


def origin_allowed(origin: str | None, *, host: str | None, allowed: str) -> bool:
    """`allowed` is space-separated origins. A handshake with no Origin is refused: every
    browser sends one, and the console page is the socket's only client."""
    parsed = _origin(origin) if origin else None
    if parsed is None:
        return False
    if host and _is_host(parsed, host):
        return True
    return any(parsed == _origin(other) for other in allowed.split())
