"""`coalition-hub page pull|push` against a real hub on 127.0.0.1, with an org's API token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.app import create_app
from hub.db import Database
from hub.embedded import libpq_url
from hub.settings import Settings
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.foundation.test_cli import hub_env, run
from tests.servers import serve_in_thread


@pytest.fixture
def hub_url(fresh_database: str, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        database_url=fresh_database,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        public_url="http://127.0.0.1",
    )
    with serve_in_thread(create_app(settings, Database(url=fresh_database))) as url:
        yield url


async def _page_and_token(engine: AsyncEngine) -> tuple[str, str, str]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = await f.make_org(session)
        other = await f.make_org(session)
        campaign = await f.make_campaign(session, org)
        page = await f.make_page(session, org, campaign, f"{org.name}/petition")
        _, token = await f.make_token(session, org, ["pages:write"])
        _, other_token = await f.make_token(session, other, ["pages:write"])
        await session.commit()
    return page.name, token, other_token


class TestPageFiles:
    async def test_pull_edit_push(
        self, fresh_database: str, fresh_engine: AsyncEngine, hub_url: str, tmp_path: Path
    ) -> None:
        # given
        name, token, _ = await _page_and_token(fresh_engine)
        env = hub_env(HUB_API_URL=hub_url, HUB_TOKEN=token)
        target = tmp_path / "page.json"
        # when: pulled, edited, pushed
        pulled = run(["page", "pull", name, "-o", str(target)], env)
        document = json.loads(target.read_text())
        document.update(
            locale="fr",
            doubleOptIn=True,
            config={"heading": "Signez", "counter": {"min": 10}},
            templates={"fr": {"thank_you": {"subject": "Merci {{ first_name }}"}}},
        )
        target.write_text(json.dumps(document))
        pushed = run(["page", "push", str(target)], env)
        again = run(["page", "pull", name], env)
        # then
        assert pulled.returncode == 0, pulled.stderr
        assert pushed.returncode == 0, pushed.stderr
        saved = json.loads(again.stdout)
        assert saved["locale"] == "fr"
        assert saved["doubleOptIn"] is True
        assert saved["config"] == {"heading": "Signez", "counter": {"min": 10}}
        assert saved["templates"]["fr"]["thank_you"]["subject"] == "Merci {{ first_name }}"

    async def test_a_bad_file_is_refused_before_sending(
        self, fresh_database: str, fresh_engine: AsyncEngine, hub_url: str, tmp_path: Path
    ) -> None:
        # given
        name, token, _ = await _page_and_token(fresh_engine)
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"name": name, "config": {"thankYouEmail": True}}))
        # when
        result = run(["page", "push", str(bad)], hub_env(HUB_API_URL=hub_url, HUB_TOKEN=token))
        # then
        assert result.returncode == 2
        assert "config.thankYouEmail: unknown key" in result.stderr
        assert "nothing sent" in result.stderr
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            config = conn.execute("SELECT config FROM action_page").fetchone()
        assert config == ({},)

    async def test_another_orgs_page_cannot_be_pulled_or_pushed(
        self, fresh_engine: AsyncEngine, hub_url: str, tmp_path: Path
    ) -> None:
        # given
        name, _, other_token = await _page_and_token(fresh_engine)
        env = hub_env(HUB_API_URL=hub_url, HUB_TOKEN=other_token)
        file = tmp_path / "page.json"
        file.write_text(json.dumps({"name": name, "locale": "de"}))
        # when
        pulled = run(["page", "pull", name], env)
        pushed = run(["page", "push", str(file)], env)
        # then
        assert pulled.returncode == 2
        assert "no page" in pulled.stderr
        assert pushed.returncode == 2
        assert "NOT_FOUND" in pushed.stderr
