"""Where a webhook may go. An ordinary client names the URL, so the server must not become its way into
the network: only hosts an administrator allowed (``TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS``: names, and
networks in CIDR form) and the host of the default URL. A name allowed through a network is resolved at
every delivery, checked, and the connection made to the address that was checked (the name kept for the
``Host`` header and TLS), so a name that later resolves elsewhere (DNS rebinding) gets nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from transcriber.config import WebhookSettings

MAX_URL_CHARS = 2048
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """The URL may not be called; the message says why and what to change."""


@dataclass(frozen=True, slots=True)
class Target:
    """What the sender connects to: ``url`` (its host an address when pinned), with ``headers`` and
    ``extensions`` (``sni_hostname``) that keep the original name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def _split(url: str) -> tuple[str, str, int | None]:
    if len(url) > MAX_URL_CHARS:
        raise TargetRefused(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL may not carry a user name or password; put a token in the path")
    return parts.scheme, parts.hostname.lower().rstrip("."), port


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class Targets:
    """The allowed hosts of one deployment."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.names: set[str] = set()
        self.networks: list[Network] = []
        for entry in settings.allowed_hosts:
            text = entry.strip().lower().rstrip(".")
            if not text:
                continue
            if "/" in text or _address(text) is not None:
                self.networks.append(ipaddress.ip_network(text, strict=False))
            else:
                self.names.add(text)
        if settings.url:
            self.names.add(_split(settings.url)[1])

    def _inside(self, address: str) -> bool:
        ip = _address(address.split("%", 1)[0])
        return ip is not None and any(ip in network for network in self.networks)

    def _resolve(self, host: str, port: int) -> list[str]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise TargetRefused(f"the host {host} cannot be resolved: {exc}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in found))

    def check(self, url: str) -> None:
        """Refuse (:class:`TargetRefused`) a URL outside the allowed hosts."""
        self.target(url)

    def target(self, url: str) -> Target:
        """Where to connect for ``url``: as it is for an allowed name, pinned to a checked address for a
        host allowed through a network."""
        scheme, host, port = _split(url)
        if host in self.names:
            return Target(url)
        port = port or (443 if scheme == "https" else 80)
        addresses = [host] if _address(host) is not None else self._resolve(host, port)
        outside = [a for a in addresses if not self._inside(a)]
        if outside or not addresses:
            raise TargetRefused(
                f"the host {host} ({', '.join(outside or addresses)}) is not among the hosts webhooks may go "
                "to; an administrator adds it to TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS (a name or a network)"
            )
        if _address(host) is not None:
            return Target(url)
        pinned = addresses[0]
        netloc = f"[{pinned}]:{port}" if ":" in pinned else f"{pinned}:{port}"
        parts = urlsplit(url)
        return Target(
            urlunsplit((scheme, netloc, parts.path, parts.query, "")),
            headers={"Host": parts.netloc},
            extensions={"sni_hostname": host} if scheme == "https" else {},
        )
