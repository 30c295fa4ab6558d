"""Introspection and GraphiQL: off for anonymous callers in production, on when it is safe."""

from __future__ import annotations

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncSession

from hub.settings import Settings
from orgs.identity.access import issue_access_token
from resolvers.context import jwt_keys_for
from tests.edge.conftest import ClientWith, codes_of
from tests.factories import make_org, make_token, make_user

SCHEMA_QUERY = "{ __schema { queryType { name } } }"
INTROSPECTION = {
    "schema": SCHEMA_QUERY,
    "type": '{ __type(name: "Query") { name } }',
    "aliased": "{ s: __schema { queryType { name } } }",
    "in-a-fragment": "query { ...F } fragment F on Query { __schema { queryType { name } } }",
    "in-an-inline-fragment": '{ ... on Query { __type(name: "Org") { name } } }',
    "standard": get_introspection_query(descriptions=True),
}


async def _post(client: httpx.AsyncClient, query: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


class TestAnonymous:
    @pytest.mark.parametrize("name", list(INTROSPECTION))
    async def test_introspection_is_refused(self, client: httpx.AsyncClient, name: str) -> None:
        response = await _post(client, INTROSPECTION[name])
        assert response.status_code == 200
        assert response.json()["data"] is None
        assert codes_of(response) == ["INTROSPECTION_DISABLED"]

    async def test_refused_over_get_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/graphql", params={"query": SCHEMA_QUERY})
        assert codes_of(response) == ["INTROSPECTION_DISABLED"]

    async def test_typename_and_the_federation_sdl_still_work(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await _post(client, "{ __typename _service { sdl } }")
        body = response.json()
        assert "errors" not in body
        assert body["data"]["__typename"] == "Query"
        assert "type Query" in body["data"]["_service"]["sdl"]

    async def test_a_name_that_only_looks_like_introspection_is_fine(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await _post(client, '# __schema\n{ actionPage(name: "__type") { id } }')
        assert response.json() == {"data": {"actionPage": None}}

    async def test_an_invalid_token_does_not_count(self, client: httpx.AsyncClient) -> None:
        response = await _post(client, SCHEMA_QUERY, token="chub_at_not-a-real-token")
        assert "INTROSPECTION_DISABLED" in codes_of(response)

    async def test_no_graphiql(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/graphql", headers={"accept": "text/html"})
        assert response.status_code == 404
        assert codes_of(response) == ["NOT_FOUND"]


class TestAllowed:
    async def test_an_org_api_token_may_introspect(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        _, token = await make_token(session, await make_org(session))
        await session.flush()
        response = await _post(client, INTROSPECTION["standard"], token=token)
        body = response.json()
        assert "errors" not in body, body.get("errors")
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"

    async def test_a_user_jwt_may_introspect(
        self, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
    ) -> None:
        user = await make_user(session)
        await session.flush()
        assert user.id is not None
        token = issue_access_token(jwt_keys_for(settings), user.id).token
        response = await _post(client, SCHEMA_QUERY, token=token)
        assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}

    @pytest.mark.parametrize(
        "changes", [{"debug": True}, {"database_url": None}], ids=["debug", "embedded"]
    )
    async def test_anonymous_on_a_debug_or_embedded_instance(
        self, client_with: ClientWith, changes: dict[str, object]
    ) -> None:
        async with client_with(**changes) as http:
            response = await _post(http, INTROSPECTION["standard"])
            graphiql = await http.get("/graphql", headers={"accept": "text/html"})
        assert "errors" not in response.json()
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
