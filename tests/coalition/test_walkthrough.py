"""The coalition walkthrough in docs/api.md runs as written, in order."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.crypto import Keyring
from orgs.pages.repository import page_by_name
from tests import factories as f
from tests.coalition.helpers import sign
from tests.conftest import GraphQLClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"```graphql\n(.*?)```", re.DOTALL)


def walkthrough_blocks() -> list[tuple[str, str]]:
    text = DOC.read_text()
    section = text.split("## Coalition walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for block in BLOCK.findall(section):
        first = block.splitlines()[0]
        assert first.startswith("# as: "), first
        blocks.append((first.removeprefix("# as: ").strip(), block))
    return blocks


async def test_walkthrough_examples_run(
    session: AsyncSession, gql: GraphQLClient, keyring: Keyring
) -> None:
    # given the two orgs of the walkthrough with API tokens
    orgs = {name: await f.make_org(session, name) for name in ("green-league", "river-friends")}
    tokens = {name: (await f.make_token(session, org))[1] for name, org in orgs.items()}
    blocks = walkthrough_blocks()
    assert len(blocks) >= 9
    results = []
    for org, document in blocks:
        if "contacts(" in document:
            page = await page_by_name(session, "river-friends/sign-now")
            assert page is not None
            await sign(session, keyring, page, orgs["river-friends"], email="ana@example.net")
        # when
        body = await gql(document, token=tokens[org])
        # then
        assert "errors" not in body, (document, body)
        results.append(body["data"])
        for value in body["data"].values():
            if isinstance(value, dict) and "__typename" in value:
                assert value["__typename"].endswith("Success"), (document, value)
    contacts = next(r["contacts"] for r in results if "contacts" in r)
    assert [n["email"] for n in contacts["nodes"]] == ["ana@example.net"]
    stats = next(r["campaignStats"] for r in results if "campaignStats" in r)
    assert stats["supporters"] == 1
