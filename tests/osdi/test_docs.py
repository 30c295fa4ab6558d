"""The example of docs/osdi.md runs as written: its request against a live page, its answer's
shape, and what it says is recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.osdi.conftest import Osdi, World

DOC = Path(__file__).resolve().parents[2] / "docs" / "osdi.md"


class TestExample:
    async def test_the_documented_request_gets_the_documented_answer(
        self, osdi: Osdi, world: World, session: AsyncSession
    ) -> None:
        # given
        section = DOC.read_text("utf-8").split("## Example", 1)[1].split("\n## ", 1)[0]
        request, answer = (json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S))
        key = re.search(r"idempotency-key: ([\w-]+)", section)
        assert key is not None
        # when
        response = await osdi.post(
            world.page.id, request, token=world.token, headers={"idempotency-key": key[1]}
        )
        # then
        assert response.status_code == 200, response.text
        got = response.json()
        assert set(got) == set(answer)
        assert set(got["_links"]) == set(answer["_links"])
        assert got["identifiers"] == [f"coalition_hub:{got['coalition_hub:contact_ref']}"]
        recorded = await session.execute(
            text("SELECT custom_fields->'tags', custom_fields->>'comment' FROM action")
        )
        assert [tuple(r) for r in recorded] == [(["rivers", "volunteer"], "For the rivers")]
        consents = await session.execute(
            text("SELECT org_id, given, wording_version FROM consent ORDER BY org_id")
        )
        assert {tuple(r) for r in consents} == {
            (world.org.id, True, "v1"),
            (world.lead.id, False, "v1"),
        }
