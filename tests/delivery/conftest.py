"""Delivery fixtures: a committed coalition with a webhook, a receiver, the runtime."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions
from orgs.models import ConnectorKind
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.delivery.receiver import Receiver, run_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from run_receiver()


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass
class World:
    engine: AsyncEngine
    database_url: str
    keyring: Keyring
    page_id: int
    org_id: int
    connector_id: int
    secret: str

    async def sign(self, email: str = "ada@example.net", **submission: Any) -> str:
        submission.setdefault("action", {"actionType": "petition"})
        submission.setdefault(
            "contact",
            {"firstName": "Ada", "lastName": "L", "email": email, "address": {"country": "FR"}},
        )
        submission.setdefault("privacy", {"optIn": True})
        async with self.engine.begin() as conn:
            receipt = await service.add_action_contact(
                conn, IntakeOptions(keyring=self.keyring), self.page_id, **submission
            )
        return receipt.contact_ref

    async def deliveries(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT id, event, status, attempts, last_error, connector_id, "
                    "next_attempt_at > now() AS later FROM delivery ORDER BY id"
                )
            )
            return [dict(r) for r in result.mappings()]

    def settings(self, tmp: Path, **kw: Any) -> Settings:
        return Settings(
            database_url=self.database_url,
            data_dir=tmp,
            secret_key=TEST_SECRET,
            public_url="http://hub.test",
            allow_private_webhooks=kw.pop("allow_private_webhooks", True),
            worker_threads=2,
            **kw,
        )


@pytest.fixture
async def world(
    fresh_database: str, fresh_engine: AsyncEngine, keyring: Keyring, receiver: Receiver
) -> AsyncIterator[World]:
    secret = whsec()
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        org = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        page = await f.make_page(session, org, campaign)
        connector = await f.make_connector(
            session,
            org,
            ConnectorKind.WEBHOOK,
            config={"url": receiver.url},
            secrets_encrypted=keyring.encrypt_json({"secrets": [secret]}),
        )
        await session.commit()
    assert page.id
    assert org.id
    assert connector.id
    return World(fresh_engine, fresh_database, keyring, page.id, org.id, connector.id, secret)
