"""Thank-you and double opt-in confirmation mails, sent over SMTP.

The page's locale picks the language. Templates come from the page
(``templates[<locale>][confirmation|thank_you]`` with ``subject``, ``text`` and
optional ``html``, looked up as ``pt_BR``, ``pt-BR``, then ``pt``) or, part by part, from the
catalog's defaults in that language (orgs/i18n), rendered in Jinja2's sandbox with the
supporter's first name and the campaign's fields only; the HTML part is autoescaped. Links
to the hub's pages carry ``?lang=`` so those pages answer in the same language. The org's own
SMTP connector is used when it has one, else the instance's ``HUB_SMTP_URL``. An org's server
goes through the outbound guard like every connector (resolved once, checked, connected to by
address, TLS still verifying its name); the instance's own server is the operator's, trusted.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection

from orgs.contacts.erasure import erasure_token
from orgs.crypto import Keyring
from orgs.delivery import payload as payloads
from orgs.delivery import repository as deliveries
from orgs.delivery.connectors import smtp_url
from orgs.delivery.outbound import NOT_ALLOWED, OutboundGuard, TargetNotAllowed
from orgs.delivery.payload import Facts
from orgs.i18n import catalog
from orgs.identity.links import LinkPurpose, issue_link
from orgs.identity.repository import user_email
from orgs.intake.confirmation import Answer, token
from orgs.mail import TEST_PREFIX, Rendered, render, render_staff, sample_context
from orgs.models import DeliveryEvent
from orgs.outbox.repository import STAFF_MAIL_EVENTS, DeliveryJob
from orgs.scoping import system_scope
from workers.connectors.base import PermanentFailure, RetryableFailure

SMTP_TIMEOUT_SECONDS = 10
KINDS = {
    "confirmation_mail": "confirmation",
    "thank_you_mail": "thank_you",
    "erasure_link_mail": "erasure",
}

_UNFOLDED = frozenset({"list-unsubscribe"})


class _MailPolicy(EmailPolicy):
    """The default policy, but the URL header is written as is, never folded: folding a URL
    (longer than 78 characters, as every unsubscribe link is) made RFC 2047 encoded words of
    it, which mail clients do not read as a URL. Its value is ASCII (our own link)."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _UNFOLDED:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _MailPolicy()


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

    def send_reporting(self, message: EmailMessage) -> dict[str, tuple[int, str]]:
        """Send to every recipient the server accepts; the ones it refused, with the SMTP
        code and reply (every recipient when it refused them all). A refused message (5xx
        at DATA) fails for good; a temporary refusal or an unreachable server is retried."""
        try:
            with self._client() as client:
                self._session(client)
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure("the mail server refused the credentials") from exc
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(
                    f"the mail server refused the message ({exc.smtp_code})"
                ) from exc
            raise RetryableFailure(
                f"the mail server deferred the message ({exc.smtp_code})"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableFailure(
                f"the mail server is unavailable ({type(exc).__name__})"
            ) from exc
        return {
            str(address): (int(code), _reply(reply)) for address, (code, reply) in refused.items()
        }

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


def _reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


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

    def server(self, conn: Connection, org_id: int) -> SmtpServer:
        """The org's own SMTP connector (through the guard), else the instance's server."""
        return self._server(conn, org_id)

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
        """Send the mail of ``job``: to a staff member, or to the supporter from the org's own
        copy of the address."""
        if DeliveryEvent(job.event) in STAFF_MAIL_EVENTS:
            self._send_staff(conn, job)
            return
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

    def _send_staff(self, conn: Connection, job: DeliveryJob) -> None:
        """A mail to one of the hub's users: a link made now (reset, invitation) or a page's
        template with an example person (test mail, through the org's own mail server)."""
        email = user_email(conn, job.user_id) if job.user_id is not None else None
        if email is None:
            raise PermanentFailure("the staff member of this mail no longer exists")
        scope = system_scope(job.org_id)
        details = job.details or {}
        assert job.user_id is not None
        if job.event == DeliveryEvent.TEST_MAIL.value:
            page = deliveries.page_mail_facts(conn, scope, job.org_id, int(details["page"]))
            if page is None:
                raise PermanentFailure("the page of this test mail no longer exists")
            locale = str(details.get("locale") or page["locale"])
            context = sample_context(
                self.public_url,
                {"name": page["campaign_name"], "title": page["campaign_title"]},
                {"name": page["org_name"], "title": page["org_title"]},
                locale,
            )
            rendered = render(str(details["kind"]), locale, page["templates"], context)
            message = self.message(rendered, ("", email), page["org_settings"], prefix=TEST_PREFIX)
            self._server(conn, job.org_id).send(message)
            return
        org = deliveries.org_facts(conn, scope, job.org_id)
        if org is None:
            raise PermanentFailure("the org of this mail no longer exists")
        invitation = job.event == DeliveryEvent.INVITATION_MAIL.value
        purpose = (
            # an existing account's invitation never sets its password (orgs/identity/links.py)
            LinkPurpose(details.get("purpose") or LinkPurpose.INVITATION.value)
            if invitation
            else LinkPurpose.RESET_PASSWORD
        )
        link = issue_link(conn, self.public_url, job.user_id, purpose)
        kind = "invitation" if invitation else "password_reset"
        rendered = render_staff(
            kind,
            {
                "email": email,
                "link": link,
                "org": {"name": org["org_name"], "title": org["org_title"]},
                "role": str(details.get("role") or "staff").replace("_", " "),
            },
        )
        # the hub's own mail: the instance's server, never an org's
        if not self.smtp_url:
            raise RetryableFailure("no SMTP server configured for the hub's own mails")
        SmtpServer.from_url(self.smtp_url).send(self.message(rendered, ("", email)))

    def compose(self, kind: str, found: Facts, supporter_id: int) -> EmailMessage:
        base = self.public_url.rstrip("/")
        contact = found.contact
        facts = found.context
        page = found.page or {}
        # a mail without an action (the erasure link) has no page: the language of the
        # person's first page, from the delivery context
        locale = str(page.get("locale") or facts.get("locale") or catalog.DEFAULT)
        lang = f"?lang={catalog.negotiate(locale)}"  # not signed: it only picks a language

        def confirm_url(answer: Answer) -> str:
            return f"{base}/confirm/{token(self.keyring, supporter_id, answer)}{lang}"

        context = {
            "first_name": contact.get("firstName"),
            "campaign": {"name": facts["campaign_name"], "title": facts["campaign_title"]},
            "org": {"name": facts["org_name"], "title": facts["org_title"]},
            "accept_url": confirm_url(Answer.ACCEPT),
            "reject_url": confirm_url(Answer.REJECT),
            "erase_url": f"{base}/erase/{erasure_token(self.keyring, supporter_id)}{lang}",
        }
        rendered = render(kind, locale, page.get("templates"), context)
        message = self.message(
            rendered, (contact.get("firstName") or "", contact["email"]), facts.get("org_settings")
        )
        if kind == "thank_you":
            message["List-Unsubscribe"] = f"<{confirm_url(Answer.UNSUBSCRIBE)}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message

    def message(
        self,
        rendered: Rendered,
        to: tuple[str, str],
        org_settings: Mapping[str, Any] | None = None,
        *,
        prefix: str = "",
    ) -> EmailMessage:
        """An email of ``rendered`` from the hub's address: the org's sender name as display
        name (SPF/DMARC-safe: the address stays the hub's) and its reply-to, when it set them."""
        settings = org_settings or {}
        message = EmailMessage(policy=_POLICY)
        message["Subject"] = prefix + rendered.subject
        name, address = parseaddr(self.mail_from)
        message["From"] = formataddr((settings.get("sender_name") or name, address))
        if settings.get("reply_to"):
            message["Reply-To"] = str(settings["reply_to"])
        message["To"] = formataddr(to)
        base = self.public_url.rstrip("/")
        message["Message-ID"] = make_msgid(domain=urlsplit(base).hostname or "localhost")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        if rendered.html:
            message.add_alternative(rendered.html, subtype="html")
        # after the body: setting content clears the Content-* headers
        message["Content-Language"] = rendered.language
        return message
