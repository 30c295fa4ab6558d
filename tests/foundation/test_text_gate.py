"""The GraphQL text gate (schema/extensions.py TextGate): every input string, in one place."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, parse
from graphql.utilities import get_operation_ast
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.models import ActionPage, ApiToken, AuditEvent, Campaign, Connector, User
from schema.extensions import (
    MULTI_LINE_FIELDS,
    SELF_CHECKED_FIELDS,
    VERBATIM_FIELDS,
    _Walk,
)
from schema.schema import schema
from tests import factories as f

NUL, SURROGATE = "\x00", "\ud800"

ADD_CAMPAIGN = """
mutation($input: AddCampaignInput!) {
  addCampaign(input: $input) {
    __typename
    ... on AddCampaignSuccess { campaign { name title } }
    ... on AddCampaignErrors { errors { field code message } }
  }
}
"""

ADD_PAGE = """
mutation($input: AddActionPageInput!) {
  addActionPage(input: $input) { __typename }
}
"""

UPDATE_CAMPAIGN = """
mutation($input: UpdateCampaignInput!) {
  updateCampaign(input: $input) {
    __typename
    ... on UpdateCampaignSuccess { campaign { title } }
  }
}
"""

CREATE_TOKEN = """
mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { __typename } }
"""

ADD_CONNECTOR = """
mutation($input: AddConnectorInput!) { addConnector(input: $input) { __typename } }
"""


async def post(
    client: httpx.AsyncClient,
    session: AsyncSession,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """POST JSON as a browser does (``json.dumps`` escapes a lone surrogate as ``\\ud800``)."""
    await session.flush()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables or {}}),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(session: AsyncSession, model: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def refused(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, code) of each error, after checking that nothing ran."""
    assert body["data"] is None, body
    return [(tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]]


