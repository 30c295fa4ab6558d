"""The only HTTP client connectors use: every connection goes to an address the guard checked.

:class:`GuardedClient` is an ``httpx.Client`` whose connections are opened by
:class:`PinnedBackend`: it asks the outbound guard (orgs/delivery/outbound.py) for the
host's addresses (resolved once, every one checked) and connects to one of them, never to the
name, so a second DNS answer cannot move the connection (DNS rebinding). httpx keeps the
URL's host for the ``Host`` header, and httpcore uses it for TLS (SNI and certificate
verification), so HTTPS still proves the original hostname. Redirects are never followed,
proxies from the environment are not used (the proxy would be the one connecting), and a
refusal raises :class:`~orgs.delivery.outbound.TargetNotAllowed` before any byte is sent.

Webhooks at volume go through :meth:`GuardedClient.post_bytes` instead: libcurl (pycurl),
one easy handle per thread keeping its connections alive, about a fifth of httpcore's CPU
per request (h11's parsing was most of a delivery's cost). The same policy holds there: the
guard's checked addresses are handed to curl as its only DNS answer for the host
(``CURLOPT_RESOLVE``), and every socket curl opens passes through a callback that refuses
any address the guard did not return for that host, so neither a second DNS answer nor a
disagreement between the guard's and curl's reading of a host can reach another address.
No redirects, no proxy (whatever the environment says), http and https only, the same time
limits; HTTPS verifies the URL's name (SNI and certificate, certifi's roots) and uses HTTP/2
where the target offers it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
import typing
from collections.abc import Mapping
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx
import pycurl

from orgs.delivery.outbound import Address, OutboundGuard, TargetNotAllowed, literal_address

#: Time limits on every network call a connector makes.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

#: How long the guard's answer for a host is reused by one thread's curl handle, and how long
#: an idle connection is kept: the connection pool's keep-alive expiry.
KEEPALIVE_SECONDS = 5

#: What is read of an answer's body at most (dropped: only the status and headers count).
MAX_ANSWER_BYTES = 1 << 20

#: libcurl's errors as httpx names them (what a delivery's error says), by curl error code.
_CURL_ERRORS: dict[int, type[httpx.TransportError]] = {
    pycurl.E_COULDNT_RESOLVE_HOST: httpx.ConnectError,
    pycurl.E_COULDNT_CONNECT: httpx.ConnectError,
    pycurl.E_SSL_CONNECT_ERROR: httpx.ConnectError,
    pycurl.E_PEER_FAILED_VERIFICATION: httpx.ConnectError,
    pycurl.E_SEND_ERROR: httpx.WriteError,
    pycurl.E_RECV_ERROR: httpx.ReadError,
    pycurl.E_GOT_NOTHING: httpx.RemoteProtocolError,
    8: httpx.RemoteProtocolError,  # CURLE_WEIRD_SERVER_REPLY (not exported by pycurl)
    pycurl.E_HTTP2: httpx.RemoteProtocolError,
    92: httpx.RemoteProtocolError,  # CURLE_HTTP2_STREAM (not exported by pycurl)
    pycurl.E_PARTIAL_FILE: httpx.RemoteProtocolError,
}


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


#: What may not appear in a header line: CR, LF, NUL, anything beyond ASCII.
_NOT_IN_HEADER = re.compile(r"[\r\n\0]|[^\x00-\x7f]")


class _NoBody(httpx.SyncByteStream):
    """The body of a webhook's answer as handed on: dropped (only status and headers count)."""

    def __iter__(self) -> typing.Iterator[bytes]:
        return iter(())


_NO_BODY = _NoBody()


