"""The "Public intake" examples in docs/api.md run as written, in order."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import GraphQLClient
from tests.intake.conftest import Coalition

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


class TestPublicIntakeSection:
    async def test_examples_run_in_order(
        self, coalition: Coalition, gql: GraphQLClient, session: AsyncSession
    ) -> None:
        # given
        section = DOC.read_text().split("## Public intake", 1)[1].split("\n## ", 1)[0]
        page, sign, share = re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)
        page_id = coalition.partner_page.id
        # when
        read = await gql(page, {"id": page_id})
        signed = await gql(sign, {"id": page_id, "email": "ada@example.net"})
        ref = signed["data"]["addActionContact"]["contactRef"]
        shared = await gql(share, {"id": page_id, "ref": ref})
        # then
        assert read["data"]["actionPage"]["campaign"]["consent"]["version"] == "v1"
        assert signed["data"]["addActionContact"]["firstName"] == "Ada"
        assert shared["data"]["addAction"] == {"contactRef": ref}
        actions = await session.execute(
            text("SELECT action_type, custom_fields FROM action ORDER BY id")
        )
        assert [tuple(r) for r in actions] == [
            ("signature", {"comment": "For the rivers"}),  # "petition" is an alias
            ("share", {"medium": "whatsapp"}),
        ]
