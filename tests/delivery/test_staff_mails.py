"""Mails to the hub's own users through the outbox and a real SMTP sink: password reset,
staff invitation, and a page's test mail; the previews campaigners check before launch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.app import create_app
from hub.db import Database
from orgs.identity.access import issue_access_token
from orgs.models import Org, StaffRole
from resolvers.context import jwt_keys_for
from tests import factories as f
from tests.conftest import GraphQLClient
from tests.delivery.conftest import Sink, World
from tests.delivery.test_pipeline import until
from workers.runtime import DeliveryRuntime

REQUEST = "mutation($email: String!) { requestPasswordReset(input: {email: $email}) { ok } }"
INVITE = """
mutation($org: String!, $email: String!) {
  inviteStaff(input: {org: $org, email: $email, role: DATA_MANAGER}) { __typename }
}
"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { __typename }
}
"""
PREVIEW = """
mutation($input: PreviewMailInput!) {
  previewMail(input: $input) {
    __typename
    ... on PreviewMailSuccess { mail { subject text html language } }
    ... on PreviewMailErrors { errors { field code } }
  }
}
"""
TEST_MAIL = """
mutation($input: SendTestMailInput!) {
  sendTestMail(input: $input) {
    __typename
    ... on SendTestMailErrors { errors { field code message } }
  }
}
"""
NEW_PASSWORD = "a long new password"


def _plain(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


async def _has(items: list[Any], n: int = 1) -> bool:
    return len(items) >= n


async def _staff(world: World, role: StaffRole = StaffRole.OWNER) -> tuple[Org, str]:
    async with AsyncSession(world.engine, expire_on_commit=False) as session:
        org = await session.get(Org, world.org_id)
        assert org is not None
        user = await f.make_user(session, "staff@example.org")
        await f.make_staffer(session, org, user, role)
        await session.commit()
    return org, user.email


class TestStaffMails:
    async def test_a_password_reset_link_arrives_and_sets_the_password(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given
        sink, smtp_url = smtp
        await _staff(world)
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        app = create_app(settings, Database(url=world.database_url))
        runtime = DeliveryRuntime(settings, world.database_url)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as web:
            # when: asked for a known address and an unknown one
            for email in ("staff@example.org", "nobody@example.org", "staff@example.org"):
                answer = await web.post(
                    "/graphql", json={"query": REQUEST, "variables": {"email": email}}
                )
                assert answer.json() == {"data": {"requestPasswordReset": {"ok": True}}}
            runtime.start()
            try:
                await until(lambda: _has(sink.messages))
            finally:
                runtime.stop()
            [mail] = sink.messages  # one mail: not for the unknown address, not twice an hour
            link = re.search(r"http://hub\.test(/reset-password\?token=\S+)", _plain(mail))
            assert link is not None
            form = await web.get(link.group(1))
            token = link.group(1).split("token=", 1)[1]
            saved = await web.post(
                "/reset-password", data={"token": token, "password": NEW_PASSWORD}
            )
            again = await web.post(
                "/reset-password", data={"token": token, "password": NEW_PASSWORD}
            )
            login = await web.post(
                "/graphql",
                json={
                    "query": LOGIN,
                    "variables": {"email": "staff@example.org", "password": NEW_PASSWORD},
                },
            )
        # then
        assert mail["To"] == "staff@example.org"
        assert 'type="password"' in form.text
        assert "Password saved" in saved.text
        assert again.status_code == 400
        assert login.json()["data"]["login"]["__typename"] == "LoginSuccess"
        async with world.engine.connect() as conn:
            stored = await conn.execute(text("SELECT idempotency_key, details FROM delivery"))
            rows = stored.all()
        assert all("token" not in str(row) for row in rows)  # the outbox held no secret

    async def test_an_invitation_is_mailed_to_the_invitee(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given
        sink, smtp_url = smtp
        org, _ = await _staff(world)
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        async with AsyncSession(world.engine) as session:
            _, token = await f.make_token(session, org, ["staff:write"])
            await session.commit()
        app = create_app(settings, Database(url=world.database_url))
        runtime = DeliveryRuntime(settings, world.database_url)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as web:
            # when
            invited = await web.post(
                "/graphql",
                json={"query": INVITE, "variables": {"org": org.name, "email": "new@example.org"}},
                headers={"authorization": f"Bearer {token}"},
            )
            runtime.start()
            try:
                await until(lambda: _has(sink.messages))
            finally:
                runtime.stop()
        # then
        assert invited.json()["data"]["inviteStaff"]["__typename"] == "InviteStaffSuccess"
        [mail] = sink.messages
        assert mail["To"] == "new@example.org"
        assert org.title in mail["Subject"]
        body = _plain(mail)
        assert "data manager" in body
        assert "/accept-invitation?token=" in body


class TestPreviewAndTestMail:
    async def test_the_preview_speaks_the_pages_language_and_its_own_templates_win(
        self, session: AsyncSession, gql: GraphQLClient
    ) -> None:
        # given: a French page with its own thank-you subject
        org = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        page = await f.make_page(
            session,
            org,
            campaign,
            locale="fr",
            templates={"fr": {"thank_you": {"subject": "Merci {{ first_name }} !"}}},
        )
        _, token = await f.make_token(session, org)
        _, other = await f.make_token(session, await f.make_org(session))
        # when
        own = await gql(PREVIEW, {"input": {"page": page.name, "kind": "THANK_YOU"}}, token=token)
        default = await gql(
            PREVIEW, {"input": {"page": page.name, "kind": "CONFIRMATION"}}, token=token
        )
        german = await gql(
            PREVIEW,
            {"input": {"page": page.name, "kind": "CONFIRMATION", "locale": "de"}},
            token=token,
        )
        foreign = await gql(
            PREVIEW, {"input": {"page": page.name, "kind": "THANK_YOU"}}, token=other
        )
        # then
        mail = own["data"]["previewMail"]["mail"]
        assert mail["subject"] == "Merci Ada !"
        assert mail["language"] == "fr"
        confirmation = default["data"]["previewMail"]["mail"]
        assert confirmation["language"] == "fr"
        assert campaign.title in confirmation["text"]
        assert "/confirm/EXAMPLE-accept?lang=fr" in confirmation["text"]
        assert german["data"]["previewMail"]["mail"]["language"] == "de"
        assert foreign["data"]["previewMail"]["errors"][0]["code"] == "NOT_FOUND"
        deliveries = await session.execute(text("SELECT count(*) FROM delivery"))
        assert deliveries.scalar_one() == 0  # a preview sends nothing

    async def test_a_test_mail_goes_to_the_staff_member_asking(
        self, world: World, smtp: tuple[Sink, str], tmp_path: Path
    ) -> None:
        # given: a logged-in owner of the page's org
        sink, smtp_url = smtp
        org, email = await _staff(world)
        settings = world.settings(tmp_path, smtp_url=smtp_url)
        async with AsyncSession(world.engine) as session:
            page = (
                await session.execute(
                    text("SELECT name FROM action_page WHERE org_id = :o"), {"o": org.id}
                )
            ).scalar_one()
            user_id = (
                await session.execute(text('SELECT id FROM "user" WHERE email = :e'), {"e": email})
            ).scalar_one()
            _, api_token = await f.make_token(session, org, ["pages:write"])
            await session.commit()
        access = issue_access_token(jwt_keys_for(settings), user_id)
        app = create_app(settings, Database(url=world.database_url))
        runtime = DeliveryRuntime(settings, world.database_url)
        variables = {"input": {"page": page, "kind": "THANK_YOU"}}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as web:
            # when
            by_token = await web.post(
                "/graphql",
                json={"query": TEST_MAIL, "variables": variables},
                headers={"authorization": f"Bearer {api_token}"},
            )
            by_user = await web.post(
                "/graphql",
                json={"query": TEST_MAIL, "variables": variables},
                headers={"authorization": f"Bearer {access.token}"},
            )
            runtime.start()
            try:
                await until(lambda: _has(sink.messages))
            finally:
                runtime.stop()
        # then
        assert by_token.json()["data"]["sendTestMail"]["errors"][0]["code"] == "INVALID"
        assert by_user.json()["data"]["sendTestMail"]["__typename"] == "SendTestMailSuccess"
        [mail] = sink.messages
        assert mail["To"] == email
        assert mail["Subject"].startswith("[TEST] ")
        assert "Ada" in _plain(mail)