class _Curl:
    """One thread's libcurl handle, its connections and the guard's answers it pins."""

    def __init__(self, guard: OutboundGuard, timeout: httpx.Timeout) -> None:
        self.guard = guard
        # (host, port) -> (the guard's addresses, curl's RESOLVE entries, until when)
        self.pins: dict[tuple[str, int], tuple[frozenset[Address], list[str], float]] = {}
        self.allowed: frozenset[Address] = frozenset()
        self.refused = False
        self.opened = 0
        self.header_lines: list[bytes] = []
        self.received = 0
        curl = self.curl = pycurl.Curl()
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.PROXY, "")  # no proxy, whatever the environment says
        curl.setopt(pycurl.FOLLOWLOCATION, 0)
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.CAINFO, certifi.where())
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
        curl.setopt(pycurl.MAXAGE_CONN, KEEPALIVE_SECONDS)
        connect = timeout.connect if timeout.connect is not None else 5.0
        read = timeout.read if timeout.read is not None else 10.0
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(connect * 1000))
        curl.setopt(pycurl.TIMEOUT_MS, int((connect + read) * 1000))
        curl.setopt(pycurl.OPENSOCKETFUNCTION, self._open_socket)
        # every header line as it comes, by a C call (a Python callback per line cost a
        # twentieth of a delivery's CPU); libcurl bounds their total size
        curl.setopt(pycurl.HEADERFUNCTION, self.header_lines.append)
        curl.setopt(pycurl.WRITEFUNCTION, self._body)

    def _open_socket(
        self, purpose: int, address: tuple[int, int, int, tuple[typing.Any, ...]]
    ) -> socket.socket | int:
        """Every connection curl opens: only to an address the guard returned for the host."""
        family, kind, protocol, where = address
        try:
            checked = ipaddress.ip_address(str(where[0]).split("%", 1)[0]) in self.allowed
        except ValueError:
            checked = False
        if not checked:
            self.refused = True
            return pycurl.SOCKET_BAD
        self.opened += 1
        return socket.socket(family, kind, protocol)

    def _body(self, chunk: bytes) -> int | None:
        self.received += len(chunk)
        return 0 if self.received > MAX_ANSWER_BYTES else None  # 0 ends the transfer

    def _pin(self, host: str, port: int) -> tuple[frozenset[Address], list[str]]:
        """The guard's addresses for the host and curl's RESOLVE entries for them, asked
        again once older than the connections' keep-alive (TargetNotAllowed and OSError
        propagate). A literal address needs no entry: curl reads it as the guard did, and
        the socket check holds if it did not."""
        now = time.monotonic()
        pinned = self.pins.get((host, port))
        if pinned is not None and pinned[2] > now:
            return pinned[0], pinned[1]
        addresses = frozenset(self.guard.resolve(host, port))
        entries = []
        if literal_address(host) is None:  # a name: the guard's answer is curl's only one
            listed = (f"[{a}]" if a.version == 6 else str(a) for a in sorted(addresses, key=str))
            entries.append(f"{host}:{port}:{','.join(listed)}")
        if len(self.pins) >= 256:  # many orgs' hosts: forget the expired ones
            self.pins = {key: pin for key, pin in self.pins.items() if pin[2] > now}
        self.pins[(host, port)] = (addresses, entries, now + KEEPALIVE_SECONDS)
        return addresses, entries

    def post(self, url: str, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol("only http and https targets")
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetNotAllowed() from None
        try:
            self.allowed, entries = self._pin(host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"could not resolve the host ({exc.errno})") from None
        sent = [f"{name}: {value}" for name, value in headers.items()]
        if any(_NOT_IN_HEADER.search(line) or line.startswith(":") for line in sent):
            raise httpx.LocalProtocolError("a header name or value is not allowed")
        sent.append("Expect:")  # no 100-continue round trip for large bodies
        curl = self.curl
        curl.setopt(pycurl.RESOLVE, entries)
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.POSTFIELDS, content)
        curl.setopt(pycurl.HTTPHEADER, sent)
        self.refused = False
        self.received = 0
        self.header_lines.clear()
        try:
            curl.perform()
        except pycurl.error as exc:
            if self.refused:
                raise TargetNotAllowed() from None
            code = int(exc.args[0]) if exc.args else 0
            if code == pycurl.E_OPERATION_TIMEDOUT:
                raise httpx.TimeoutException("timed out") from None
            if code != pycurl.E_WRITE_ERROR or self.received <= MAX_ANSWER_BYTES:
                raise _CURL_ERRORS.get(code, httpx.TransportError)(f"curl error {code}") from None
            # a huge answer: its status counts, the rest of its body is not read
        lines = self.header_lines
        # the last answer's lines (after a 100 Continue, say), without the status line
        first = next((i for i in range(len(lines) - 1, -1, -1) if lines[i][:5] == b"HTTP/"), -1)
        answer_headers = [
            (name.strip(), value.strip())
            for name, found, value in (line.partition(b":") for line in lines[first + 1 :])
            if found
        ]
        status = int(curl.getinfo(pycurl.RESPONSE_CODE))
        return httpx.Response(status, headers=answer_headers, stream=_NO_BODY)

    def close(self) -> None:
        self.curl.close()


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
        self._timeout = timeout
        self._local = threading.local()
        self._handles: list[_Curl] = []
        self._handles_lock = threading.Lock()

    def _curl(self) -> _Curl:
        handle: _Curl | None = getattr(self._local, "curl", None)
        if handle is None:
            handle = self._local.curl = _Curl(self.guard, self._timeout)
            with self._handles_lock:
                self._handles.append(handle)
        return handle

    @property
    def connections_opened(self) -> int:
        """Connections the POSTs of :meth:`post_bytes` opened so far, every thread's."""
        with self._handles_lock:
            return sum(handle.opened for handle in self._handles)

    def post_bytes(self, url: str, content: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST ``content`` to ``url`` through this thread's libcurl handle (see the module's
        documentation): the guard's policy, kept-alive connections, a fifth of the CPU of
        :meth:`send`, for webhooks at volume. The answer's body is dropped. Failures are
        httpx's exceptions (TimeoutException, TransportError) or TargetNotAllowed."""
        return self._curl().post(url, content, headers)

    def close(self) -> None:
        with self._handles_lock:
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        self._local = threading.local()
        super().close()
