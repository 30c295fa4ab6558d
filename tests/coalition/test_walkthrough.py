"""The coalition walkthrough in docs/api.md runs as written, in order, on a fresh demo instance:
the shell steps through the real CLI, the GraphQL steps through the app on the same database."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.db import Database
from hub.embedded import libpq_url
from hub.settings import Settings
from tests.conftest import TEST_SECRET
from tests.foundation.test_cli import hub_env, run

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```(graphql|sh)\n(.*?)```", re.DOTALL)


def walkthrough() -> list[tuple[str, str]]:
    """(kind, text) of every block of the section, in order."""
    section = DOC.read_text().split("## Coalition walkthrough", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def _shell(block: str, env: dict[str, str]) -> dict[str, str]:
    """Run the CLI lines of a shell block; the variables they assign."""
    assigned: dict[str, str] = {}
    for line in block.replace("\\\n", " ").splitlines():
        if not line.strip():
            continue
        name, command = None, line.strip()
        found = re.fullmatch(r"(\w+)=\$\((.*)\)", command)
        if found:
            name, command = found.group(1), found.group(2)
        words = shlex.split(command)
        assert words[:3] == ["uv", "run", "coalition-hub"], line
        result = run(words[3:], env)
        assert result.returncode == 0, (line, result.stderr)
        if name:
            assigned[name] = result.stdout.strip()
    return assigned


async def test_the_walkthrough_runs_on_a_fresh_demo_instance(
    fresh_database: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    # given a fresh instance with the demo loaded, as `serve --demo` leaves it
    env = hub_env(HUB_DATABASE_URL=fresh_database, HUB_SECRET_KEY=TEST_SECRET)
    assert run(["demo", "--json"], env).returncode == 0
    settings = Settings(
        database_url=fresh_database,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        public_url="http://hub.test",
        intake_rate_per_ip="1000/minute",
        public_cache_seconds=0,
    )
    database = Database(url=fresh_database)
    app = create_app(settings, database)
    blocks = walkthrough()
    assert [kind for kind, _ in blocks].count("graphql") >= 14
    tokens: dict[str, str] = {}
    answers: list[dict[str, Any]] = []
    variables: dict[str, Any] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as web:
        for kind, block in blocks:
            if kind == "sh":
                made = _shell(block, env)
                tokens = {
                    "green-league": made["LEAD_TOKEN"],
                    "river-friends": made["PARTNER_TOKEN"],
                }
                continue
            caller = block.splitlines()[0].removeprefix("# as: ").strip()
            headers = {} if caller == "anonymous" else {"authorization": f"Bearer {tokens[caller]}"}
            # when
            response = await web.post(
                "/graphql", json={"query": block, "variables": variables}, headers=headers
            )
            body = response.json()
            # then: every step succeeds as written
            assert response.status_code == 200, (block, body)
            assert "errors" not in body, (block, body)
            for value in body["data"].values():
                if isinstance(value, dict) and "__typename" in value:
                    assert value["__typename"].endswith("Success"), (block, value)
            answers.append(body["data"])
            page = body["data"].get("actionPage")
            if page and "campaign" in page and "consent" in page["campaign"]:
                # the widget sends back what it read
                variables = {"page": page["id"], "version": page["campaign"]["consent"]["version"]}
    await database.dispose()

    created = answers[0]["addCampaign"]["campaign"]
    assert created["qualifiedName"] == "green-league/clean-rivers"
    assert {v["version"] for v in created["consentVersions"]} == {"v1"}
    page = next(a["actionPage"] for a in answers if a.get("actionPage", {}).get("locale"))
    assert page["locale"] == "fr"
    [contact] = next(a["contacts"]["nodes"] for a in answers if "contacts" in a)
    assert contact["email"] == "ana@example.net"
    assert contact["consents"] == [
        {"purpose": "communication", "given": True, "wordingVersion": "v1", "method": "double"}
    ]
    counts = [a["actionPage"] for a in answers if "stats" in (a.get("actionPage") or {})][-1]
    assert counts["stats"]["supporterCount"] == 1
    assert counts["campaign"]["stats"]["actionCount"] == [{"actionType": "signature", "count": 1}]
    stats = next(a["campaignStats"] for a in answers if "campaignStats" in a)
    assert stats["supporters"] == 1
    assert stats["byPartner"] == [
        {"org": "river-friends", "page": "river-friends/signez", "actions": 1}
    ]
    lead, partner = [
        a["campaignStats"] for a in answers if "coverage" in a.get("campaignStats", {})
    ]
    assert lead["coverage"] == "CAMPAIGN"
    assert lead["days"] == [{"signatures": 1, "newSupporters": 1, "returning": 0}]
    assert lead["country"] == [{"key": "FR", "count": 1}]
    assert lead["people"] == [{"key": "new", "count": 1}]
    assert lead["partners"] == [
        {"org": "green-league", "signatures": 0, "newSupporters": 0},
        {"org": "river-friends", "signatures": 1, "newSupporters": 1},
    ]
    assert lead["doubleOptIn"]["asked"] == 1
    assert partner["coverage"] == "OWN_PAGES"
    assert partner["supporters"] == 1
    assert partner["source"] == [{"key": "", "count": 1}]
    assert partner["partners"] is None
    [invited] = next(a["auditLog"]["nodes"] for a in answers if "auditLog" in a)
    assert invited["action"] == "partner.invite"
    assert invited["actorToken"] == "walkthrough"
    assert invited["details"]["org"] == "river-friends"
    # double opt-in: a French confirmation mail waits in the outbox, the CRM delivery is held
    with psycopg.connect(libpq_url(fresh_database)) as conn:
        events = conn.execute("SELECT event, status FROM delivery ORDER BY id").fetchall()
        demo = conn.execute("SELECT count(*) FROM campaign WHERE name = 'clean-rivers'").fetchone()
    assert ("confirmation_mail", "pending") in events
    assert demo == (2,)  # the demo's and the walkthrough's, in two name spaces
