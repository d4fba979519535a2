"""Where a webhook may go: https, to a public address only (OWASP SSRF prevention).

A webhook is a request erdv makes to a URL an admin typed; left unchecked, it would let that URL
reach what only the server can reach (the cloud's metadata service at 169.254.169.254, a database
on 10.0.0.5, an admin port on 127.0.0.1). So an endpoint URL must be ``https://`` without a user
name or a fragment, and every address its host resolves to must be a public one: not loopback,
private (RFC 1918, RFC 4193), shared (RFC 6598), link-local, multicast, reserved, unspecified or
documentation space, nor such an IPv4 address wrapped in IPv6 (``::ffff:10.0.0.1``, 6to4, NAT64
``64:ff9b::/96``; the old ``::a.b.c.d`` lies in reserved space). The rule runs at registration (a
422) and again at each delivery (``app.webhooks.delivery``), because a name's answer can change
in between (DNS rebinding): the delivery then connects to the very address it checked.

Loopback, and plain http to it, is allowed only when ``ERDV_WEBHOOK_ALLOW_LOOPBACK`` is on (by
default in development; production refuses it), so a developer can receive on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.webhooks.errors import InvalidWebhookUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: the longest a name may take to resolve at registration and before each delivery
RESOLVE_SECONDS = 5.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to the same host (mapped, 6to4, NAT64). The old
    "compatible" form ``::a.b.c.d`` is not unwrapped: it lies in ``::/8``, reserved, so refused."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:  # 64:ff9b::a.b.c.d
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: IPAddress) -> bool:
    """True for any address that is not a public unicast one (module docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_internal(inner)
        if address.is_site_local:
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return inner.is_loopback
    return address.is_loopback


@dataclass(frozen=True)
class Target:
    """A URL whose host resolved to addresses the rule allows; ``address`` is the one to connect
    to (the first the resolver gave)."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def _parse(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise InvalidWebhookUrl("The webhook URL is not a valid URL.") from error
    if parts.scheme not in {"https", "http"} or not host:
        raise InvalidWebhookUrl("The webhook URL must be an absolute https:// URL.")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("The webhook URL must not carry a user name or password.")
    if parts.fragment or url.endswith("#"):
        raise InvalidWebhookUrl("The webhook URL must not have a fragment.")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidWebhookUrl("The webhook URL must not contain spaces or control characters.")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal: IPAddress = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        found = [ipaddress.ip_address(info[4][0]) for info in infos]
    except (OSError, TimeoutError, UnicodeError, ValueError) as error:
        raise InvalidWebhookUrl("The webhook URL's host name does not resolve.") from error
    if not found:
        raise InvalidWebhookUrl("The webhook URL's host name does not resolve.")
    return list(dict.fromkeys(found))


async def check_url(url: str, *, allow_loopback: bool) -> Target:
    """The URL's target, or ``InvalidWebhookUrl`` saying why not (module docstring). Every
    address the host resolves to must pass, not just one: a name that also answers with an
    internal address could hand that one to the next resolver."""
    scheme, host, port = _parse(url)
    if scheme != "https" and not allow_loopback:
        raise InvalidWebhookUrl("The webhook URL must use https.")
    addresses = await _resolve(host, port)
    loopback = allow_loopback and all(is_loopback(a) for a in addresses)
    if not loopback and any(is_internal(a) for a in addresses):
        raise InvalidWebhookUrl("The webhook URL points to an internal address.")
    if scheme != "https" and not loopback:
        raise InvalidWebhookUrl("The webhook URL must use https.")
    return Target(scheme, host, port, addresses[0])
