"""The address a client sent its request to, behind proxies trusted by FORWARDED_ALLOW_IPS.

`X-Forwarded-For` and `X-Forwarded-Proto` are applied by uvicorn's own ProxyHeadersMiddleware,
`X-Forwarded-Host` here, and only when the connecting peer is a trusted proxy (the same list,
uvicorn's notation: addresses, networks, or `*`); from anyone else they are ignored. The app
applies them itself rather than leaving them to `uvicorn --proxy-headers`, because by the time
the app sees a request uvicorn has replaced the peer with the forwarded client, and whether the
peer was trusted can no longer be told.

The result, `scheme://host[:port]/root_path`, goes into `storage.request_base_url` for the
request's lifetime: the local object store builds its URLs on it when PUBLIC_BASE_URL is unset.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gotong_gql.storage.protocol import request_base_url

# A host name or IPv4 address, or a bracketed IPv6 address, with an optional port: what may go
# into a URL we hand out (anything else falls back to the address the server listens on).
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)


class TrustedProxies:
    def __init__(self, allowed: str) -> None:
        entries = [entry.strip() for entry in allowed.split(",") if entry.strip()]
        self.everyone = "*" in entries
        self.networks = []
        self.literals = set()
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.literals.add(entry)  # a Unix socket path, as uvicorn allows

    def __contains__(self, peer: str | None) -> bool:
        if peer is None:
            return False
        if self.everyone or peer in self.literals:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class ForwardedHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, trusted: str) -> None:
        self.trusted = TrustedProxies(trusted)
        self.app = ProxyHeadersMiddleware(PublicAddress(app), trusted_hosts=trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = (scope.get("client") or (None,))[0]
            forwarded = _header(scope, b"x-forwarded-host") if peer in self.trusted else None
            # Through several proxies the first value is the host the client asked for.
            host = forwarded.split(",")[0].strip() if forwarded else None
            if host and _HOST.match(host):
                headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
                scope = {**scope, "headers": [*headers, (b"host", host.encode("latin-1"))]}
        await self.app(scope, receive, send)


class PublicAddress:
    """Sets `storage.request_base_url` from the request, proxies applied."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = request_base_url.set(base_url(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            request_base_url.reset(token)


def base_url(scope: Scope) -> str | None:
    """`scheme://host[:port]/root_path` of a request: its Host, or when that is missing or
    cannot go into a URL, the address the server listens on."""
    # A WebSocket's address is ws(s)://; the objects are served over http(s).
    scheme = scope.get("scheme", "http")
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    host = _header(scope, b"host")
    if host is None or not _HOST.match(host):
        if not scope.get("server"):
            return None
        name, port = scope["server"]
        name = f"[{name}]" if ":" in name else name
        default = {"http": 80, "https": 443}.get(scheme)
        host = name if port in (None, default) else f"{name}:{port}"
    return f"{scheme}://{host}{scope.get('root_path', '')}".rstrip("/")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
