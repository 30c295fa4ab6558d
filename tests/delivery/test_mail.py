"""Double opt-in and thank-you mails through a real SMTP sink (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import Database
from hub.settings import Settings
from orgs.contacts.erasure import erasure_token
from orgs.crypto import Keyring
from orgs.delivery.payload import Facts
from orgs.models import ConnectorKind, Org
from tests import factories as f
from tests.delivery.conftest import Sink, World
from tests.delivery.receiver import Receiver, payload_of
from tests.delivery.test_pipeline import Outcome, request_connector_test, until
from workers.mail import Mailer
from workers.runtime import DeliveryRuntime


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _parts(message: Message) -> dict[str, str]:
    out = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_subtype()] = payload.decode().replace("\r\n", "\n")
    return out


async def _double_opt_in(world: World) -> None:
    await world.execute("UPDATE action_page SET double_opt_in = true")


class TestDoubleOptIn:
    async def test_confirming_releases_the_held_deliveries(
        self,
        world: World,
        receiver: Receiver,
        smtp: tuple[Sink, str],
        tmp_path: Path,
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _double_opt_in(world)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            # when the confirmation mail arrives
            await until(lambda: _has(sink.messages))
            [mail] = sink.messages
            assert receiver.requests == []  # the CRM waits for the answer
            parts = _parts(mail)
            assert mail["To"] == "Ada <ada@example.net>"
            assert set(parts) == {"plain", "html"}
            accept = re.search(r"http://hub\.test(/confirm/\S+accept\S+)", parts["plain"])
            assert accept is not None
            # and the supporter follows the accept link
            app = create_app(settings, Database(url=world.database_url))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
                page = await web.get(accept.group(1))
            assert "Your signature is confirmed." in page.text
            # then the held delivery and the confirmation reach the webhook
            await until(lambda: _has(receiver.requests, 2))
        finally:
            runtime.stop()
        events = sorted(payload_of(r)["event"] for r in receiver.requests)
        assert events == ["action_created", "supporter_confirmed"]

    async def test_it_wasnt_me_erases_the_contact(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _double_opt_in(world)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        runtime = DeliveryRuntime(settings, world.database_url)
        runtime.start()
        try:
            await until(lambda: _has(sink.messages))
        finally:
            runtime.stop()
        reject = re.search(
            r"http://hub\.test(/confirm/\S+reject\S+)", _parts(sink.messages[0])["plain"]
        )
        assert reject is not None
        app = create_app(settings, Database(url=world.database_url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
            # when: a mail scanner's GET only asks; the person's POST decides
            asked = await web.get(reject.group(1))
            done = await web.post(reject.group(1))
        # then
        assert "<form" in asked.text
        assert "deleted your details" in done.text
        async with world.engine.connect() as conn:
            contact = (
                await conn.execute(
                    text("SELECT length(payload), disabled_at IS NOT NULL FROM contact")
                )
            ).one()
            statuses = (
                await conn.execute(text("SELECT status FROM delivery ORDER BY id"))
            ).scalars()
            assert tuple(contact) == (0, True)
            assert list(statuses) == ["cancelled", "delivered"]


class TestOrgSmtpConnector:
    async def test_testing_it_logs_in_and_mails_nobody(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given: the org's own mail server
        sink, smtp_url = smtp
        async with AsyncSession(world.engine, expire_on_commit=False) as session:
            org = await session.get(Org, world.org_id)
            assert org is not None
            connector = await f.make_connector(
                session,
                org,
                ConnectorKind.SMTP,
                config={},
                secrets_encrypted=world.keyring.encrypt_json({"url": smtp_url}),
            )
            await session.commit()
        assert connector.id is not None
        settings = world.settings(tmp_path)
        delivery_id = await request_connector_test(world, settings, connector.id)
        runtime = DeliveryRuntime(settings, world.database_url, relay=False, consume=False)
        try:
            # when
            outcome = await asyncio.to_thread(runtime.pipeline.process, delivery_id, runtime.http)
        finally:
            runtime.stop()
        # then
        assert outcome is Outcome.DELIVERED
        assert sink.messages == []


async def _has(items: list[Any], n: int = 1) -> bool:
    return len(items) >= n


async def _page_speaks(world: World, locale: str, *, thank_you_mail: bool = False) -> None:
    await world.execute(
        "UPDATE action_page SET locale = :locale, thank_you_mail = :thanks",
        {"locale": locale, "thanks": thank_you_mail},
    )


async def _supporter_id(world: World) -> int:
    async with world.engine.connect() as conn:
        return int((await conn.execute(text("SELECT id FROM supporter"))).scalar_one())


async def _mails(world: World, sink: Sink, settings: Settings, n: int = 1) -> list[Message]:
    runtime = DeliveryRuntime(settings, world.database_url)
    runtime.start()
    try:
        await until(lambda: _has(sink.messages, n))
    finally:
        runtime.stop()
    return sink.messages


def _web(settings: Settings, world: World) -> httpx.AsyncClient:
    app = create_app(settings, Database(url=world.database_url))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


class TestLanguages:
    async def test_a_french_page_gets_a_french_confirmation_mail_and_pages(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given a French page with double opt-in
        sink, smtp_url = smtp
        await _page_speaks(world, "fr_BE")
        await _double_opt_in(world)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        # when
        [mail] = await _mails(world, sink, settings)
        # then the mail is French, and so are its links
        parts = _parts(mail)
        assert _subject(mail).startswith("Merci de confirmer votre signature\u00a0: ")
        assert mail["Content-Language"] == "fr"
        assert parts["plain"].startswith("Bonjour Ada,\n\nMerci de confirmer que vous avez signé")
        assert "Ce n\u2019était pas moi\u00a0: supprimez mes données" in parts["html"]
        assert '<html lang="fr" dir="ltr">' in parts["html"]
        accept = re.search(r"http://hub\.test(/confirm/\S+accept\S+)", parts["plain"])
        reject = re.search(r"http://hub\.test(/confirm/\S+reject\S+)", parts["plain"])
        assert accept is not None
        assert reject is not None
        assert accept.group(1).endswith("?lang=fr")
        async with _web(settings, world) as web:
            asked = await web.get(reject.group(1))
            confirmed = await web.get(accept.group(1))
        # and the hub's pages answer in French
        assert '<html lang="fr" dir="ltr">' in asked.text
        assert "<h1>Merci de confirmer</h1>" in asked.text
        assert "Ce n\u2019était pas vous\u00a0? Confirmez, et nous supprimerons vos données." in (
            asked.text
        )
        assert re.search(r'<form method="post" action="/confirm/[^"]+\?lang=fr">', asked.text)
        assert "<button>Confirmer</button>" in asked.text
        assert confirmed.headers["content-language"] == "fr"
        assert "<h1>Merci\u00a0!</h1>" in confirmed.text
        assert "Votre signature est confirmée." in confirmed.text

    async def test_a_french_page_gets_a_french_thank_you_mail(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _page_speaks(world, "fr", thank_you_mail=True)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        # when
        [mail] = await _mails(world, sink, settings)
        # then
        parts = _parts(mail)
        assert _subject(mail).startswith("Merci d\u2019avoir signé\u00a0: ")
        assert "Merci d\u2019avoir signé «\u00a0" in parts["plain"]
        assert "Chaque signature compte." in parts["html"]
        assert "Thank you" not in parts["plain"] + parts["html"]
        leave = re.search(r"<http://hub\.test(/confirm/\S+)>", mail["List-Unsubscribe"])
        assert leave is not None
        assert leave.group(1).endswith("?lang=fr")
        async with _web(settings, world) as web:
            asked = await web.get(leave.group(1))
            done = await web.post(leave.group(1))
        assert "Ne plus recevoir d\u2019e-mails à ce sujet\u00a0?" in asked.text
        assert "<h1>Désinscription effectuée</h1>" in done.text

    async def test_the_erase_page_answers_in_the_links_language(
        self, world: World, tmp_path: Path
    ) -> None:
        # given a signed erasure link as the mails write it
        await world.sign(email="ada@example.net")
        link = f"/erase/{erasure_token(world.keyring, await _supporter_id(world))}?lang=fr"
        settings = world.settings(tmp_path)
        # when
        async with _web(settings, world) as web:
            asked = await web.get(link)
            done = await web.post(link)
            expired = await web.get("/erase/1.2.forged?lang=fr")
        # then
        assert '<html lang="fr" dir="ltr">' in asked.text
        assert "<h1>Supprimer vos données\u00a0?</h1>" in asked.text
        assert "<button>Supprimer mes données</button>" in asked.text
        assert re.search(r'action="/erase/[^"]+\?lang=fr"', asked.text)
        assert "<h1>Données supprimées</h1>" in done.text
        assert "sont en train de les supprimer" in done.text
        assert expired.status_code == 404
        assert "<h1>Lien expiré</h1>" in expired.text

    async def test_an_unknown_locale_falls_back_to_english(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given a Swedish page: no Swedish catalog
        sink, smtp_url = smtp
        await _page_speaks(world, "sv_SE", thank_you_mail=True)
        await world.sign(email="ada@example.net")
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        # when
        [mail] = await _mails(world, sink, settings)
        leave = re.search(r"<http://hub\.test(/confirm/\S+)>", mail["List-Unsubscribe"])
        assert leave is not None
        async with _web(settings, world) as web:
            asked = await web.get(leave.group(1))
            unknown = await web.get(leave.group(1).replace("?lang=en", "?lang=xx"))
        # then
        assert _subject(mail).startswith("Thank you for signing: ")
        assert mail["Content-Language"] == "en"
        assert mail["List-Unsubscribe"].startswith("<http://hub.test/confirm/")  # not encoded
        assert leave.group(1).endswith("?lang=en")
        assert '<html lang="en" dir="ltr">' in asked.text
        assert "Stop receiving emails about this?" in asked.text
        assert unknown.text == asked.text


def _facts(page: dict[str, Any] | None, title: str = "Clean rivers") -> Facts:
    context = {
        "campaign_name": "rivers",
        "campaign_title": title,
        "org_name": "delta",
        "org_title": "Friends of the Delta",
    }
    contact = {"firstName": "Ada", "email": "ada@example.net"}
    return Facts(context, "ref", contact, None, page)


def _mailer(keyring: Keyring) -> Mailer:
    return Mailer(keyring=keyring, public_url="http://hub.test", mail_from="hub@hub.test")


class TestCompose:
    def test_the_pages_own_template_for_its_locale_wins_part_by_part(
        self, keyring: Keyring
    ) -> None:
        # given a Belgian French page with its own subject only
        page = {
            "locale": "fr_BE",
            "templates": {"fr": {"thank_you": {"subject": "Merci {{ first_name }}, vraiment"}}},
        }
        # when
        mail = _mailer(keyring).compose("thank_you", _facts(page), 7)
        # then the subject is the page's, the rest the French catalog's
        assert mail["Subject"] == "Merci Ada, vraiment"
        assert _parts(mail)["plain"].startswith("Bonjour Ada,")

    def test_a_right_to_left_page_with_its_own_templates(self, keyring: Keyring) -> None:
        # given an Arabic page that writes its own mail
        page = {
            "locale": "ar",
            "templates": {
                "ar": {
                    "thank_you": {
                        "subject": "شكرًا لتوقيعك",
                        "text": "شكرًا {{ first_name }}",
                        "html": "<p>شكرًا {{ first_name }}</p>",
                    }
                }
            },
        }
        # when
        mail = _mailer(keyring).compose("thank_you", _facts(page), 7)
        # then
        assert mail["Content-Language"] == "ar"
        assert '<html lang="ar" dir="rtl">' in _parts(mail)["html"]
        assert "?lang=en>" in mail["List-Unsubscribe"]  # the hub's pages have no Arabic

    def test_the_html_part_is_autoescaped(self, keyring: Keyring) -> None:
        mail = _mailer(keyring).compose(
            "confirmation", _facts({"locale": "de"}, title="<img src=x onerror=alert(1)>"), 7
        )
        html = _parts(mail)["html"]
        assert "<img" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "bitte bestätige, dass du" in html

    def test_a_mail_without_a_page_is_english(self, keyring: Keyring) -> None:
        mail = _mailer(keyring).compose("erasure", _facts(None), 7)
        assert mail["Subject"] == "Delete your details: Clean rivers"
        assert re.search(r"http://hub\.test/erase/\S+\?lang=en\n", _parts(mail)["plain"])
