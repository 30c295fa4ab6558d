"""The isolation matrix: every operation x every subject x consent states (DESIGN §5).

Asserts who succeeds, that every denial changed nothing, and that denials on another org's
objects look like "not found".
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.identity.service import authenticate_api_token, user_subject
from orgs.models import PageStatus, PartnershipStatus, StaffRole
from permissions.subject import ANONYMOUS, Subject
from resolvers.context import Context
from schema.schema import schema
from tests import factories as f
from tests.coalition.helpers import sign
from tests.isolation import registry
from tests.isolation.registry import (
    CONSENT_STATES,
    DEFAULT_STATE,
    OPERATIONS,
    OUTSIDER,
    PAGE_ORG_OWNER,
    ConsentState,
    World,
)

WATCHED_TABLES = (
    "org",
    "campaign",
    "partnership",
    "action_page",
    "supporter",
    "contact",
    "consent",
    "action",
    "audit_event",
    "api_token",
    "staffer",
    "delivery",
    "target",
    "target_email",
    "target_message",
    "mail_to_target",
)
TOP_LEVEL_DENIALS = frozenset({"UNAUTHENTICATED", "FORBIDDEN"})


def schema_operations() -> set[str]:
    graphql_schema = schema._schema
    names = set()
    for kind, root in (
        ("Query", graphql_schema.query_type),
        ("Mutation", graphql_schema.mutation_type),
    ):
        if root is not None:
            names |= {f"{kind}.{name}" for name in root.fields}
    return names


class TestRegistry:
    def test_every_schema_operation_is_registered(self) -> None:
        # when
        missing = schema_operations() - set(OPERATIONS)
        # then
        assert missing == set(), "register these in tests/isolation/registry.py"

    def test_registry_lists_no_stale_operation(self) -> None:
        # when
        stale = set(OPERATIONS) - schema_operations()
        # then
        assert stale == set()


async def fingerprint(connection: AsyncConnection) -> dict[str, str]:
    out = {}
    for table in WATCHED_TABLES:
        result = await connection.exec_driver_sql(
            f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' "
            f"ORDER BY t::text)), '') FROM {table} t"
        )
        out[table] = str(result.scalar_one())
    return out


async def build_world(
    session: AsyncSession, keyring: Keyring, state: ConsentState
) -> tuple[World, dict[str, Subject]]:
    names = ("m-lead", "m-page-org", "m-other", "m-outsider", "m-requested", "m-invited")
    lead, a, b, outsider, requested, invited = [await f.make_org(session, n) for n in names]
    campaign = await f.make_campaign(session, lead, "m-campaign")
    await f.make_partnership(session, campaign, a)
    await f.make_partnership(session, campaign, b)
    await f.make_partnership(session, campaign, requested, status=PartnershipStatus.REQUESTED)
    await f.make_partnership(session, campaign, invited, status=PartnershipStatus.INVITED)
    if state.lead_delivers:
        await session.execute(
            text("UPDATE partnership SET delivery = true WHERE org_id = :o"), {"o": lead.id}
        )
    live = await f.make_page(session, lead, campaign, "m-lead/live")
    draft = await f.make_page(session, lead, campaign, "m-lead/draft", status=PageStatus.DRAFT)
    pending = await f.make_page(
        session, a, campaign, "m-page-org/pending", status=PageStatus.LAUNCH_REQUESTED
    )
    a_live = await f.make_page(session, a, campaign, "m-page-org/live")
    signed = await sign(
        session,
        keyring,
        a_live,
        a,
        lead=lead,
        opt_in=state.page_org_opt_in,
        lead_opt_in=state.lead_opt_in,
        delivery=lead if state.lead_delivers else None,
        email="signer@example.net",
    )
    await f.make_audit_event(session, lead, "partner.invite", details={"org": b.name})
    target = await f.make_target(session, campaign, "m-target")
    held = await f.make_target_message(session, target, signed.supporter, a_live, keyring)
    subjects: dict[str, Subject] = {registry.ANONYMOUS: ANONYMOUS}
    for role in registry.STAFF_ROLES:
        user = await f.make_user(session)
        await f.make_staffer(session, lead, user, StaffRole(role))
        subjects[f"lead:{role}"] = await user_subject(session, user)
    for scope in registry.TOKEN_SCOPES:
        _, plaintext = await f.make_token(session, lead, [scope])
        token_subject = await authenticate_api_token(session, plaintext)
        assert token_subject is not None
        subjects[f"lead-token:{scope}"] = token_subject
    for name, org in (
        (PAGE_ORG_OWNER, a),
        (registry.OTHER_PARTNER, b),
        (OUTSIDER, outsider),
    ):
        user = await f.make_user(session)
        await f.make_staffer(session, org, user, StaffRole.OWNER)
        subjects[name] = await user_subject(session, user)
    await session.flush()
    world = World(
        campaign=campaign.name,
        lead=lead.name,
        page_org=a.name,
        other_partner=b.name,
        outsider=outsider.name,
        requested=requested.name,
        invited=invited.name,
        lead_live_page=live.name,
        lead_draft_page=draft.name,
        partner_requested_page=pending.name,
        target=target.external_id,
        held_message=held.id or 0,
    )
    return world, subjects


def outcome(name: str, body: Any) -> tuple[bool, set[str], Any]:
    """(succeeded, error codes, the field's data) of one call."""
    field = name.split(".", 1)[1]
    codes = {str((e.extensions or {}).get("code", "BUG")) for e in (body.errors or [])}
    data = (body.data or {}).get(field)
    if isinstance(data, dict) and "errors" in data:
        codes |= {e["code"] for e in data["errors"]}
        return False, codes, data
    if isinstance(data, dict) and "nodes" in data:
        return bool(data["nodes"]), codes, data
    if isinstance(data, list):  # lists of another org's objects answer empty
        return bool(data), codes, data
    return data is not None and not codes, codes, data


def check_contacts(subject: str, state: ConsentState, data: Any) -> list[str]:
    problems = []
    [node] = data["nodes"]
    if subject == PAGE_ORG_OWNER:
        if node["scope"] != "full" or node["email"] != "signer@example.net":
            problems.append(f"page org should see the full contact: {node}")
        if node["consents"] != [{"given": state.page_org_opt_in}]:
            problems.append(f"page org consents wrong: {node['consents']}")
    elif not state.lead_opt_in:
        if node["scope"] != "delivery" or node["email"] is not None:
            problems.append(f"delivery org should see delivery fields only: {node}")
    elif node["scope"] != "full":
        problems.append(f"lead with opt-in should see the full contact: {node}")
    return problems


@pytest.mark.parametrize("state", CONSENT_STATES, ids=[s.label for s in CONSENT_STATES])
async def test_isolation_matrix(
    state: ConsentState,
    session: AsyncSession,
    connection: AsyncConnection,
    uow: UnitOfWork,
    settings: Settings,
    keyring: Keyring,
) -> None:
    # given
    world, subjects = await build_world(session, keyring, state)
    operations = {
        name: op
        for name, op in OPERATIONS.items()
        if op.document is not None and (op.personal_data or state == DEFAULT_STATE)
    }
    failures: list[str] = []
    for name, op in sorted(operations.items()):
        assert op.document is not None
        for subject_name, subject in subjects.items():
            savepoint = await connection.begin_nested()
            before = await fingerprint(connection)
            ctx = Context(
                request=None,
                response=None,
                uow=uow,
                settings=settings,
                keyring=keyring,
                subject=subject,
            )
            # when
            body = await schema.execute(
                op.document, variable_values=op.variables(world), context_value=ctx
            )
            after = await fingerprint(connection)
            await savepoint.rollback()
            # then
            where = f"{name} as {subject_name} [{state.label}]"
            ok, codes, data = outcome(name, body)
            expected = op.allowed(subject_name, state)
            if (
                codes
                - TOP_LEVEL_DENIALS
                - {
                    "NOT_FOUND",
                    "PERMISSION_DENIED",
                    "INVALID",
                    "INVALID_STATE",
                    "ALREADY_EXISTS",
                    "SCOPE_NOT_ALLOWED",
                }
            ):
                failures.append(f"{where}: unexpected errors {body.errors}")
            if ok != expected:
                failures.append(f"{where}: expected {'success' if expected else 'denial'}, {codes}")
            if not ok and before != after:
                changed = [t for t in WATCHED_TABLES if before[t] != after[t]]
                failures.append(f"{where}: denied but changed {changed}")
            if (
                subject_name == registry.ANONYMOUS
                and not expected
                and "UNAUTHENTICATED" not in codes
            ) and data is not None:
                failures.append(f"{where}: anonymous got data {data}")
            if subject_name == OUTSIDER and not ok and "PERMISSION_DENIED" in codes:
                failures.append(f"{where}: an outsider must see 'not found', got {codes}")
            if ok and name == "Query.contacts":
                failures.extend(f"{where}: {p}" for p in check_contacts(subject_name, state, data))
    assert failures == []
