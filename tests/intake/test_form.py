"""The no-JavaScript path: POST /act/{id} with an ordinary HTML form."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.form_routes import render_time
from orgs.crypto import Keyring
from tests.intake.conftest import Coalition, counts

FORM = "application/x-www-form-urlencoded"


async def _post(
    client: httpx.AsyncClient, session: AsyncSession, page_id: int | None, **fields: str
) -> httpx.Response:
    await session.flush()
    return await client.post(f"/act/{page_id}", data=fields, headers={"content-type": FORM})


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
        assert "email: is not a valid email address" in response.text
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
        assert "firstName: contains a NUL character" in response.text
        assert "source: contains a control character" in response.text
        assert await counts(session) == before
