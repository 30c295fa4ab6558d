"""The only HTTP client connectors use: every connection goes to an address the guard checked.

:class:`GuardedClient` is an ``httpx.Client`` whose connections are opened by
:class:`PinnedBackend`: it asks the outbound guard (orgs/delivery/outbound.py) for the
host's addresses (resolved once, every one checked) and connects to one of them, never to the
name, so a second DNS answer cannot move the connection (DNS rebinding). httpx keeps the
URL's host for the ``Host`` header, and httpcore uses it for TLS (SNI and certificate
verification), so HTTPS still proves the original hostname. Redirects are never followed,
proxies from the environment are not used (the proxy would be the one connecting), and a
refusal raises :class:`~orgs.delivery.outbound.TargetNotAllowed` before any byte is sent.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpcore
import httpx

from orgs.delivery.outbound import OutboundGuard

#: Time limits on every network call a connector makes.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class PinnedBackend(httpcore.NetworkBackend):
    """Resolves and checks with the guard, then connects to the checked address."""

    def __init__(self, guard: OutboundGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.guard.resolve(host, port)  # TargetNotAllowed propagates
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve the host ({exc.errno})") from None
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not connector targets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool whose connections are pinned by the guard."""

    def __init__(
        self, guard: OutboundGuard, *, network_backend: httpcore.NetworkBackend | None = None
    ) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(guard, network_backend),
        )


class GuardedClient(httpx.Client):
    """The HTTP client handed to connectors (``workers/connectors/base.py`` insists on it)."""

    def __init__(
        self,
        guard: OutboundGuard,
        *,
        network_backend: httpcore.NetworkBackend | None = None,
        timeout: httpx.Timeout = HTTP_TIMEOUT,
    ) -> None:
        transport = GuardedTransport(guard, network_backend=network_backend)
        super().__init__(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )
        self.guard = guard
        self._pool = transport._pool  # the guarded connections
        self._timeouts = timeout.as_dict()

    def post_bytes(self, url: str, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST ``content`` straight through the guarded connection pool: the same pinned,
        kept-alive connections, no redirects, no proxy, the same time limits, without httpx's
        client layer (URL and header models, cookies, auth, event hooks, none of which a
        connector uses): about half the CPU of :meth:`send`, for webhooks at volume. The
        answer's body is read and dropped; httpcore's exceptions are raised as they are."""
        parts = urlsplit(url)
        sent = [
            (b"Host", parts.netloc.encode("ascii")),
            (b"Content-Length", str(len(content)).encode("ascii")),
            *((k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()),
        ]
        answer = self._pool.request(
            "POST", url, headers=sent, content=content, extensions={"timeout": self._timeouts}
        )
        return httpx.Response(answer.status, headers=answer.headers)
