"""Where a webhook may point: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is created or changed, and again at every delivery, which then
connects to the address it checked (a name that resolves elsewhere the second time cannot slip
through). Loopback, private, link-local (cloud metadata at 169.254.169.254), shared, reserved
and multicast addresses are refused unless ``CMS_WEBHOOK_ALLOW_PRIVATE=1``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("Not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("Only http and https URLs can receive webhooks.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL must not carry credentials.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check ``url`` and pick the address to connect to; raises :class:`UnsafeTarget`."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"The host {host} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeTarget(f"The host {host} does not resolve.")
    if not allow_private:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise UnsafeTarget(
                f"The host {host} resolves to {refused[0]}, a loopback, private, link-local or "
                "reserved address; webhooks go to public addresses only."
            )
    return Target(scheme, host, port, path, addresses[0])
