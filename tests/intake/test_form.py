"""The no-JavaScript path: POST /act/{id} with an ordinary HTML form."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.form_routes import render_time
from orgs.crypto import Keyring
from orgs.models import ActionPage
from tests.conftest import TEST_SECRET
from tests.intake.conftest import Coalition, counts

FORM = "application/x-www-form-urlencoded"


async def _post(
    client: httpx.AsyncClient, session: AsyncSession, page_id: int | None, **fields: str | None
) -> httpx.Response:
    """Post the hub's form as a person does: with the render time it was served with a minute
    ago (``_t=None`` leaves it out)."""
    await session.flush()
    fields.setdefault("_t", render_time(Keyring(TEST_SECRET), time.time() - 60))
    data = {k: v for k, v in fields.items() if v is not None}
    return await client.post(f"/act/{page_id}", data=data, headers={"content-type": FORM})


async def _actions(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(text("SELECT action_type, flagged FROM action"))
    return [dict(r) for r in result.mappings()]


class TestFormPost:
    async def test_a_signature_gets_a_thank_you_page_with_a_link_back(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when: optIn ticked, leadOptIn shown but left unticked
        response = await _post(
            client,
            session,
            coalition.partner_page.id,
            firstName="Noor",
            email="noor@example.org",
            optInShown="1",
            optIn="1",
            leadOptInShown="1",
            returnUrl="https://partner.example/petition",
            website="",
        )
        # then
        assert response.status_code == 200
        assert "Thank you, Noor!" in response.text
        assert 'href="https://partner.example/petition"' in response.text
        assert await _actions(session) == [{"action_type": "signature", "flagged": None}]
        consents = await session.execute(text("SELECT org_id, given FROM consent ORDER BY org_id"))
        assert {r.org_id: r.given for r in consents} == {
            coalition.lead.id: False,
            coalition.partner.id: True,
        }

    async def test_invalid_input_writes_nothing_and_says_why(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        before = await counts(session)
        # when
        response = await _post(
            client, session, coalition.lead_page.id, email="nope", returnUrl="javascript:alert(1)"
        )
        # then
        assert response.status_code == 400
        assert "Email: is not a valid email address" in response.text
        assert "javascript:" not in response.text
        assert await counts(session) == before

    async def test_a_filled_honeypot_is_accepted_but_flagged(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when
        response = await _post(
            client, session, coalition.lead_page.id, email="bot@example.org", website="spam"
        )
        # then: the same answer as a person gets
        assert response.status_code == 200
        assert await _actions(session) == [{"action_type": "signature", "flagged": "honeypot"}]

    async def test_a_form_sent_at_once_is_flagged(
        self,
        coalition: Coalition,
        client: httpx.AsyncClient,
        session: AsyncSession,
        keyring: Keyring,
    ) -> None:
        # when
        await _post(
            client,
            session,
            coalition.lead_page.id,
            email="fast@example.org",
            _t=render_time(keyring),
        )
        # then
        assert await _actions(session) == [{"action_type": "signature", "flagged": "too_fast"}]

    async def test_a_post_without_the_forms_render_time_is_flagged(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when: a script posts straight to /act, and another forges the time
        await _post(client, session, coalition.lead_page.id, email="a@example.org", _t=None)
        await _post(client, session, coalition.lead_page.id, email="b@example.org", _t="1.x")
        # then: accepted as for a person, never counted or delivered
        assert await _actions(session) == [
            {"action_type": "signature", "flagged": "no_render_time"},
            {"action_type": "signature", "flagged": "bad_render_time"},
        ]

    async def test_the_form_served_by_the_hub_carries_its_render_time(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # when
        await session.flush()
        response = await client.get(f"/act/{coalition.lead_page.id}")
        # then
        assert response.status_code == 200
        assert re.search(r'name="_t" value="\d+\.[\w-]+"', response.text)
        assert 'name="optInShown"' in response.text

    async def test_refused_text_gets_the_not_recorded_page(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: a NUL in the name and a surrogate's UTF-8 bytes (%ED%A0%80) in the comment
        before = await counts(session)
        await session.flush()
        body = "firstName=A%00da&email=ada%40example.org&comment=%ED%A0%80&source=x%01y"
        # when
        response = await client.post(
            f"/act/{coalition.lead_page.id}", content=body, headers={"content-type": FORM}
        )
        # then
        assert response.status_code == 400
        assert "Your signature was not recorded" in response.text
        assert "First name: contains a NUL character" in response.text
        assert "source: contains a control character" in response.text
        assert await counts(session) == before


async def _speaks(session: AsyncSession, page: ActionPage, locale: str, **config: Any) -> None:
    page.locale = locale
    if config:
        page.config = config
    session.add(page)
    await session.flush()


class TestLanguages:
    async def test_a_german_page_gets_a_german_form(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        await _speaks(session, coalition.partner_page, "de")
        # when
        response = await client.get(f"/act/{coalition.partner_page.id}")
        # then
        html = response.text
        assert response.status_code == 200
        assert '<html lang="de" dir="ltr">' in html
        for german in ("Vorname", "E-Mail", "Postleitzahl (optional)", "Datenschutzerklärung"):
            assert german in html
        assert '<button type="submit">Petition unterschreiben</button>' in html
        assert "Dieses Feld bitte leer lassen" in html  # the honeypot's label too
        for english in ("First name", "Sign the petition", "Privacy policy", "Leave this"):
            assert english not in html

    async def test_a_german_page_thanks_in_german(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        await _speaks(session, coalition.lead_page, "de_AT")
        # when
        response = await _post(
            client,
            session,
            coalition.lead_page.id,
            firstName="Noor",
            email="noor@example.org",
            returnUrl="https://lead.example/petition",
        )
        # then
        assert response.status_code == 200
        assert '<html lang="de-AT" dir="ltr">' in response.text
        assert "<h1>Danke, Noor!</h1>" in response.text
        assert "Deine Unterschrift wurde gespeichert." in response.text
        assert '<a href="https://lead.example/petition">Zurück zur Seite</a>' in response.text

    async def test_a_german_page_says_what_to_fix_in_german(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given
        await _speaks(session, coalition.lead_page, "de")
        # when
        response = await _post(client, session, coalition.lead_page.id, email="nope")
        # then
        assert response.status_code == 400
        assert "<h1>Bitte überprüfe das Formular</h1>" in response.text
        assert "Deine Unterschrift wurde nicht gespeichert:" in response.text
        assert "<li>E-Mail: Bitte gib eine gültige E-Mail-Adresse ein.</li>" in response.text
        assert "is not a valid" not in response.text

    async def test_the_pages_own_texts_override_the_catalog(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given: the widget config's text overrides, for the language and the exact locale
        await _speaks(
            session,
            coalition.lead_page,
            "de_CH",
            text={"de": {"sign": "Jetzt unterschreiben"}, "de-CH": {"postcode": "PLZ"}},
        )
        # when
        response = await client.get(f"/act/{coalition.lead_page.id}")
        # then
        assert '<button type="submit">Jetzt unterschreiben</button>' in response.text
        assert "PLZ (optional)" in response.text
        assert "Vorname" in response.text

    async def test_an_unknown_locale_falls_back_to_english(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given a Swedish page: its campaign wording is its own, the hub's words English
        await _speaks(session, coalition.lead_page, "sv_SE")
        # when
        form = await client.get(f"/act/{coalition.lead_page.id}")
        thanks = await _post(client, session, coalition.lead_page.id, email="sv@example.org")
        # then
        assert '<html lang="sv-SE" dir="ltr">' in form.text
        assert '<button type="submit">Sign the petition</button>' in form.text
        assert "<h1>Thank you!</h1>" in thanks.text

    async def test_a_right_to_left_page_gets_dir_rtl(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        # given an Arabic page that words its own button
        await _speaks(session, coalition.lead_page, "ar", text={"ar": {"sign": "وقّع العريضة"}})
        # when
        form = await client.get(f"/act/{coalition.lead_page.id}")
        thanks = await _post(client, session, coalition.lead_page.id, email="ar@example.org")
        # then
        assert '<html lang="ar" dir="rtl">' in form.text
        assert '<button type="submit">وقّع العريضة</button>' in form.text
        assert '<html lang="ar" dir="rtl">' in thanks.text

    async def test_an_unknown_page_answers_in_english(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/act/999999999")
        assert response.status_code == 404
        assert '<html lang="en" dir="ltr">' in response.text
        assert "<h1>Petition not available</h1>" in response.text

    async def test_a_name_is_escaped_once(
        self, coalition: Coalition, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        response = await _post(
            client, session, coalition.lead_page.id, firstName="O'Brien", email="ob@example.org"
        )
        assert "<h1>Thank you, O&#x27;Brien!</h1>" in response.text
