"""The widget's Email step (mail to target) in real headless Chromium against a running hub:
choosing or being assigned targets, the campaign's template, what is recorded, mailto mode,
the step's wording in the page's language, and an accessibility audit of every state."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import text

from tests.factories import make_mail_to_target, make_target
from tests.widget.conftest import LiveHub
from tests.widget.test_widget_browser import (
    Coalition,
    Opener,
    make_coalition,
    open_widget,
)

__all__ = ["open_widget"]  # the fixture, shared with test_widget_browser.py

pytestmark = pytest.mark.browser

SHADOW = "[data-coalition-widget]"
TEMPLATE = {
    "en": {"subject": "Save the river, {target}", "body": "Dear {target},\n\nPlease act now."},
    "fr": {"subject": "Sauvez la rivière", "body": "Madame, Monsieur,\n\nAgissez."},
}


async def email_campaign(hub: LiveHub, locale: str = "en", **settings: Any) -> Coalition:
    """A mail-to-target page with three targets (addresses the browser never sees)."""
    coalition = await make_coalition(hub, config={"actionType": "mail2target"}, locale=locale)
    async with hub.session() as session:
        await make_target(
            session,
            coalition.campaign,
            "mayor",
            name="Mayor Ann",
            area="Riverside",
            postcodes=["750"],
        )
        await make_target(
            session,
            coalition.campaign,
            "board",
            name="Water Board",
            area="Riverside",
            postcodes=["751"],
        )
        await make_target(
            session,
            coalition.campaign,
            "minister",
            name="Minister Bob",
            area="Capital",
            postcodes=["1"],
        )
        settings.setdefault("templates", TEMPLATE)
        await make_mail_to_target(session, coalition.campaign, **settings)
        await session.commit()
    return coalition


async def recorded(hub: LiveHub, page_id: int) -> list[dict[str, Any]]:
    async with hub.session() as session:
        result = await session.execute(
            text(
                """
                SELECT t.external_id AS target, m.kind, a.custom_fields
                FROM target_message m JOIN target t ON t.id = m.target_id
                JOIN action a ON a.id = m.action_id
                WHERE a.action_page_id = :page ORDER BY t.external_id
                """
            ),
            {"page": page_id},
        )
        return [dict(r) for r in result.mappings()]


async def audit(page: Any, axe_source: str) -> list[dict[str, Any]]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=axe_source)
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.map((n) => n.target.join(' '))}))"""
    )
    return violations


async def fill_contact(page: Any, email: str) -> None:
    await page.fill("#c-firstName", "Ana")
    await page.fill("#c-lastName", "Lima")
    await page.fill("#c-email", email)


