from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import StaffRole
from tests.conftest import GraphQLClient
from tests.factories import make_org, make_staffer, make_user

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _auth_examples() -> list[str]:
    text = API_DOC.read_text()
    section = text.split("## Authentication", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, re.DOTALL)


class TestAuthenticationSection:
    async def test_examples_run_in_order(self, session: AsyncSession, gql: GraphQLClient) -> None:
        # given an owner of an org
        org = await make_org(session)
        user = await make_user(session, password="a long passphrase")
        await make_staffer(session, org, user, StaffRole.OWNER)
        examples = _auth_examples()
        assert len(examples) == 5
        state: dict[str, Any] = {"email": user.email, "password": "a long passphrase"}
        # when each example runs with the values the previous ones returned
        results = []
        for example in examples:
            names = set(re.findall(r"\$(\w+):", example))
            variables = {name: state[name] for name in names if name != "org"}
            if "org" in names:
                variables["org"] = org.name
            result = await gql(example, variables, token=state.get("accessToken"))
            assert "errors" not in result, result
            results.append(result["data"])
            for payload in result["data"].values():
                if isinstance(payload, dict) and "tokens" in payload:
                    state.update(payload["tokens"])
        # then every example succeeded
        assert "tokens" in results[0]["login"]
        assert "tokens" in results[1]["refreshToken"]
        assert results[2]["createApiToken"]["plaintext"].startswith("chub_at_")
        assert results[3]["staff"] == [{"userId": user.id, "email": user.email, "role": "OWNER"}]
        assert results[4] == {"logout": {"ok": True}}
