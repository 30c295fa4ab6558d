"""The no-JavaScript form (``/act/{id}``) of a mail-to-target page: the Email step served by
the hub, posted through the same intake as the widget's (docs/mail-to-target.md)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.app import create_app
from hub.db import UnitOfWork
from hub.form_routes import render_time
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.models import ActionPage
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.targets.conftest import Mtt, messages, rows
from tests.targets.harness import Drip

FORM = "application/x-www-form-urlencoded"


def _fields(**more: Any) -> dict[str, Any]:
    """What a person sends: the form's render time of a minute ago, their name and address,
    the consent box, and ``more`` (``target`` a list: one box each)."""
    return {
        "_t": render_time(Keyring(TEST_SECRET), time.time() - 60),
        "firstName": "Ada",
        "email": "ada@example.net",
        "optInShown": "1",
        "optIn": "1",
        **more,
    }


async def _post(
    client: httpx.AsyncClient, session: AsyncSession, page: ActionPage, **fields: Any
) -> httpx.Response:
    await session.flush()
    return await client.post(f"/act/{page.id}", data=_fields(**fields))


async def _get(
    client: httpx.AsyncClient, session: AsyncSession, page: ActionPage, query: str = ""
) -> str:
    await session.flush()
    response = await client.get(f"/act/{page.id}{query}")
    assert response.status_code == 200
    return response.text


def _boxes(html: str) -> dict[str, bool]:
    """The target boxes of a form: external id -> ticked."""
    return {
        value: bool(checked)
        for value, checked in re.findall(
            r'name="target" value="([^"]+)"( checked)?', html, re.IGNORECASE
        )
    }


async def _payloads(session: AsyncSession, keyring: Keyring) -> list[dict[str, Any]]:
    found = await rows(session, "SELECT payload FROM target_message ORDER BY id")
    return [keyring.decrypt_json(bytes(r["payload"])) for r in found]


async def _settings(session: AsyncSession, mtt: Mtt, **changes: Any) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    await session.execute(
        text(f"UPDATE mail_to_target SET {assignments} WHERE campaign_id = :c"),
        {"c": mtt.campaign.id, **changes},
    )


class TestTheForm:
    async def test_it_offers_the_targets_and_the_message_never_an_address(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when
        html = await _get(client, session, mtt.page)
        # then: a box per target (none ticked: the signer chooses), the template to edit
        assert _boxes(html) == {"mayor": False, "minister": False, "board": False}
        assert "<legend>Who to write to</legend>" in html
        assert "Mayor Ann (Riverside)" in html
        assert 'value="Please act, {target}"' in html
        assert ">Dear {target},\n\nPlease act.</textarea>" in html
        assert "Your name is sent with your message to the people you write to." in html
        assert '<button type="submit">Send the email</button>' in html
        assert re.search(r'name="_t" value="\d+\.[\w-]+"', html)
        assert "readonly" not in html
        assert "@targets.example.org" not in html

    async def test_the_campaigns_settings_shape_it(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: everyone is written to, the text is fixed, replies and the mail app offered
        await _settings(session, mtt, selection="all", editable=False, ask_reply_to=True)
        await _settings(session, mtt, mode="both")
        # when
        html = await _get(client, session, mtt.page)
        # then
        assert _boxes(html) == {"mayor": True, "minister": True, "board": True}
        assert html.count(" readonly") == 2
        assert 'name="replyTo" value="1"> They may reply to me' in html
        assert 'name="mailto" value="1"> Send it from my own mail app instead' in html

    async def test_the_demo_host_page_embeds_it_too(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await session.flush()
        response = await client.get(f"/demo/{mtt.page.id}")
        assert _boxes(response.text) == {"mayor": False, "minister": False, "board": False}
        assert "@targets.example.org" not in response.text


class TestPosting:
    async def test_a_post_is_a_mail2target_action_with_a_message_per_target(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        # when
        response = await _post(
            client,
            session,
            mtt.page,
            target=["mayor", "board"],
            subject="Save the river, {target}",
            body="Dear {target},\n\nSave it.",
            returnUrl="https://lead.example/write",
        )
        # then
        assert response.status_code == 200
        assert "<h1>Thank you, Ada!</h1>" in response.text
        assert "Your email is on its way." in response.text
        assert '<a href="https://lead.example/write">Back to the page</a>' in response.text
        actions = await rows(session, "SELECT action_type, flagged FROM action")
        assert actions == [{"action_type": "mail2target", "flagged": None}]
        assert [(m["target"], m["kind"], m["status"]) for m in await messages(session)] == [
            ("mayor", "send", "pending"),
            ("board", "send", "pending"),
        ]
        [first, _] = await _payloads(session, keyring)
        assert first == {
            "subject": "Save the river, {target}",
            "body": "Dear {target},\n\nSave it.",
            "replyTo": False,
        }

    async def test_a_form_without_targets_records_nothing_and_comes_back_filled_in(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: what a petition form pasted before the page wrote to targets sends, with a
        # long message the signer would not want to lose
        written = "Dear {target},\n\nI wrote this <b>myself</b> & mean it."
        # when
        response = await _post(
            client, session, mtt.page, actionType="signature", subject="Mine", body=written
        )
        # then: no bare signature; the form again, with what they wrote, escaped once
        assert response.status_code == 400
        assert await rows(session, "SELECT id FROM action") == []
        html = response.text
        assert '<div role="alert"><p>Your email was not sent:</p>' in html
        assert "<li>Choose at least one person to write to.</li>" in html
        assert 'value="ada@example.net"' in html
        assert 'value="Mine"' in html
        assert "I wrote this &lt;b&gt;myself&lt;/b&gt; &amp; mean it.</textarea>" in html
        assert "<b>myself</b>" not in html
        assert _boxes(html) == {"mayor": False, "minister": False, "board": False}
        # the render time it was served with goes along (sent again soon: not a bot)
        assert re.search(r'name="_t" value="\d+\.[\w-]+"', html)

    async def test_hostile_targets_are_refused_with_the_boxes_kept(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        # given: another campaign's target, and a made-up id next to a real one
        other = await f.make_campaign(session, mtt.partner)
        await f.make_target(session, other, "theirs")
        for chosen in (["theirs"], ["mayor", "x<y"], ["mayor@targets.example.org"]):
            # when
            response = await _post(client, session, mtt.page, target=chosen)
            # then
            assert response.status_code == 400, chosen
            assert "Who to write to: is not a target" in unescape(response.text), chosen
        assert _boxes(response.text)["mayor"] is False
        assert await rows(session, "SELECT id FROM target_message") == []

    async def test_a_line_break_in_the_subject_is_refused(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        response = await _post(
            client, session, mtt.page, target=["mayor"], subject="Hi\r\nBcc: x@evil.example"
        )
        assert response.status_code == 400
        assert "<li>Subject: " in response.text
        assert _boxes(response.text)["mayor"] is True
        assert await rows(session, "SELECT id FROM target_message") == []

    async def test_the_boxes_ask_and_the_campaign_decides(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession, keyring: Keyring
    ) -> None:
        # given a campaign that neither lets signers edit, asks for replies nor offers the
        # mail app: a crafted post ticks boxes it never showed
        await _settings(session, mtt, editable=False)
        # when
        response = await _post(
            client,
            session,
            mtt.page,
            target=["mayor"],
            subject="Something else",
            body="Not the campaign's text",
            replyTo="1",
            mailto="1",
        )
        # then: the campaign's text, sent by the hub, without the signer's address
        assert response.status_code == 200
        assert [(m["kind"], m["status"]) for m in await messages(session)] == [("send", "pending")]
        assert await _payloads(session, keyring) == [
            {
                "subject": "Please act, {target}",
                "body": "Dear {target},\n\nPlease act.",
                "replyTo": False,
            }
        ]

    async def test_mailto_mode_answers_the_link_for_the_signers_mail_app(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        await _settings(session, mtt, mode="mailto")
        # when
        response = await _post(client, session, mtt.page, target=["mayor"])
        # then: a link that works without JavaScript; a click is counted, nothing is sent
        assert response.status_code == 200
        assert "<h1>Almost done: send the email from your mail app.</h1>" in response.text
        [link] = re.findall(r'href="(mailto:[^"]+)"', response.text)
        assert unescape(link).startswith("mailto:mayor@targets.example.org?subject=")
        assert [m["kind"] for m in await messages(session)] == ["click"]

    async def test_a_petition_page_ignores_target_fields(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when: the partner's petition page gets a crafted post naming a target
        response = await _post(client, session, mtt.partner_page, target=["mayor"])
        # then: a signature, as before; no message
        assert response.status_code == 200
        assert "Your signature has been recorded." in response.text
        assert await rows(session, "SELECT action_type FROM action") == [
            {"action_type": "signature"}
        ]
        assert await rows(session, "SELECT id FROM target_message") == []


class TestPostcodeCampaign:
    async def test_first_the_postcode_then_its_targets(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        await _settings(session, mtt, selection="postcode")
        # when
        first = await _get(client, session, mtt.page, "?returnUrl=https://lead.example/w")
        found = await _get(client, session, mtt.page, "?postcode=750%2012")
        nobody = await _get(client, session, mtt.page, "?postcode=999")
        # then: a small form asking the postcode (no list of every target) ...
        assert f'<form method="get" action="http://hub.test/act/{mtt.page.id}">' in first
        assert 'name="postcode" autocomplete="postal-code" required' in first
        assert 'name="returnUrl" value="https://lead.example/w"' in first
        assert '<button type="submit">Find who to write to</button>' in first
        assert _boxes(first) == {}
        assert "Mayor Ann" not in first
        # ... then that postcode's targets, ticked, the postcode carried along
        assert _boxes(found) == {"mayor": True}
        assert '<input type="hidden" name="postcode" value="750 12">' in found
        assert "Change the postcode</a>" in found
        assert 'method="post"' in found
        # ... or nobody, and the postcode form again
        assert "No one to write to for this postcode yet." in nobody
        assert _boxes(nobody) == {}
        # a hostile postcode is shown back inert
        hostile = await _get(client, session, mtt.page, '?postcode="><script>x()</script>')
        assert "<script>" not in hostile
        assert 'value="&quot;&gt;&lt;script&gt;x()&lt;/s"' in hostile  # kept to 16 characters

    async def test_the_post_writes_to_the_postcodes_target(
        self, mtt: Mtt, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        await _settings(session, mtt, selection="postcode")
        response = await _post(client, session, mtt.page, target=["mayor"], postcode="75012")
        assert response.status_code == 200
        assert [m["target"] for m in await messages(session)] == ["mayor"]


class TestSentForReal:
    async def test_the_form_post_reaches_the_target_through_smtp(
        self,
        drip: Drip,
        fresh_database: str,
        fresh_engine: AsyncEngine,
        settings: Settings,
    ) -> None:
        # given the hub's app on the drip's committed database, its SMTP sink behind
        app = create_app(
            settings.model_copy(update={"database_url": fresh_database}),
            uow=UnitOfWork(fresh_engine),
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            form = await http.get(f"/act/{drip.page_id}")
            # when a person posts the form without JavaScript
            response = await http.post(
                f"/act/{drip.page_id}",
                data=_fields(
                    firstName="Grace",
                    email="grace@example.net",
                    target=["board"],
                    subject="Clean water, {target}",
                    body="Dear {target},\n\nPlease clean the water.",
                ),
                headers={"content-type": FORM},
            )
        assert form.status_code == 200
        assert _boxes(form.text) == {"mayor": False, "board": False, "minister": False}
        assert response.status_code == 200
        drip.run(drip.clock.at + timedelta(minutes=5))
        # then the water board's two addresses get the message, from the hub, signed Grace
        [received] = drip.inbox.to("board@targets.example.org")
        assert sorted(received.recipients) == [
            "board@targets.example.org",
            "chair@targets.example.org",
        ]
        assert received["Subject"] == "Clean water, Water Board"
        assert "Dear Water Board,\n\nPlease clean the water." in received.body
        assert "Grace" in received["From"]
        assert "grace@example.net" not in str(received.message)
        assert drip.statuses() == {"delivered": 1}
