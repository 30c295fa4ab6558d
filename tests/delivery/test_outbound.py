"""The outbound guard: address policy, pinned connections, no redirects, SMTP hosts."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import tempfile
import threading
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpcore
import httpx
import pytest

from orgs.delivery.outbound import (
    NOT_ALLOWED,
    InvalidTarget,
    OutboundGuard,
    Resolver,
    TargetNotAllowed,
    is_public,
    literal_address,
    url_host,
)
from tests.delivery.conftest import connector_test_payload, whsec
from tests.delivery.fake_civicrm import FakeCiviCrm
from tests.delivery.receiver import Receiver, run_receiver
from tests.delivery.test_mail import Sink
from tests.servers import free_port, serve_in_thread
from workers.connectors.base import (
    ConnectorTarget,
    PermanentFailure,
    RetryableFailure,
    connector_for,
    post,
    send,
)
from workers.connectors.transport import MAX_ANSWER_BYTES, GuardedClient
from workers.mail import SmtpServer

STRICT = OutboundGuard(allow_private=False)

#: Every spelling of a non-public host a URL can carry (the table addConnector refuses too).
HOSTILE_HOSTS = [
    "127.0.0.1",
    "127.0.0.1.",  # trailing dot
    "2130706433",  # integer
    "0x7f000001",  # one hex number
    "0177.0.0.1",  # octal
    "0x7f.1",  # hex, short form
    "127.1",  # short form
    "017700000001",  # one octal number
    "0",  # 0.0.0.0
    "0.0.0.0",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "203.0.113.7",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[64:ff9b::7f00:1]",
    "[fe80::1%25eth0]",  # link-local with a zone id
    "[fc00::1]",
    "[fd12:3456::1]",
    "[fec0::1]",  # site-local
    "[ff02::1]",
    "[ff0e::1]",  # global-scope multicast
    "[2001:db8::1]",  # documentation
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
]

#: URLs refused for their shape whatever the host.
TRICKS = [
    "http://evil@127.0.0.1/",
    "http://user:pass@crm.example.org/",
    "http://crm.example.org\\@127.0.0.1/",
    "http://127.0.0.1\\@crm.example.org/",
    "http://crm.example.org /",
    "http://1.2.3.999/",  # numeric yet no address: a resolver might still read it
    "http://0x7f.1.1.1.1/",
    "http://crm.0x10/",
    "http://[::1/",
    "ftp://crm.example.org/",
    "http://crm.example.org:99999/",
]


def _no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} reached the resolver")


def _address(host: str) -> typing.Any:
    return literal_address(url_host(f"http://{host}/")[0])


class TestAddressPolicy:
    @pytest.mark.parametrize("host", HOSTILE_HOSTS)
    def test_non_public_hosts_are_refused_in_every_spelling(self, host: str) -> None:
        # given
        name, port = url_host(f"http://{host}/")
        address = literal_address(name)
        # then: a literal that is not public, or a local name (refused before any lookup)
        assert address is None or not is_public(address)
        with pytest.raises(TargetNotAllowed):
            OutboundGuard(resolver=_no_lookup).resolve(name, port)

    @pytest.mark.parametrize(
        ("spelling", "address"),
        [
            ("2130706433", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("10.1", "10.0.0.1"),
            ("192.168.257", "192.168.1.1"),
            ("0x0a.0.0.1", "10.0.0.1"),
        ],
    )
    def test_numeric_hosts_are_read_like_inet_aton(self, spelling: str, address: str) -> None:
        assert str(literal_address(spelling)) == address

    @pytest.mark.parametrize("url", TRICKS)
    def test_url_tricks_are_invalid(self, url: str) -> None:
        with pytest.raises(InvalidTarget):
            url_host(url)

    @pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700:4700::1111]", "1.1.1.1"])
    def test_public_addresses_pass(self, host: str) -> None:
        address = _address(host)
        assert address is not None
        assert is_public(address)
        assert STRICT.resolve(url_host(f"http://{host}/")[0], 443) == [address]

    def test_a_name_is_refused_when_any_address_is_not_public(self) -> None:
        # given
        guard = OutboundGuard(resolver=lambda host, port: ["93.184.216.34", "10.0.0.7"])
        # then
        with pytest.raises(TargetNotAllowed):
            guard.resolve("crm.example.org", 443)

    def test_the_operator_can_allow_private_targets(self) -> None:
        guard = OutboundGuard(allow_private=True, resolver=lambda host, port: ["10.0.0.7"])
        assert [str(a) for a in guard.resolve("crm.internal", 443)] == ["10.0.0.7"]
        assert [str(a) for a in guard.resolve("127.1", 80)] == ["127.0.0.1"]

    async def test_configuration_refuses_names_resolving_to_private_addresses(self) -> None:
        # given
        guard = OutboundGuard(resolver=lambda host, port: ["169.254.169.254"])
        # then
        with pytest.raises(TargetNotAllowed):
            await guard.check_host("metadata.example.org", 80)

    async def test_configuration_accepts_a_name_that_does_not_resolve_yet(self) -> None:
        # given: checked again at every delivery
        def nxdomain(host: str, port: int) -> list[str]:
            raise OSError("Name or service not known")

        # then
        await OutboundGuard(resolver=nxdomain).check_host("crm.example.org", 443)

    async def test_a_real_name_for_loopback_is_refused(self) -> None:
        # localhost comes from /etc/hosts; its subdomains are refused by name
        with pytest.raises(TargetNotAllowed):
            await STRICT.check_host("localhost", 80)
        with pytest.raises(TargetNotAllowed):
            await STRICT.check_host("hub.localhost", 80)


class Recorder(httpcore.NetworkBackend):
    """Records where connections go and fails them (no traffic leaves the test)."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self.tls_names: list[str | None] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.connected.append((host, port))
        return _TlsProbe(self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        pass


class _TlsProbe(httpcore.NetworkStream):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self.recorder.tls_names.append(server_hostname)
        raise httpcore.ConnectError("stopped by the test")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        raise httpcore.ReadError("stopped by the test")

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        raise httpcore.WriteError("stopped by the test")

    def close(self) -> None:
        pass


@contextlib.contextmanager
def tls_server(name: str) -> Iterator[tuple[int, list[str | None]]]:
    """A TLS listener on 127.0.0.1 with a self-signed certificate for ``name``, recording
    the name each client asks for (SNI); yields its port and those names."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
    names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection, contextlib.suppress(OSError):
                context.wrap_socket(connection, server_side=True).close()

    thread = threading.Thread(target=serve, name="tls-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], names
    finally:
        thread.join(15)
        listener.close()


def _webhook(url: str) -> ConnectorTarget:
    return ConnectorTarget(
        id=1,
        org_id=1,
        org_name="delta",
        kind="webhook",
        name="hook",
        config={"url": url},
        secrets={"secrets": [whsec()]},
    )


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    yield from run_receiver()


def _rebinding(first: str, *, then: str) -> tuple[Resolver, list[str]]:
    """A resolver answering ``first`` once and ``then`` afterwards, and the names it was
    asked for."""
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return [first] if len(lookups) == 1 else [then]

    return resolve, lookups


def _port(receiver: Receiver) -> int:
    return int(receiver.url.rsplit(":", 1)[1].split("/")[0])


@contextlib.contextmanager
def raw_answer(answer: typing.Callable[[], Iterator[bytes]]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 reading one request and sending what ``answer`` yields (a
    receiver that does not speak HTTP as it should); its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        with contextlib.suppress(OSError), listener.accept()[0] as conn:
            conn.recv(65536)
            for chunk in answer():
                conn.sendall(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        listener.close()
        thread.join(10)


class TestPinnedConnections:
    """Both ways out: httpx (CRM connectors, :func:`send`) and libcurl (webhooks, ``post``)."""

    def test_dns_rebinding_cannot_move_an_httpx_connection(self, receiver: Receiver) -> None:
        # given: a name answering a public address first and loopback afterwards
        rebinding, lookups = _rebinding("93.184.216.34", then="127.0.0.1")
        recorder = Recorder()
        port = _port(receiver)
        client = GuardedClient(OutboundGuard(resolver=rebinding), network_backend=recorder)
        # when
        request = client.build_request("POST", f"http://rebind.example.org:{port}/hook")
        with client, pytest.raises(Exception, match="unreachable"):
            send(client, request, what="the CRM")
        # then: resolved once, connected to the address that was checked, never to loopback
        assert lookups == ["rebind.example.org"]
        assert recorder.connected == [("93.184.216.34", port)]
        assert receiver.requests == []

    def test_dns_rebinding_cannot_move_a_webhook(self, receiver: Receiver) -> None:
        # given: a name answering 127.0.0.2 (where nothing listens) first and then the
        # receiver's 127.0.0.1 (private addresses allowed, so only the pinning is tested)
        rebinding, lookups = _rebinding("127.0.0.2", then="127.0.0.1")
        port = _port(receiver)
        client = GuardedClient(OutboundGuard(allow_private=True, resolver=rebinding))
        url = f"http://rebind.example.org:{port}/hook"
        # when: sent twice within the pin's lifetime
        with client:
            for _ in range(2):
                with pytest.raises(RetryableFailure, match="unreachable: ConnectError"):
                    connector_for("webhook").deliver(
                        _webhook(url), connector_test_payload(), client
                    )
        # then: resolved once by the guard (never by curl), never reached the rebound address
        assert lookups == ["rebind.example.org"]
        assert receiver.requests == []

    def test_a_webhook_never_connects_to_an_address_the_guard_did_not_return(
        self, receiver: Receiver
    ) -> None:
        # given: a literal address, read by curl itself, but a guard allowing another one only
        client = GuardedClient(OutboundGuard(allow_private=True))
        handle = client._curl()
        handle.pins[("127.0.0.1", _port(receiver))] = (
            frozenset([literal_address("127.0.0.2")]),  # type: ignore[list-item]
            [],  # a literal address: no RESOLVE entry, curl reads it itself
            float("inf"),
        )
        # when
        with client, pytest.raises(PermanentFailure, match=f"^{NOT_ALLOWED}$"):
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
        # then: the socket was refused before any byte
        assert receiver.requests == []
        assert client.connections_opened == 0

    def test_tls_verifies_the_original_name_on_the_pinned_address(self) -> None:
        # given
        recorder = Recorder()
        guard = OutboundGuard(resolver=lambda host, port: ["93.184.216.34"])
        # when
        with GuardedClient(guard, network_backend=recorder) as client, pytest.raises(Exception):
            send(client, client.build_request("GET", "https://crm.example.org/x"), what="x")
        # then
        assert recorder.connected == [("93.184.216.34", 443)]
        assert recorder.tls_names == ["crm.example.org"]

    def test_a_webhook_over_tls_verifies_the_original_name(self) -> None:
        # given: a TLS server on loopback with a certificate for the name that no root signed
        with tls_server("crm.example.org") as (port, names):
            guard = OutboundGuard(allow_private=True, resolver=lambda host, p: ["127.0.0.1"])
            # when
            with (
                GuardedClient(guard) as client,
                pytest.raises(RetryableFailure, match="unreachable: ConnectError"),
            ):
                connector_for("webhook").deliver(
                    _webhook(f"https://crm.example.org:{port}/hook"),
                    connector_test_payload(),
                    client,
                )
        # then: the pinned address was reached, the name sent for SNI, the certificate refused
        assert names == ["crm.example.org"]

    def test_a_webhook_ignores_the_environment_s_proxy(
        self, receiver: Receiver, other_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: proxy variables pointing at another server
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
            monkeypatch.setenv(name, other_receiver.url.removesuffix("/hook"))
        # when
        with GuardedClient(OutboundGuard(allow_private=True)) as client:
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
        # then
        assert len(receiver.requests) == 1
        assert other_receiver.requests == []

    def test_a_webhook_header_cannot_inject_lines(self, receiver: Receiver) -> None:
        # given / when
        with (
            GuardedClient(OutboundGuard(allow_private=True)) as client,
            pytest.raises(RetryableFailure, match="LocalProtocolError"),
        ):
            post(client, receiver.url, b"{}", {"x-note": "a\r\nx-i: 1"}, what="the webhook")
        # then
        assert receiver.requests == []

    def test_a_webhook_s_retry_after_reaches_the_retry_schedule(self, receiver: Receiver) -> None:
        # given: a receiver asking to be left alone for 42 s
        receiver.status = 429
        receiver.headers = {"retry-after": "42"}
        # when
        with (
            GuardedClient(OutboundGuard(allow_private=True)) as client,
            pytest.raises(RetryableFailure) as caught,
        ):
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
        # then
        assert (str(caught.value), caught.value.retry_after) == (
            "the webhook answered HTTP 429",
            42.0,
        )

    @pytest.mark.parametrize("number", [2**70, 7], ids=["beyond-64-bits", "small"])
    def test_the_body_carries_every_value_exactly(self, receiver: Receiver, number: int) -> None:
        # given: a payload with a widget's odd values (a huge integer, non-ASCII, a date)
        payload = {
            **connector_test_payload(),
            "fields": {"n": number, "name": "Zoë 🌍", "at": datetime(2026, 12, 2, tzinfo=UTC)},
        }
        # when
        with GuardedClient(OutboundGuard(allow_private=True)) as client:
            connector_for("webhook").deliver(_webhook(receiver.url), payload, client)
        # then: the signed body is the payload, value for value
        [request] = receiver.requests
        assert json.loads(request.body)["fields"] == {
            "n": number,
            "name": "Zoë 🌍",
            "at": "2026-12-02 00:00:00+00:00",
        }

    def test_a_hanging_webhook_times_out(self, receiver: Receiver) -> None:
        # given: a receiver answering after 3 s, a client allowing 0.5 s
        receiver.hang_seconds = 3
        limits = httpx.Timeout(0.5, connect=0.5)
        # when
        with (
            GuardedClient(OutboundGuard(allow_private=True), timeout=limits) as client,
            pytest.raises(RetryableFailure, match=r"^the webhook timed out$"),
        ):
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
        # then: it was sent once
        assert len(receiver.requests) == 1

    def test_a_huge_webhook_answer_is_not_read_to_its_end(self, receiver: Receiver) -> None:
        # given: a 200 with a 64 MB body
        receiver.body = b"x" * (64 << 20)
        # when: its status counts, the body stops being read after 1 MB
        with GuardedClient(OutboundGuard(allow_private=True)) as client:
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
            handle = client._curl()
        # then
        assert handle.received <= MAX_ANSWER_BYTES + (1 << 20)  # what one read brings at most

    def test_endless_answer_headers_are_cut_off(self) -> None:
        # given: a receiver sending header lines without end (up to 64 MB)
        def endless() -> Iterator[bytes]:
            yield b"HTTP/1.1 200 OK\r\n"
            for _ in range(64 << 10):
                yield b"x-pad: " + b"a" * 1000 + b"\r\n"

        # when: the delivery fails as a transport error, to be retried
        with raw_answer(endless) as url, GuardedClient(OutboundGuard(allow_private=True)) as client:
            with pytest.raises(RetryableFailure):
                connector_for("webhook").deliver(_webhook(url), connector_test_payload(), client)
            kept = sum(map(len, client._curl().header_lines))
        # then: what was kept of them is bounded by libcurl, far below what was sent
        assert kept < 1 << 20

    def test_the_last_answer_s_headers_count_after_an_informational_one(self) -> None:
        # given: a 100 Continue with a header of its own, then a 429 asking for 7 s
        def answers() -> Iterator[bytes]:
            yield b"HTTP/1.1 100 Continue\r\nretry-after: 1000\r\n\r\n"
            yield b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 0\r\n\r\n"

        # when
        with (
            raw_answer(answers) as url,
            GuardedClient(OutboundGuard(allow_private=True)) as client,
            pytest.raises(RetryableFailure) as caught,
        ):
            connector_for("webhook").deliver(_webhook(url), connector_test_payload(), client)
        # then
        assert (str(caught.value), caught.value.retry_after) == (
            "the webhook answered HTTP 429",
            7.0,
        )

    def test_the_host_header_keeps_the_name(self, receiver: Receiver) -> None:
        # given: a name pinned to the receiver's address (private targets allowed)
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        guard = OutboundGuard(allow_private=True, resolver=lambda host, port: ["127.0.0.1"])
        # when
        with GuardedClient(guard) as client:
            connector_for("webhook").deliver(
                _webhook(f"http://receiver.example.org:{port}/hook"),
                connector_test_payload(),
                client,
            )
        # then
        [request] = receiver.requests
        assert request.headers["host"] == f"receiver.example.org:{port}"

    def test_a_redirect_to_loopback_is_not_followed(
        self, receiver: Receiver, other_receiver: Receiver
    ) -> None:
        # given: an allowed receiver answering with a redirect to another loopback server
        receiver.status = 307
        receiver.headers = {"location": other_receiver.url}
        # when
        with (
            GuardedClient(OutboundGuard(allow_private=True)) as client,
            pytest.raises(PermanentFailure, match="HTTP 307"),
        ):
            connector_for("webhook").deliver(
                _webhook(receiver.url), connector_test_payload(), client
            )
        # then
        assert len(receiver.requests) == 1
        assert other_receiver.requests == []

    def test_a_refusal_says_nothing_about_the_target(self, receiver: Receiver) -> None:
        # given: one loopback port that answers, one that is closed
        closed = f"http://127.0.0.1:{free_port()}/hook"
        messages = []
        # when
        with GuardedClient(STRICT) as client:
            for url in (receiver.url, closed, "http://0x7f.1:9/hook"):
                with pytest.raises(PermanentFailure) as refused:
                    connector_for("webhook").deliver(
                        _webhook(url), connector_test_payload(), client
                    )
                messages.append(str(refused.value))
        # then
        assert messages == [NOT_ALLOWED] * 3
        assert receiver.requests == []

    def test_crm_connectors_go_through_the_guard(self) -> None:
        # given: a CiviCRM stand-in on loopback and the guard on
        fake = FakeCiviCrm(key="k" * 12)
        with serve_in_thread(fake.app(), name="fake-civicrm") as url, GuardedClient(STRICT) as http:
            for kind, config, secrets in (
                ("civicrm", {"baseUrl": url}, {"apiKey": "k" * 12}),
                (
                    "mailchimp",
                    {"listId": "a1b2c3d4e5", "baseUrl": url},
                    {"apiKey": "a" * 32 + "-us6"},
                ),
                ("actionnetwork", {"baseUrl": url}, {"apiKey": "k" * 16}),
            ):
                target = ConnectorTarget(1, 1, "delta", kind, kind, config, secrets)
                # when / then
                with pytest.raises(PermanentFailure, match=f"^{NOT_ALLOWED}$"):
                    connector_for(kind).deliver(target, connector_test_payload(), http)
        assert fake.contacts == {}

    def test_connectors_refuse_an_unguarded_client(self) -> None:
        import httpx

        with httpx.Client() as http, pytest.raises(TypeError):
            send(http, http.build_request("GET", "http://127.0.0.1:9/"), what="x")


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    found = Sink()
    port = free_port()
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield found, port
    finally:
        controller.stop()


def _mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "hub@example.org"
    message["To"] = "ada@example.net"
    message["Subject"] = "Hello"
    message.set_content("Hello")
    return message


class TestOrgMailServers:
    def test_an_org_smtp_host_on_loopback_is_refused(self, sink: tuple[Sink, int]) -> None:
        found, port = sink
        server = SmtpServer.from_url(f"smtp://user:pw@127.0.0.1:{port}", STRICT)
        with pytest.raises(PermanentFailure, match=f"^{NOT_ALLOWED}$"):
            server.send(_mail())
        with pytest.raises(PermanentFailure, match=f"^{NOT_ALLOWED}$"):
            server.probe()
        assert found.messages == []

    def test_an_org_smtp_host_is_pinned_when_allowed(self, sink: tuple[Sink, int]) -> None:
        # given: a name resolved by the guard to the sink's address
        found, port = sink
        guard = OutboundGuard(allow_private=True, resolver=lambda host, p: ["127.0.0.1"])
        server = SmtpServer.from_url(f"smtp://mail.example.org:{port}", guard)
        # when
        server.probe()
        server.send(_mail())
        # then
        assert [m["Subject"] for m in found.messages] == ["Hello"]

    def test_the_instance_server_is_trusted(self, sink: tuple[Sink, int]) -> None:
        found, port = sink
        SmtpServer.from_url(f"smtp://127.0.0.1:{port}").send(_mail())
        assert len(found.messages) == 1
