"""The attacker walk over Proca's dialect (``/api``, schema/proca.py): every operation of that
schema, aimed at the victims, as every attacker subject, with the checks of the walk over
``/graphql`` (tests/isolation/test_attacker.py): no foreign marker or reference in any
answer, no 5xx or masked bug, no change to another org's rows or the victims'."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputType
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orgs.crypto import Keyring
from schema.proca import proca_schema
from tests.isolation import attacker_world as aw
from tests.isolation import test_attacker as walk
from tests.isolation.attacker_world import (
    REMOVED,
    SUBJECTS,
    Attacker,
    World,
    build_world,
    snapshot,
)
from tests.isolation.walker import Candidates, Document, Walker

PROCA_CODES = frozenset({"not_found", "bad_arg", "unauthorized", "permission_denied"})


class ProcaAim(walk.VictimAim):
    """The victims' pages, names and refs in the slots of Proca's operations."""

    def __init__(self, world: World, attacker: Attacker) -> None:
        super().__init__(world, attacker)
        w = world
        # the victims' pages, and the attacker's own (or A's page in C2)
        own = [attacker.page.name] if attacker.page is not None else []
        self.exact.update(
            {
                ("Mutation.updateActionPage", "id"): [*self.pages, None],
                ("Mutation.updateActionPage", "name"): [w.page_a.name, *own, None],
                ("ActionPageInput", "name"): [None],  # renaming: tests/proca
                ("ActionPageInput", "locale"): ["fr", None],
                ("ActionPageInput", "config"): [{"journey": [f"{self.atk}journey"]}, None],
                ("ActionPageInput", "extraSupporters"): [None, 0],
                ("ActionPageInput", "thankYouTemplate"): [None],
                ("ActionPageInput", "supporterConfirmTemplate"): [None],
                ("ActionPageInput", "duplicateTemplate"): [None],
                ("ActionPageInput", "delivery"): [None],
            }
        )

    def values(self, coordinate: str, name: str, type_: GraphQLInputType) -> Candidates | None:
        if coordinate.endswith(".actions") and name == "actionType":
            return ["signature"]  # a campaign's recent actions
        if coordinate.endswith(".supporterCountByOthers"):
            return [self.w.a.name]
        return super().values(coordinate, name, type_)


async def post(http: httpx.AsyncClient, doc: Document, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/api", json={"query": doc.query, "variables": doc.variables}, headers=headers
    )


async def run_walk(
    world: World, attacker: Attacker, app: Any, connection: AsyncConnection
) -> tuple[list[str], int]:
    documents = Walker(proca_schema._schema, ProcaAim(world, attacker)).all_documents(
        lambda op: False
    )
    pages = await walk.page_orgs(connection)
    problems: list[str] = []
    answered: set[str] = set()
    gen = walk.attacker_client(app)
    http = await gen.__anext__()
    quiet = logging.getLogger("strawberry.execution")
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        for doc in documents:
            savepoint = await connection.begin_nested()
            before = await snapshot(connection)
            response = await post(http, doc, attacker.token)
            after = await snapshot(connection)
            await savepoint.rollback()
            problems += walk.check_response(world, attacker, doc, response)
            if walk.succeeded(doc, response):
                answered.add(doc.operation)
            problems += walk.check_changes(world, attacker, doc, aw.changes(before, after), pages)
    finally:
        quiet.disabled = was_disabled
        await gen.aclose()
    public = {"Query.actionPage", "Mutation.addActionContact", "Mutation.addAction"}
    if attacker.page is not None and attacker.token is not None and attacker.name != REMOVED:
        public.add("Mutation.updateActionPage")  # its own page: the rules were exercised
    problems += [f"{op}: no document of the walk succeeded" for op in sorted(public - answered)]
    return problems, len(documents)


class TestProcaWalk:
    def test_every_operation_of_the_dialect_is_walked(self) -> None:
        walker = Walker(proca_schema._schema, walk.Aim())
        assert {f"{k}.{n}" for k, n, _ in walker.root_fields()} == {
            "Query.actionPage",
            "Mutation.updateActionPage",
            "Mutation.addActionContact",
            "Mutation.addAction",
            "Mutation.linkActions",
        }

    @pytest.mark.parametrize("subject", SUBJECTS)
    async def test_every_operation_as_attacker(
        self,
        subject: str,
        session: AsyncSession,
        connection: AsyncConnection,
        app: Any,
        keyring: Keyring,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given: Proca's error codes are expected answers too
        monkeypatch.setattr(walk, "EXPECTED_CODES", walk.EXPECTED_CODES | PROCA_CODES)
        world = await build_world(session, keyring)
        await session.flush()
        # when
        problems, count = await run_walk(world, world.attackers[subject], app, connection)
        # then
        print(f"{subject}: {count} documents through /api")
        assert not problems, "\n".join(problems)
