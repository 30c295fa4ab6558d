"""The outbound guard: which hosts a connector or an org's mail server may be sent to.

One policy for every connector (webhook, Mailchimp, Action Network, CiviCRM) and for an
org's SMTP connector, applied twice:

- when a connector is configured (:meth:`OutboundGuard.check_url`): a literal non-public
  address, ``localhost`` or a name that resolves to a non-public address is a field error;
- when a delivery is sent (:meth:`OutboundGuard.resolve`): the host is resolved once, every
  address is checked, and the caller connects to one of the checked addresses (pinned), so
  a name cannot answer a public address to the check and a private one to the connection
  (DNS rebinding). The HTTP side lives in ``workers/connectors/http.py``, the SMTP side in
  ``workers/mail.py``; both only ever connect to what :meth:`OutboundGuard.resolve` returned.

Non-public means anything but a globally routable unicast address: loopback, private,
link-local, multicast, unspecified, reserved, shared (100.64/10), benchmarking,
documentation, site-local, and IPv6 addresses embedding one (IPv4-mapped and -compatible,
6to4, Teredo, NAT64). Numeric hosts are read the way libc's ``inet_aton`` reads them
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``) so that no spelling reaches the
resolver, which would otherwise accept it as 127.0.0.1.

The operator's ``HUB_ALLOW_PRIVATE_TARGETS`` (tests, on-premise CRMs) turns the address
policy off; the URL rules (no credentials, no backslashes, a valid host) always apply.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``(host, port) -> addresses`` as strings; the system resolver unless a test injects one.
Resolver = Callable[[str, int], Sequence[str]]

#: What a refused delivery records: nothing about the target (not its address, not whether
#: it answered), so the delivery log cannot be used to map a network.
NOT_ALLOWED = "the target is not allowed"

#: Seconds a configuration check waits for DNS before accepting the name (the send-time
#: check still applies).
RESOLVE_TIMEOUT_SECONDS = 2.0

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class TargetNotAllowed(Exception):
    """The host is not a public internet host (or not a valid host at all)."""

    def __init__(self) -> None:
        super().__init__(NOT_ALLOWED)


class InvalidTarget(ValueError):
    """The URL is malformed or uses a trick (credentials, backslashes): a config problem."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _inet_aton_part(part: str) -> int:
    if part[:2] == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        if not set(part) <= set("01234567"):
            raise InvalidTarget("not an IPv4 address")
        return int(part, 8)
    if not part.isdigit():
        raise InvalidTarget("not an IPv4 address")
    return int(part)


def _inet_aton(host: str) -> ipaddress.IPv4Address:
    """``host`` read like libc's inet_aton: 1 to 4 parts, decimal, octal (0…) or hex (0x…)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not p for p in parts):
        raise InvalidTarget("not an IPv4 address")
    try:
        values = [_inet_aton_part(p) for p in parts]
    except ValueError:  # InvalidTarget is one too; int() raises the others
        raise InvalidTarget("not an IPv4 address") from None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise InvalidTarget("not an IPv4 address")
    number = 0
    for value in head:
        number = number << 8 | value
    return ipaddress.IPv4Address(number << 8 * (5 - len(values)) | last)


def normalise_host(host: str) -> str:
    """Lowercase, IDNA-encoded, without brackets or a trailing dot; InvalidTarget if none."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        return host  # an IPv6 literal: parsed by literal_address
    host = host.removesuffix(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidTarget("not a valid host name") from None
    return host


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells (any IPv4 spelling, IPv6 with zone id); None for a name.

    InvalidTarget when it looks numeric but is no address (``1.2.3.999``, ``0x7f.1.1.1.1``):
    a resolver might still read it as one.
    """
    host = normalise_host(host)
    if ":" in host:
        literal = host.split("%", 1)[0]  # a zone id (fe80::1%eth0, %25 in URLs) names no host
        try:
            return ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidTarget("not an IPv6 address") from None
    if not host:
        raise InvalidTarget("a host is required")
    if _NUMERIC_LABEL.match(host.rsplit(".", 1)[-1]):
        return _inet_aton(host)
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise InvalidTarget("not a valid host name")
    return None


def _embedded(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in net for net in _NAT64) or address in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: Address) -> bool:
    """Whether ``address`` is a globally routable unicast address, and so is any it embeds."""
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
    ):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return not address.is_site_local and all(is_public(a) for a in _embedded(address))
    return True


def _local_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


#: A backslash, whitespace (Unicode's, as ``str.isspace``) or a control character.
_NOT_PLAIN = re.compile(r"[\\\s\x00-\x1f\x7f]")


def url_host(url: str, *, schemes: Sequence[str] = ("http", "https")) -> tuple[str, int]:
    """The host and port ``url`` connects to; InvalidTarget for a URL that is not plain.

    Refuses credentials (``http://evil@127.0.0.1``: a connector's credentials belong in its
    secrets), backslashes (parsers disagree on them), whitespace and control characters.
    """
    if _NOT_PLAIN.search(url):
        raise InvalidTarget("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        raise InvalidTarget("not a valid URL") from None
    if parts.scheme not in schemes or not parts.netloc:
        raise InvalidTarget(f"a {' or '.join(schemes)} URL is required")
    if "@" in parts.netloc:
        raise InvalidTarget("credentials in the URL are not allowed")
    try:
        port = parts.port
    except ValueError:
        raise InvalidTarget("the port is not valid") from None
    host = parts.hostname or ""
    literal_address(host)  # raises on a malformed host
    return normalise_host(host), port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class OutboundGuard:
    """The address policy with its switch and its resolver."""

    allow_private: bool = False  # the operator's HUB_ALLOW_PRIVATE_TARGETS
    resolver: Resolver | None = None  # None: system_resolver (looked up when used)

    def _lookup(self, host: str, port: int) -> list[Address]:
        resolve = self.resolver if self.resolver is not None else system_resolver
        return [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]

    def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses to connect to for ``host``, every one of them checked (send time).

        TargetNotAllowed when the host is malformed, local or any address is not public;
        OSError when it cannot be resolved. Connect only to what this returns.
        """
        try:
            literal = literal_address(host)
        except InvalidTarget:
            raise TargetNotAllowed() from None
        if literal is not None:
            addresses = [literal]
        else:
            name = normalise_host(host)
            if _local_name(name) and not self.allow_private:
                raise TargetNotAllowed()
            addresses = self._lookup(name, port)
            if not addresses:
                raise OSError(f"no address for the host of port {port}")
        if not self.allow_private and not all(is_public(a) for a in addresses):
            raise TargetNotAllowed()
        return addresses

    async def check_host(self, host: str, port: int) -> None:
        """Configuration time: TargetNotAllowed for a local host or one resolving to one.

        DNS runs in a thread with a short time limit; a name that does not resolve (yet) or
        not in time passes here and is checked again at every delivery.
        """
        literal = literal_address(host)
        if self.allow_private:
            return
        if literal is not None:
            if not is_public(literal):
                raise TargetNotAllowed()
            return
        name = normalise_host(host)
        if _local_name(name):
            raise TargetNotAllowed()
        try:
            addresses = await asyncio.wait_for(
                asyncio.to_thread(self._lookup, name, port), RESOLVE_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError, ValueError):
            return
        if not all(is_public(a) for a in addresses):
            raise TargetNotAllowed()