class TestManagementMutations:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", f"save{NUL}bees"),
            ("title", f"Bees{NUL}"),
            ("title", SURROGATE),
            ("title", "Bees\x1b[2J"),
            ("title", "two\nlines"),
            ("org", f"lead{NUL}"),
        ],
    )
    async def test_add_campaign_refuses_and_changes_nothing(
        self, field: str, value: str, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        campaigns, audits = await count(session, Campaign), await count(session, AuditEvent)
        payload = {"org": lead.name, "name": "save-bees", "title": "Bees", field: value}
        # when
        body = await post(client, session, ADD_CAMPAIGN, {"input": payload}, token)
        # then
        assert refused(body) == [(("addCampaign", "input", field), "INVALID_TEXT")]
        [error] = body["errors"]
        assert error["message"].startswith("contains ")  # exposed, not "Unexpected error"
        assert value not in error["message"]
        assert await count(session, Campaign) == campaigns
        assert await count(session, AuditEvent) == audits

    async def test_a_string_literal_in_the_document_is_refused_too(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given: the escape \u0000 in the GraphQL document itself
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        campaigns = await count(session, Campaign)
        query = (
            'mutation($org: String!) { addCampaign(input: {org: $org, name: "bees", '
            'title: "B\\u0000"}) { __typename } }'
        )
        # when
        body = await post(client, session, query, {"org": lead.name}, token)
        # then
        assert refused(body) == [(("addCampaign", "input", "title"), "INVALID_TEXT")]
        assert body["errors"][0]["locations"]
        assert await count(session, Campaign) == campaigns

    async def test_every_offending_value_is_reported(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        payload = {"org": lead.name, "name": f"a{NUL}", "title": SURROGATE}
        # when
        body = await post(client, session, ADD_CAMPAIGN, {"input": payload}, token)
        # then
        assert refused(body) == [
            (("addCampaign", "input", "name"), "INVALID_TEXT"),
            (("addCampaign", "input", "title"), "INVALID_TEXT"),
        ]

    async def test_update_campaign_title_with_nul_changes_nothing(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead, title="Bees")
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        # when
        body = await post(
            client,
            session,
            UPDATE_CAMPAIGN,
            {"input": {"campaign": campaign.name, "title": f"Wasps{NUL}"}},
            token,
        )
        # then
        assert refused(body) == [(("updateCampaign", "input", "title"), "INVALID_TEXT")]
        await session.refresh(campaign)
        assert campaign.title == "Bees"

    async def test_add_action_page_name_with_nul_creates_nothing(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        lead = await f.make_org(session)
        campaign = await f.make_campaign(session, lead)
        _, token = await f.make_token(session, lead)
        pages = await count(session, ActionPage)
        payload = {"campaign": campaign.name, "org": lead.name, "name": f"{lead.name}/p{NUL}"}
        # when
        body = await post(client, session, ADD_PAGE, {"input": payload}, token)
        # then
        assert refused(body) == [(("addActionPage", "input", "name"), "INVALID_TEXT")]
        assert await count(session, ActionPage) == pages

    async def test_token_names_and_scopes_are_checked(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org)
        tokens = await count(session, ApiToken)
        payload = {"org": org.name, "name": f"ci{NUL}", "scopes": ["stats:read", SURROGATE]}
        # when
        body = await post(client, session, CREATE_TOKEN, {"input": payload}, token)
        # then
        assert refused(body) == [
            (("createApiToken", "input", "name"), "INVALID_TEXT"),
            (("createApiToken", "input", "scopes", 1), "INVALID_TEXT"),
        ]
        assert await count(session, ApiToken) == tokens

    async def test_connector_config_json_is_walked_keys_and_values(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org, ["connectors:write"])
        connectors = await count(session, Connector)
        payload = {
            "org": org.name,
            "kind": "webhook",
            "name": "crm",
            "config": {"url": f"https://crm.example.org/{NUL}", "headers": {f"X{NUL}": "1"}},
            "secrets": {"secrets": [SURROGATE]},
        }
        # when
        body = await post(client, session, ADD_CONNECTOR, {"input": payload}, token)
        # then
        assert refused(body) == [
            (("addConnector", "input", "config", "url"), "INVALID_TEXT"),
            (("addConnector", "input", "config", "headers"), "INVALID_TEXT"),
            (("addConnector", "input", "secrets", "secrets", 0), "INVALID_TEXT"),
        ]
        assert await count(session, Connector) == connectors

    async def test_staff_emails_and_sso_settings_are_checked(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org)
        users = await count(session, User)
        invite = {"org": org.name, "email": f"new{NUL}@example.org", "role": "VIEWER"}
        sso = {
            "org": org.name,
            "issuer": "https://idp.example.org",
            "clientId": f"hub{NUL}",
            "clientSecret": "s",
            "allowedDomains": ["example.org", SURROGATE],
            "returnUrls": [],
        }
        # when
        invited = await post(
            client,
            session,
            "mutation($i: InviteStaffInput!) { inviteStaff(input: $i) { __typename } }",
            {"i": invite},
            token,
        )
        configured = await post(
            client,
            session,
            "mutation($i: ConfigureSsoInput!) { configureSso(input: $i) { __typename } }",
            {"i": sso},
            token,
        )
        # then: refused before the identity provider is ever asked
        assert refused(invited) == [(("inviteStaff", "input", "email"), "INVALID_TEXT")]
        assert refused(configured) == [
            (("configureSso", "input", "clientId"), "INVALID_TEXT"),
            (("configureSso", "input", "allowedDomains", 1), "INVALID_TEXT"),
        ]
        assert await count(session, User) == users


class TestQueries:
    async def test_a_lookup_by_name_with_nul_is_a_clean_error(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given
        org = await f.make_org(session)
        _, token = await f.make_token(session, org)
        # when
        body = await post(
            client, session, "query($n: String!) { org(name: $n) { name } }", {"n": NUL}, token
        )
        # then
        assert refused(body) == [(("org", "name"), "INVALID_TEXT")]

    async def test_a_public_read_is_gated_without_credentials(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # when
        body = await post(
            client, session, "query($n: String) { actionPage(name: $n) { id } }", {"n": SURROGATE}
        )
        # then
        assert refused(body) == [(("actionPage", "name"), "INVALID_TEXT")]


class TestNormalisation:
    async def test_accepted_text_reaches_the_service_in_nfc(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given: a decomposed title in a variable and in a document literal
        lead = await f.make_org(session)
        _, token = await f.make_token(session, lead, ["campaigns:write"])
        literal = (
            'mutation($org: String!) { addCampaign(input: {org: $org, name: "cafe-2", '
            'title: "Cafe\\u0301 2"}) { __typename } }'
        )
        # when
        first = await post(
            client,
            session,
            ADD_CAMPAIGN,
            {"input": {"org": lead.name, "name": "cafe", "title": "Cafe\u0301"}},
            token,
        )
        second = await post(client, session, literal, {"org": lead.name}, token)
        # then
        assert first["data"]["addCampaign"]["campaign"]["title"] == "Caf\u00e9"
        assert second["data"]["addCampaign"]["__typename"] == "AddCampaignSuccess"
        titles = set(
            (await session.execute(select(Campaign.title).where(Campaign.org_id == lead.id)))
            .scalars()
            .all()
        )
        assert titles == {"Caf\u00e9", "Caf\u00e9 2"}


def walk(query: str, variables: dict[str, Any] | None = None) -> _Walk:
    """Run the gate's walk alone (nothing executes): its errors and normalised values."""
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    gate = _Walk(schema._schema, document, variables or {})
    gate.operation(operation)
    return gate


def paths(gate: _Walk) -> list[list[str | int]]:
    return [list(error.path or ()) for error in gate.errors]


class TestRules:
    def test_free_text_messages_keep_line_breaks_one_line_fields_do_not(self) -> None:
        query = "mutation($i: RejectLaunchInput!) { rejectLaunch(input: $i) { __typename } }"
        ok = walk(query, {"i": {"page": "p", "message": "Please fix:\n\t- the title"}})
        bad = walk(query, {"i": {"page": "p\n", "message": f"x{NUL}"}})
        assert ok.errors == []
        assert paths(bad) == [
            ["rejectLaunch", "input", "page"],
            ["rejectLaunch", "input", "message"],
        ]

    def test_secrets_are_checked_but_never_rewritten(self) -> None:
        query = "mutation($i: LoginInput!) { login(input: $i) { __typename } }"
        gate = walk(query, {"i": {"email": "ade\u0301@example.org", "password": "pa\u0301ss"}})
        assert gate.errors == []
        assert gate.variables["i"] == {"email": "ad\u00e9@example.org", "password": "pa\u0301ss"}
        assert paths(walk(query, {"i": {"email": "a@b.c", "password": f"x{NUL}"}})) == [
            ["login", "input", "password"]
        ]

    def test_json_secrets_may_hold_a_multi_line_key(self) -> None:
        query = "mutation($i: AddConnectorInput!) { addConnector(input: $i) { __typename } }"
        pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
        variables = {
            "i": {"org": "o", "kind": "k", "name": "n", "config": {}, "secrets": {"key": pem}}
        }
        assert walk(query, variables).errors == []

    def test_fragments_inline_fragments_directives_and_defaults_are_walked(self) -> None:
        query = """
        query($n: String = "default\\u0000", $skip: Boolean = false) {
          ... on Query { org(name: "inline\\u0000") { name } }
          ...F
          ...F
          staff(org: $n) @skip(if: $skip) { email }
        }
        fragment F on Query { apiTokens(org: "fragment\\u0007") { prefix } }
        """
        assert paths(walk(query)) == [
            ["org", "name"],
            ["apiTokens", "org"],  # once, though spread twice
            ["staff", "org"],
        ]

    def test_strings_where_numbers_are_expected_are_checked(self) -> None:
        query = "query($id: Int) { actionPage(id: $id) { id } }"
        assert paths(walk(query, {"id": f"1{NUL}"})) == [["actionPage", "id"]]

    def test_unknown_input_fields_are_checked_so_errors_repeat_clean_text(self) -> None:
        query = "mutation($i: AddCampaignInput!) { addCampaign(input: $i) { __typename } }"
        gate = walk(query, {"i": {"org": "o", "name": "n", "title": "t", SURROGATE: 1}})
        assert paths(gate) == [["addCampaign", "input"]]

    def test_the_public_intake_is_left_to_its_own_validation(self) -> None:
        query = (
            "mutation($c: ContactInput!) { addActionContact(actionPageId: 1, "
            'action: {actionType: "x"}, contact: $c, privacy: {}) { contactRef } }'
        )
        assert walk(query, {"c": {"firstName": NUL}}).errors == []

    def test_the_listed_coordinates_exist_in_the_schema(self) -> None:
        graphql_schema = schema._schema
        for coordinate in VERBATIM_FIELDS | MULTI_LINE_FIELDS:
            type_name, field_name = coordinate.split(".")
            type_ = graphql_schema.get_type(type_name)
            assert isinstance(type_, GraphQLInputObjectType), coordinate
            assert field_name in type_.fields, coordinate
        mutation = graphql_schema.mutation_type
        assert mutation is not None
        for coordinate in SELF_CHECKED_FIELDS:
            assert coordinate.split(".")[1] in mutation.fields, coordinate
