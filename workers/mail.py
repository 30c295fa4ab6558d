"""Thank-you and double opt-in confirmation mails, sent over SMTP.

Templates come from the page (``templates[<locale>][confirmation|thank_you]`` with
``subject``, ``text`` and optional ``html``) or the defaults below, rendered in Jinja2's
sandbox with the supporter's first name and the campaign's fields only. The org's own SMTP
connector is used when it has one, else the instance's ``HUB_SMTP_URL``. An org's server goes
through the outbound guard like every connector (resolved once, checked, connected to by
address, TLS still verifying its name); the instance's own server is the operator's, trusted.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection

from orgs.contacts.erasure import erasure_token
from orgs.crypto import Keyring
from orgs.delivery import payload as payloads
from orgs.delivery import repository as deliveries
from orgs.delivery.connectors import smtp_url
from orgs.delivery.outbound import NOT_ALLOWED, OutboundGuard, TargetNotAllowed
from orgs.delivery.payload import Facts
from orgs.intake.confirmation import Answer, token
from orgs.outbox.repository import DeliveryJob
from orgs.scoping import system_scope
from workers.connectors.base import PermanentFailure, RetryableFailure

SMTP_TIMEOUT_SECONDS = 10
KINDS = {
    "confirmation_mail": "confirmation",
    "thank_you_mail": "thank_you",
    "erasure_link_mail": "erasure",
}

DEFAULTS: dict[str, dict[str, str]] = {
    "confirmation": {
        "subject": "Please confirm your signature: {{ campaign.title }}",
        "text": (
            "Hello {{ first_name or 'there' }},\n\n"
            'Please confirm that you signed "{{ campaign.title }}":\n{{ accept_url }}\n\n'
            "If it wasn't you, tell us and we will delete your details:\n{{ reject_url }}\n"
        ),
        "html": (
            "<p>Hello {{ first_name or 'there' }},</p>"
            "<p>Please confirm that you signed <strong>{{ campaign.title }}</strong>.</p>"
            '<p><a href="{{ accept_url }}">Yes, I signed</a></p>'
            '<p><a href="{{ reject_url }}">It wasn\'t me: delete my details</a></p>'
        ),
    },
    "erasure": {
        "subject": "Delete your details: {{ campaign.title }}",
        "text": (
            "Hello {{ first_name or 'there' }},\n\n"
            'Someone (we hope you) asked to delete your details from "{{ campaign.title }}" '
            "at every organisation of the campaign. To confirm, open:\n{{ erase_url }}\n\n"
            "If you did not ask, ignore this mail: nothing changes.\n"
        ),
        "html": (
            "<p>Hello {{ first_name or 'there' }},</p>"
            "<p>Someone (we hope you) asked to delete your details from "
            "<strong>{{ campaign.title }}</strong> at every organisation of the campaign.</p>"
            '<p><a href="{{ erase_url }}">Yes, delete my details</a></p>'
            "<p>If you did not ask, ignore this mail: nothing changes.</p>"
        ),
    },
    "thank_you": {
        "subject": "Thank you for signing: {{ campaign.title }}",
        "text": (
            "Hello {{ first_name or 'there' }},\n\nThank you for signing "
            '"{{ campaign.title }}". Every signature counts.\n'
        ),
        "html": (
            "<p>Hello {{ first_name or 'there' }},</p><p>Thank you for signing "
            "<strong>{{ campaign.title }}</strong>. Every signature counts.</p>"
        ),
    },
}

_env = SandboxedEnvironment(autoescape=False)
_html_env = SandboxedEnvironment(autoescape=True)


class _PinnedSMTP(smtplib.SMTP):
    """Connects to ``address`` while keeping the server's name for STARTTLS to verify."""

    def __init__(self, address: str, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # connect() stored ``host`` (the name) as self._host, which STARTTLS verifies
        sock: socket.socket = super()._get_socket(self._address, port, timeout)  # type: ignore[misc]
        return sock


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    """Implicit TLS to ``address``, the certificate checked against the server's name."""

    def __init__(self, address: str, timeout: float, context: ssl.SSLContext) -> None:
        self._address = address
        super().__init__(timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # SMTP_SSL wraps the socket with server_hostname=self._host (the name)
        sock: socket.socket = super()._get_socket(self._address, port, timeout)  # type: ignore[misc]
        return sock


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False  # implicit TLS (smtps://)
    guard: OutboundGuard | None = None  # None: the operator's own server (HUB_SMTP_URL)

    @classmethod
    def from_url(cls, url: str, guard: OutboundGuard | None = None) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise PermanentFailure("the SMTP URL must look like smtp://user:pass@host:port")
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "smtps",
            guard=guard,
        )

    def _client(self) -> smtplib.SMTP:
        """A connected client; through the guard (one checked address) for an org's server."""
        context = ssl.create_default_context()
        if self.guard is None:
            if self.tls:
                return smtplib.SMTP_SSL(
                    self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
                )
            return smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            addresses = self.guard.resolve(self.host, self.port)
        except TargetNotAllowed:
            raise PermanentFailure(NOT_ALLOWED) from None
        failure: OSError | None = None
        for address in addresses:
            client: smtplib.SMTP = (
                _PinnedSMTPSSL(str(address), timeout=SMTP_TIMEOUT_SECONDS, context=context)
                if self.tls
                else _PinnedSMTP(str(address), timeout=SMTP_TIMEOUT_SECONDS)
            )
            try:
                client.connect(self.host, self.port)
            except OSError as exc:
                client.close()
                failure = exc
                continue
            return client
        raise failure or OSError("no address")

    def _session(self, client: smtplib.SMTP) -> None:
        client.ehlo()  # has_extn knows nothing before EHLO
        if not self.tls and client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
        if self.username:
            client.login(self.username, self.password or "")

    def probe(self) -> None:
        """Connect, start TLS and log in, then quit: a connector test that mails nobody."""
        try:
            with self._client() as client:
                self._session(client)
                client.noop()
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure("the mail server refused the credentials") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableFailure(
                f"the mail server is unavailable ({type(exc).__name__})"
            ) from exc

    def send(self, message: EmailMessage) -> None:
        try:
            with self._client() as client:
                self._session(client)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure("the mail server refused the recipient") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure("the mail server refused the credentials") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableFailure(
                f"the mail server is unavailable ({type(exc).__name__})"
            ) from exc


@dataclass(frozen=True)
class Mailer:
    keyring: Keyring
    public_url: str
    mail_from: str
    smtp_url: str | None = None
    guard: OutboundGuard = field(default_factory=OutboundGuard)  # for orgs' SMTP connectors

    def probe(self, config: Mapping[str, object], secrets: Mapping[str, object]) -> None:
        """Test an org's SMTP connector: log in through the guard, send nothing."""
        SmtpServer.from_url(smtp_url(config, secrets), self.guard).probe()

    def _server(self, conn: Connection, org_id: int) -> SmtpServer:
        row = deliveries.smtp_connector(conn, system_scope(org_id), org_id)
        if row is not None:
            secrets = (
                self.keyring.decrypt_json(bytes(row["secrets_encrypted"]))
                if row["secrets_encrypted"]
                else {}
            )
            url = smtp_url(row["config"], secrets)
            if url:
                return SmtpServer.from_url(url, self.guard)
        if not self.smtp_url:
            raise RetryableFailure("no SMTP server configured (HUB_SMTP_URL or an SMTP connector)")
        return SmtpServer.from_url(self.smtp_url)

    def send_for(self, conn: Connection, job: DeliveryJob) -> None:
        """Send the mail of ``job`` to the supporter, from the org's own copy of the address."""
        try:
            found = payloads.facts(conn, system_scope(job.org_id), self.keyring, job)
        except payloads.NothingToDeliver:
            raise PermanentFailure("the supporter of this mail no longer exists") from None
        if not found.contact.get("email"):
            raise PermanentFailure("no email address to write to")
        kind = KINDS[job.event]
        assert job.supporter_id is not None
        message = self.compose(kind, found, job.supporter_id)
        self._server(conn, job.org_id).send(message)

    def compose(self, kind: str, found: Facts, supporter_id: int) -> EmailMessage:
        base = self.public_url.rstrip("/")
        contact = found.contact
        facts = found.context
        context = {
            "first_name": contact.get("firstName"),
            "campaign": {"name": facts["campaign_name"], "title": facts["campaign_title"]},
            "org": {"name": facts["org_name"], "title": facts["org_title"]},
            "accept_url": f"{base}/confirm/{token(self.keyring, supporter_id, Answer.ACCEPT)}",
            "reject_url": f"{base}/confirm/{token(self.keyring, supporter_id, Answer.REJECT)}",
            "erase_url": f"{base}/erase/{erasure_token(self.keyring, supporter_id)}",
        }
        page = found.page or {}
        templates = page.get("templates") or {}
        locale = str(page.get("locale") or "en")
        own = (templates.get(locale) or templates.get(locale.split("_")[0]) or {}).get(kind) or {}
        chosen = {**DEFAULTS[kind], **{k: v for k, v in own.items() if isinstance(v, str)}}
        message = EmailMessage()
        message["Subject"] = _env.from_string(chosen["subject"]).render(context).strip()
        message["From"] = self.mail_from
        message["To"] = formataddr((contact.get("firstName") or "", contact["email"]))
        message["Message-ID"] = make_msgid(domain=urlsplit(base).hostname or "localhost")
        message["Auto-Submitted"] = "auto-generated"
        if kind == "thank_you":
            leave = f"{base}/confirm/{token(self.keyring, supporter_id, Answer.UNSUBSCRIBE)}"
            message["List-Unsubscribe"] = f"<{leave}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(_env.from_string(chosen["text"]).render(context))
        if chosen.get("html"):
            message.add_alternative(
                _html_env.from_string(chosen["html"]).render(context), subtype="html"
            )
        return message