class TestEmailStep:
    async def test_choose_targets_send_and_no_address_reaches_the_browser(
        self,
        live_hub: LiveHub,
        open_widget: Opener,
        axe_source: str,
        artifacts: Path,
    ) -> None:
        # given
        coalition = await email_campaign(live_hub)
        responses: list[str] = []
        opened = await open_widget(coalition.page.id, wait_for="#c-targets input")
        page = opened.page
        page.on("response", lambda r: responses.append(r.url))
        # then the step shows the targets, the template and what goes to them
        labels = await page.locator("#c-targets label").all_inner_texts()
        assert labels == [
            "Mayor Ann (Riverside)",
            "Minister Bob (Capital)",
            "Water Board (Riverside)",
        ]
        assert await page.input_value("#c-subject") == "Save the river, {target}"
        assert await page.input_value("#c-body") == "Dear {target},\n\nPlease act now."
        assert await page.locator("button.go").inner_text() == "Send the email"
        html = await page.locator(SHADOW).evaluate("el => el.shadowRoot.innerHTML")
        assert "targets.example.org" not in html
        assert await audit(page, axe_source) == []
        await page.locator(SHADOW).screenshot(path=str(artifacts / "widget-email.png"))
        # when sent without a target: the error is under the list
        await fill_contact(page, "ana.choose@example.org")
        await page.click("button.go")
        await page.wait_for_selector("#c-targets-e:has-text('Choose at least one')")
        assert await audit(page, axe_source) == []
        # when two targets are ticked and the message edited
        await page.check("label:has-text('Mayor Ann')")
        await page.check("label:has-text('Water Board')")
        await page.fill("#c-body", "Dear {target},\n\nOur river is dying.")
        await page.click("button.go")
        # then
        await page.wait_for_selector("h3:has-text('Your email is on its way')")
        assert await audit(page, axe_source) == []
        assert [(r["target"], r["kind"]) for r in await recorded(live_hub, coalition.page.id)] == [
            ("board", "send"),
            ("mayor", "send"),
        ]
        events = await opened.events()
        assert [e["detail"]["actionType"] for e in events if e["type"] == "signed"] == [
            "mail2target"
        ]

    async def test_the_postcode_assigns_the_targets(
        self, live_hub: LiveHub, open_widget: Opener, axe_source: str
    ) -> None:
        # given a campaign that assigns targets by postcode
        coalition = await email_campaign(live_hub, selection="postcode")
        opened = await open_widget(coalition.page.id, wait_for="#c-postcode")
        page = opened.page
        assert await page.locator("#c-targets input").count() == 0
        # when the signer types a postcode of the board's area
        await page.fill("#c-postcode", "751 10")
        await page.wait_for_selector("#c-targets label:has-text('Water Board')")
        # then the board is assigned (ticked), and only the board
        assert await page.locator("#c-targets input").count() == 1
        assert await page.is_checked("#c-targets input")
        assert await audit(page, axe_source) == []
        # a postcode no target answers for says so
        await page.fill("#c-postcode", "999")
        await page.wait_for_selector("#c-targets p:has-text('No one to write to')")
        await page.fill("#c-postcode", "75012")
        await page.wait_for_selector("#c-targets label:has-text('Mayor Ann')")
        await fill_contact(page, "ana.postcode@example.org")
        await page.click("button.go")
        await page.wait_for_selector("h3:has-text('Your email is on its way')")
        assert [r["target"] for r in await recorded(live_hub, coalition.page.id)] == ["mayor"]

    async def test_a_fixed_text_and_the_reply_to_box(
        self, live_hub: LiveHub, open_widget: Opener, axe_source: str
    ) -> None:
        coalition = await email_campaign(
            live_hub, selection="all", editable=False, ask_reply_to=True
        )
        opened = await open_widget(coalition.page.id, wait_for="#c-targets input")
        page = opened.page
        # every target is ticked; the text cannot be edited; the email goes only if ticked
        assert await page.locator("#c-targets input:checked").count() == 3
        assert await page.get_attribute("#c-subject", "readonly") is not None
        assert await page.get_attribute("#c-body", "readonly") is not None
        notice = "Your name is sent with your message to the people you write to."
        assert await page.locator(f"p:has-text('{notice}')").count() == 1
        assert await audit(page, axe_source) == []
        await fill_contact(page, "ana.reply@example.org")
        await page.check("#c-replyTo")
        await page.click("button.go")
        await page.wait_for_selector("h3:has-text('Your email is on its way')")
        messages = await recorded(live_hub, coalition.page.id)
        assert [m["target"] for m in messages] == ["board", "mayor", "minister"]
        assert {m["custom_fields"].get("replyTo") for m in messages} == {True}

    async def test_mailto_mode_hands_the_message_to_the_mail_app(
        self, live_hub: LiveHub, open_widget: Opener, axe_source: str
    ) -> None:
        # given a campaign whose signers send from their own mail app
        coalition = await email_campaign(live_hub, mode="mailto")
        opened = await open_widget(coalition.page.id, wait_for="#c-targets input")
        page = opened.page
        await page.check("label:has-text('Minister Bob')")
        await fill_contact(page, "ana.mailto@example.org")
        await page.click("button.go")
        # then the link to the mail app is there, with the minister's address and the text
        link = page.locator("a.go[href^='mailto:']")
        await link.wait_for()
        href = unquote(await link.get_attribute("href") or "")
        assert href.startswith("mailto:minister@targets.example.org?subject=Save the river")
        assert "Ana Lima" in href
        assert await audit(page, axe_source) == []
        # and the click is counted, never sent by the hub
        assert [(r["target"], r["kind"]) for r in await recorded(live_hub, coalition.page.id)] == [
            ("minister", "click")
        ]

    async def test_a_french_page_speaks_french(
        self, live_hub: LiveHub, open_widget: Opener, axe_source: str
    ) -> None:
        coalition = await email_campaign(live_hub, locale="fr", mode="both")
        opened = await open_widget(coalition.page.id, wait_for="#c-targets input", lang="fr")
        page = opened.page
        assert await page.locator("#c-targets legend").inner_text() == "À qui écrire"
        assert await page.locator("button.go").inner_text() == "Envoyer l\u2019e-mail"
        assert await page.input_value("#c-subject") == "Sauvez la rivière"
        assert await page.locator("label[for=c-mailto]").count() == 1
        assert await audit(page, axe_source) == []


class TestWithoutJavaScript:
    async def test_the_hubs_form_page_has_the_email_step_and_passes_axe(
        self, live_hub: LiveHub, browser: Any, axe_source: str, artifacts: Path
    ) -> None:
        # given a postcode campaign, and a browser with scripts off (the hub's form needs none)
        coalition = await email_campaign(live_hub, selection="postcode")
        context = await browser.new_context(java_script_enabled=False)
        try:
            page = await context.new_page()
            await page.goto(f"{live_hub.url}/act/{coalition.page.id}")
            # when the signer gives their postcode
            assert await page.locator("input[name=target]").count() == 0
            await page.fill("input[name=postcode]", "751 10")
            await page.click("button[type=submit]")
            # then the form has its targets (ticked), the text, and what goes to them
            await page.wait_for_selector("fieldset legend:has-text('Who to write to')")
            assert await page.is_checked("label:has-text('Water Board') input")
            assert await page.locator("input[name=target]").count() == 1
            await page.screenshot(path=str(artifacts / "no-js-email-step.png"), full_page=True)
            # sent without a target: the form again, filled in, saying what to fix
            await page.uncheck("label:has-text('Water Board') input")
            await page.fill("input[name=firstName]", "Ana")
            await page.fill("input[name=email]", "ana.nojs@example.org")
            await page.click("button[type=submit]")
            await page.wait_for_selector("[role=alert]:has-text('Your email was not sent')")
            assert await page.input_value("input[name=email]") == "ana.nojs@example.org"
            await page.check("label:has-text('Water Board') input")
            # a person takes a moment: a form sent within 3 s of being served is a bot's
            # (recorded flagged, never sent; hub/form_routes.py)
            await page.wait_for_timeout(3_100)
            await page.click("button[type=submit]")
            await page.wait_for_selector("p:has-text('Your email is on its way.')")
        finally:
            await context.close()
        assert [r["target"] for r in await recorded(live_hub, coalition.page.id)] == ["board"]
        # every state of the form passes the audit (axe runs in a page of its own: scripts on)
        context = await browser.new_context()
        try:
            page = await context.new_page()
            for query in ("", "?postcode=75012", "?postcode=999"):
                await page.goto(f"{live_hub.url}/act/{coalition.page.id}{query}")
                assert await audit(page, axe_source) == [], query
        finally:
            await context.close()
