"""Webhooks (N2): where a client's endpoint may be, how a delivery is signed, and the HTTP POST.

Where an endpoint may be (server-side request forgery). Our relay makes the request, from
inside our network, so an endpoint must never reach what only we can reach: a private,
loopback, link-local (cloud metadata at 169.254.169.254), multicast, unspecified or reserved
address, including those written in IPv6 (::ffff:10.0.0.1, 6to4, NAT64). The one exception is
plain HTTP to a loopback address, for development, which a setting turns off in production.
The address is checked at registration and again at every delivery, after resolving the name,
and the connection goes to exactly the address that was checked: a name that resolved to a
public address at registration and to a private one now (DNS rebinding) is refused then. No
redirect is followed: a 3xx is a failed attempt like any other non-2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# A name and port to the addresses they resolve to (socket.getaddrinfo, or a test's table).
Resolver = Callable[[str, int], list[str]]

EVENT_ID_HEADER = "Xigua-Event-Id"
TIMESTAMP_HEADER = "Xigua-Timestamp"
SIGNATURE_HEADER = "Xigua-Signature"
SIGNATURE_VERSION = "v1"
USER_AGENT = "xigua-tasks-webhooks/1"
MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# getaddrinfo cannot be cancelled: a lookup that hangs keeps its thread after we stop waiting.
# Room for many at once, so that a few endpoints whose DNS never answers (a client may have
# XIGUA_WEBHOOK_MAX_PER_CLIENT) cannot starve everyone else's lookups.
_resolving = ThreadPoolExecutor(max_workers=64, thread_name_prefix="resolve")
log = logging.getLogger(__name__)


class EndpointRefused(ValueError):
    """The URL, or an address it resolves to, is not one we send requests to."""


def system_resolver(host: str, port: int, timeout_s: float = 5.0) -> list[str]:
    """The host's addresses, as the operating system resolves them; bounded in time, since
    getaddrinfo itself has no timeout."""
    future = _resolving.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout_s)
    except FutureTimeout as e:
        raise EndpointRefused(f"{host} did not resolve within {timeout_s:.0f} s") from e
    except (OSError, UnicodeError) as e:
        raise EndpointRefused(f"{host} does not resolve: {e}") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, loopback_allowed: bool) -> str | None:
    """Why we send no request to this address; None if we may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return f"{ip} is a Teredo tunnel address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = refusal(inner, loopback_allowed=False)
            return f"{ip} embeds {why}" if why else None
        if ip.scope_id:
            return f"{ip} names a network interface"
    if ip.is_loopback:
        return None if loopback_allowed else f"{ip} is a loopback address"
    for test, what in (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
    ):
        if test:
            return f"{ip} is {what}"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks of its form."""

    url: str
    scheme: str
    host: str
    port: int

    @property
    def plain_http(self) -> bool:
        return self.scheme == "http"


def parse_url(url: str, allow_loopback_http: bool) -> Target:
    """The URL's parts if its form is acceptable: https (or http, for a loopback host in
    development), a host, no credentials, no fragment."""
    if len(url) > MAX_URL_LENGTH:
        raise EndpointRefused(f"a URL is at most {MAX_URL_LENGTH} characters")
    if not url.isascii():
        raise EndpointRefused(
            "a URL is ASCII: percent-encode other characters, write a host name as xn--"
        )
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise EndpointRefused("a URL holds no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise EndpointRefused(f"not a URL: {e}") from e
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise EndpointRefused("the URL must start with https://")
    if scheme == "http" and not allow_loopback_http:
        raise EndpointRefused("the URL must start with https://")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("a URL with credentials in it is not accepted; sign with the secret")
    if parts.fragment:
        raise EndpointRefused("a URL has no #fragment here")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EndpointRefused("the URL has no host")
    return Target(
        url=url, scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80)
    )


def checked_addresses(target: Target, resolver: Resolver) -> list[str]:
    """The addresses the target's host resolves to, if every one is acceptable for its
    scheme: public for https, loopback for plain http. EndpointRefused otherwise.

    For a host name the refusal never says which address it found, nor whether the name
    exists: the client reads it (the answer, the delivery log), and it would map our network.
    The server's log has the detail."""
    try:
        addresses: Iterable[str] = [str(ipaddress.ip_address(target.host))]
        named = False
    except ValueError:
        named = True
        try:
            addresses = resolver(target.host, target.port)
        except (EndpointRefused, OSError) as e:
            log.warning("webhook host %s refused: %s", target.host, e)
            raise _refused_name(target) from None
    checked: list[str] = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as e:
            log.warning("webhook host %s resolved to %r", target.host, address)
            raise (_refused_name(target) if named else EndpointRefused("not an address")) from e
        if target.plain_http:
            why = None if ip.is_loopback else f"{ip} is not a loopback address"
        else:
            why = refusal(ip, loopback_allowed=False)
        if why is not None:
            if named:
                log.warning("webhook host %s refused: %s", target.host, why)
                raise _refused_name(target)
            if target.plain_http:
                raise EndpointRefused(f"plain http is only for a loopback address: {why}")
            raise EndpointRefused(why)
        checked.append(str(ip))
    if not checked:
        raise _refused_name(target)
    return checked


def _refused_name(target: Target) -> EndpointRefused:
    if target.plain_http:
        return EndpointRefused(
            f"{target.host} does not resolve to loopback addresses only: plain http is for "
            "a loopback address; use https://"
        )
    return EndpointRefused(f"{target.host} does not resolve to public addresses only")


def check_endpoint(url: str, allow_loopback_http: bool, resolver: Resolver) -> Target:
    """Registration's check: the URL's form and where its host resolves to now."""
    target = parse_url(url, allow_loopback_http)
    checked_addresses(target, resolver)
    return target


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of f"{timestamp}.{body}" under the endpoint's secret, as the header's value."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class WebhookError(Exception):
    """No answer from the endpoint: refused address, no connection, timeout."""


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses `checked_addresses` passed, resolved here and now."""

    def __init__(self, target: Target, resolver: Resolver) -> None:
        self._target = target
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host.lower().rstrip(".") != self._target.host.lower() or port != self._target.port:
            raise httpcore.ConnectError(f"connection to {host}:{port} not allowed")
        last: Exception | None = None
        for address in checked_addresses(self._target, self._resolver):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
        assert last is not None  # checked_addresses returns at least one
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not endpoints")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@dataclass(frozen=True)
class HttpWebhookSender:
    """POSTs a signed body to an endpoint, checked again as it connects."""

    resolver: Resolver
    allow_loopback_http: bool
    timeout_s: float = 10.0

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookResponse:
        try:
            target = parse_url(url, self.allow_loopback_http)
            pool = httpcore.ConnectionPool(
                network_backend=_CheckedBackend(target, self.resolver), retries=0
            )
            timeouts = dict.fromkeys(("connect", "read", "write", "pool"), self.timeout_s)
            with (
                pool,
                pool.stream(
                    "POST",
                    url,
                    headers=[*headers.items(), ("Content-Length", str(len(body)))],
                    content=body,
                    extensions={"timeout": timeouts},
                ) as response,
            ):
                return WebhookResponse(status_code=response.status)
        except EndpointRefused as e:
            raise WebhookError(f"refused: {e}") from e
        except httpcore.TimeoutException as e:
            raise WebhookError(f"timed out after {self.timeout_s:.0f} s") from e
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as e:
            raise WebhookError(f"{type(e).__name__}: {e}") from e
