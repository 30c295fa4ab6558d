"""``coalition-hub targets import FILE.csv|json`` as an operator runs it: a real process on a
real database; every problem with its line, nothing written unless the whole file passes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from orgs.models import PartnerRole
from orgs.targets import files
from tests import factories as f
from tests.foundation.test_cli import hub_env, run

CSV = """external_id,name,area,emails,postcodes,party,photo
mayor,Mayor Ann,Riverside,mayor@targets.example.org; office@targets.example.org,750 751,Greens,https://example.org/ann.jpg
minister,Minister Bob,Capital,minister@targets.example.org,1,,
"""


@pytest.fixture
async def coalition(fresh_engine: AsyncEngine) -> dict[str, str]:
    async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
        lead = await f.make_org(session)
        partner = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        await f.make_partnership(session, campaign, partner, role=PartnerRole.PARTNER)
        await session.commit()
    return {"lead": lead.name, "partner": partner.name, "campaign": campaign.name}


async def _targets(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                """
                SELECT t.external_id, t.name, t.area, t.fields, t.postcodes,
                       array(SELECT e.email FROM target_email e WHERE e.target_id = t.id
                             ORDER BY e.email) AS emails
                FROM target t ORDER BY t.external_id
                """
            )
        )
        return [dict(r) for r in result.mappings()]


class TestTargetsImport:
    async def test_a_csv_file_creates_the_targets(
        self,
        fresh_database: str,
        fresh_engine: AsyncEngine,
        coalition: dict[str, str],
        tmp_path: Path,
    ) -> None:
        # given
        path = tmp_path / "targets.csv"
        path.write_text(CSV)
        env = hub_env(HUB_DATABASE_URL=fresh_database)
        # when
        done = run(
            [
                "targets",
                "import",
                str(path),
                "--org",
                coalition["lead"],
                "--campaign",
                coalition["campaign"],
            ],
            env,
        )
        # then
        assert done.returncode == 0, done.stderr
        assert "imported 2 targets" in done.stdout
        assert await _targets(fresh_engine) == [
            {
                "external_id": "mayor",
                "name": "Mayor Ann",
                "area": "Riverside",
                "fields": {"party": "Greens", "photo": "https://example.org/ann.jpg"},
                "postcodes": ["750", "751"],
                "emails": ["mayor@targets.example.org", "office@targets.example.org"],
            },
            {
                "external_id": "minister",
                "name": "Minister Bob",
                "area": "Capital",
                "fields": {},
                "postcodes": ["1"],
                "emails": ["minister@targets.example.org"],
            },
        ]

    async def test_a_json_file_replaces_and_problems_name_their_target(
        self,
        fresh_database: str,
        fresh_engine: AsyncEngine,
        coalition: dict[str, str],
        tmp_path: Path,
    ) -> None:
        env = hub_env(HUB_DATABASE_URL=fresh_database)
        args = ["--org", coalition["lead"], "--campaign", coalition["campaign"]]
        good = tmp_path / "good.json"
        good.write_text(json.dumps([{"externalId": "a", "name": "A", "emails": ["a@t.example"]}]))
        assert run(["targets", "import", str(good), *args], env).returncode == 0
        # when a file with a bad address is imported, replacing the list
        bad = tmp_path / "bad.json"
        bad.write_text(
            json.dumps(
                {
                    "targets": [
                        {"externalId": "b", "name": "B", "emails": [{"email": "b@t.example"}]},
                        {"externalId": "c", "name": "C", "emails": ["not an address"]},
                    ]
                }
            )
        )
        refused = run(["targets", "import", str(bad), *args, "--missing", "replace"], env)
        # then nothing changed, and the problem says where
        assert refused.returncode == 2
        assert "bad.json: target 2: emails.0.email: is not a valid email address" in (
            refused.stderr
        )
        assert [t["external_id"] for t in await _targets(fresh_engine)] == ["a"]

    async def test_a_partner_org_cannot_import(
        self,
        fresh_database: str,
        fresh_engine: AsyncEngine,
        coalition: dict[str, str],
        tmp_path: Path,
    ) -> None:
        path = tmp_path / "targets.csv"
        path.write_text(CSV)
        env = hub_env(HUB_DATABASE_URL=fresh_database)
        done = run(
            [
                "targets",
                "import",
                str(path),
                "--org",
                coalition["partner"],
                "--campaign",
                coalition["campaign"],
            ],
            env,
        )
        assert done.returncode == 2
        assert f"as org {coalition['partner']!r}: only the" in done.stderr
        assert "of the campaign may do this" in done.stderr
        assert await _targets(fresh_engine) == []


class TestParse:
    def test_csv_lines_and_free_fields(self) -> None:
        targets, where = files.parse("t.csv", CSV.encode())
        assert [t.external_id for t in targets] == ["mayor", "minister"]
        assert targets[0].fields == {"party": "Greens", "photo": "https://example.org/ann.jpg"}
        assert [e.email for e in targets[0].emails or []] == [
            "mayor@targets.example.org",
            "office@targets.example.org",
        ]
        assert where(1) == "line 3"

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("t.txt", b"x", "a .csv or .json file"),
            ("t.json", b"{", "not JSON"),
            ("t.json", b'{"a": 1}', "a list of targets"),
            ("t.csv", b"name,area\nA,B\n", "external_id and name"),
            ("t.csv", b"id,name\na,A,extra\n", "line 2: more cells"),
            ("t.csv", b"\xff\xfe", "not UTF-8"),
        ],
    )
    def test_unreadable_files_say_why(self, name: str, data: bytes, message: str) -> None:
        with pytest.raises(files.FileProblem, match=message):
            files.parse(name, data)
