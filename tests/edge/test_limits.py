"""GraphQL documents are measured in one linear pass and refused cleanly when too costly."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import ValidationRule, get_introspection_query, parse, specified_rules, validate

import schema.limits as limits
from hub.settings import Settings
from schema.limits import BUDGET, CostLimitRule, measure_document
from schema.schema import schema
from tests.edge.bombs import BOMBS, fragment_fan_out
from tests.edge.conftest import ClientWith, codes_of, errors_of
from tests.foundation.test_log_privacy import real_logging

SCHEMA = schema._schema
# a stall, not a speed target: before the cost rule the fan-out bomb pinned a core for minutes
STALL_SECONDS = 5.0

# what each bomb is stopped by (None: a GraphQL error of graphql-core's own, or no error)
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "fragment-fan-out-40": ("QUERY_TOO_COMPLEX", "spreads"),
    "aliases-1000": ("QUERY_TOO_COMPLEX", "aliases"),
    "nesting-60": ("QUERY_TOO_COMPLEX", "depth"),
    "nesting-1000": (None, None),  # the parser's nesting limit: a syntax error
    "cyclic-fragments-2": (None, None),  # NoFragmentCyclesRule
    "cyclic-fragments-40": ("QUERY_TOO_COMPLEX", "spreads"),
    "string-literal-15k": (None, None),  # valid: no such page
    "string-literal-60k": ("QUERY_TOO_LARGE", "bytes"),
    "directives-500": ("QUERY_TOO_COMPLEX", "directives"),
    "operations-500": ("QUERY_TOO_COMPLEX", "fields"),
}


def _cost(document: str) -> limits.Cost:
    return measure_document(SCHEMA, parse(document, max_tokens=None))


def _count_walks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record each definition the cost measure walks."""
    walked: list[Any] = []
    measure = limits._measure

    def counting(*args: Any) -> Any:
        walked.append(args[1])
        return measure(*args)

    monkeypatch.setattr(limits, "_measure", counting)
    return walked


class _Witness(ValidationRule):
    """A rule that counts the fields it is shown."""

    entered = 0

    def enter_field(self, *_args: Any) -> None:
        type(self).entered += 1


class TestMeasure:
    def test_a_fragment_bomb_is_measured_as_executed(self) -> None:
        # given 40 levels, each spreading the next twice
        cost = _cost(fragment_fan_out(40))
        # then: L40 has 2 fields, L(i) = 2 * L(i+1) + 1, plus actionPage itself
        assert cost.fields == 3 * 2**40
        assert cost.spreads == 2**41 - 1
        assert cost.depth == 2
        assert cost.exceeded(BUDGET) == "spreads"

    def test_each_definition_is_walked_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        walked = _count_walks(monkeypatch)
        _cost(fragment_fan_out(40))
        assert len(walked) == 42  # 41 fragments and the operation
        assert len({id(node) for node in walked}) == 42

    def test_work_grows_with_the_text_not_the_expansion(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        walked = _count_walks(monkeypatch)
        cost = _cost(fragment_fan_out(1000))
        assert len(walked) == 1002  # 1001 fragments and the operation, each once
        assert cost.spreads == limits._SATURATED  # saturates instead of growing big integers

    @pytest.mark.parametrize(
        "document",
        [
            "query { actionPage(id: 1) { ...A } } fragment A on ActionPage { id ...A }",
            BOMBS["cyclic-fragments-2"],
            BOMBS["cyclic-fragments-40"],
        ],
        ids=["self", "pair", "dense"],
    )
    def test_cycles_end_even_without_no_fragment_cycles_rule(
        self, document: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        walked = _count_walks(monkeypatch)
        # when only the cost rule runs (nothing else has reported the cycle)
        errors = validate(SCHEMA, parse(document), [CostLimitRule])
        # then it returns having walked each definition once: a spread closing a cycle adds nothing
        assert len(walked) == len({id(node) for node in walked}) == len(parse(document).definitions)
        codes = [(e.extensions or {}).get("code") for e in errors]
        assert codes in ([], ["QUERY_TOO_COMPLEX"])

    def test_a_long_fragment_chain_needs_no_recursion(self) -> None:
        chain = " ".join(
            f"fragment F{i} on ActionPage {{ a {{ ...F{i + 1} }} }}" for i in range(3000)
        )
        document = f"query {{ actionPage(id: 1) {{ ...F0 }} }} {chain} fragment F3000 on X {{ id }}"
        assert _cost(document).depth == 3002

    def test_lists_weigh_their_selections(self) -> None:
        # _entities and campaigns/actionPages are lists: 10 times, then 100 times
        one = (
            "_entities(representations: []) { ... on Org { "
            "campaigns { id name title goal status } "
            "actionPages { id name locale status config campaignId } } }"
        )
        assert _cost("{ " + one + " }").complexity == 1 + 10 * (2 + 10 * 11)
        twice = _cost("{ a: " + one + " b: " + one + " }")
        assert twice.complexity == 2 * 1121
        assert twice.fields == 28
        assert twice.exceeded(BUDGET) == "complexity"

    def test_unused_fragments_and_every_operation_count(self) -> None:
        unused = " ".join(f"f{i}: __typename" for i in range(150))
        document = (
            f"query A {{ __typename }} query B {{ __typename }} "
            f"fragment U on Query {{ {unused} }} fragment V on Query {{ {unused} }}"
        )
        cost = _cost(document)
        assert cost.fields == 302
        assert cost.aliases == 300

    def test_the_standard_introspection_query_fits(self) -> None:
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
        )
        cost = _cost(query)
        assert cost.exceeded(BUDGET) is None
        assert cost.fields == 0  # everything below __schema has its own budget
        assert cost.introspection_fields > 200

    def test_a_recursive_introspection_query_is_refused(self) -> None:
        nested = "fields { type { " * 5 + "name" + " } }" * 5
        cost = _cost("{ __schema { types { " + nested + " } } }")
        assert cost.exceeded(BUDGET) == "introspection_complexity"

    def test_over_budget_stops_validation_at_the_document(self) -> None:
        # 5,000 same-named fields would keep OverlappingFieldsCanBeMerged busy for seconds
        document = parse("{ " + "__typename " * 5000 + "}", max_tokens=None)
        errors = validate(SCHEMA, document, (CostLimitRule, *specified_rules, _Witness))
        assert _Witness.entered == 0  # no rule after the cost rule walked the document
        assert [(e.extensions or {}).get("code") for e in errors] == ["QUERY_TOO_COMPLEX"]


async def _post(client: httpx.AsyncClient, query: str, method: str = "POST") -> httpx.Response:
    if method == "GET":
        return await client.get("/graphql", params={"query": query})
    return await client.post("/graphql", json={"query": query})


class TestBombs:
    @pytest.mark.parametrize("method", ["POST", "GET"])
    @pytest.mark.parametrize("name", list(BOMBS))
    async def test_answered_quickly_and_cleanly(
        self, client: httpx.AsyncClient, name: str, method: str
    ) -> None:
        # when
        started = time.perf_counter()
        response = await _post(client, BOMBS[name], method)
        elapsed = time.perf_counter() - started
        # then
        assert elapsed < STALL_SECONDS, f"{name}: {elapsed:.2f}s"
        assert response.status_code == 200, response.text[:300]
        errors = errors_of(response)
        assert all(e["message"] != "Unexpected error." for e in errors)
        code, limit = EXPECTED[name]
        if code is not None:
            assert codes_of(response) == [code]
            assert errors[0]["extensions"]["limit"] == limit
            assert response.json()["data"] is None
        elif name == "string-literal-15k":
            assert response.json() == {"data": {"actionPage": None}}
        else:
            assert errors  # graphql-core's own validation or syntax error

    async def test_messages_repeat_nothing_from_the_document(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await _post(client, BOMBS["aliases-1000"])
        assert errors_of(response)[0]["message"] == "The query uses more than 30 aliases."
        assert "secret" not in response.text

    async def test_the_verdict_is_computed_once_per_document(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[int] = []
        measure = limits.measure_document

        def counting(*args: Any) -> Any:
            calls.append(1)
            return measure(*args)

        monkeypatch.setattr(limits, "measure_document", counting)
        document = f"{{ u{uuid.uuid4().hex}: __typename }}"
        first = await _post(client, document)
        second = await _post(client, document, "GET")
        assert first.json() == second.json()
        assert len(calls) == 1


class TestDocumentSize:
    async def test_whitespace_counts(self, client: httpx.AsyncClient) -> None:
        response = await _post(client, "{ __typename }" + " " * 17_000)
        assert codes_of(response) == ["QUERY_TOO_LARGE"]
        assert errors_of(response)[0]["extensions"]["limit"] == "bytes"

    async def test_checked_before_parsing(self, client: httpx.AsyncClient) -> None:
        # a document that is not even GraphQL still gets the size error, not a syntax error
        response = await _post(client, "{" * 17_000)
        assert codes_of(response) == ["QUERY_TOO_LARGE"]

    async def test_bytes_not_characters(self, client: httpx.AsyncClient) -> None:
        document = "{ __typename } # " + "é" * 8_200  # 8,217 characters, 16,417 bytes
        response = await _post(client, document)
        assert codes_of(response) == ["QUERY_TOO_LARGE"]

    async def test_the_token_limit(self, client: httpx.AsyncClient) -> None:
        response = await _post(client, "{" + " a" * 4_001 + " }")
        assert codes_of(response) == ["QUERY_TOO_LARGE"]
        assert errors_of(response)[0]["extensions"] == {
            "code": "QUERY_TOO_LARGE",
            "limit": "tokens",
            "maximum": 4000,
        }

    async def test_limits_follow_the_settings(
        self, client: httpx.AsyncClient, client_with: ClientWith
    ) -> None:
        document = "{ __typename }" + " " * 3_000
        assert (await _post(client, document)).json() == {"data": {"__typename": "Query"}}
        async with client_with(graphql_max_document_bytes=2048) as strict:
            response = await _post(strict, document)
        assert codes_of(response) == ["QUERY_TOO_LARGE"]
        assert "2048 bytes" in errors_of(response)[0]["message"]


class TestLogs:
    async def test_refused_documents_leave_no_content_in_the_log(
        self, client: httpx.AsyncClient
    ) -> None:
        with real_logging("DEBUG") as logs:
            for document in (
                'mutation { addActionContact(contact: {email: "jane@example.org"}) { nope } }',
                '{ "jane@example.org" }',
                BOMBS["aliases-1000"],
            ):
                response = await _post(client, document)
                assert response.status_code == 200
            text = logs.text
        assert "jane@example.org" not in text
        assert "secret" not in text
        assert "QUERY_TOO_COMPLEX" in text


class TestDocumentCache:
    def test_bounded_by_tokens_and_large_documents_are_not_kept(self) -> None:
        cache = limits.DocumentCache(max_tokens=100, max_document_tokens=40, max_entries=10)
        small = [parse("{ " + f"a{i} " * 30 + "}") for i in range(4)]  # 32 tokens each
        for i, document in enumerate(small):
            cache.put((f"q{i}", 1), document)
        assert cache.tokens <= 100
        assert len(cache) == 3
        assert cache.get(("q0", 1)) is None  # the oldest went first
        large = parse("{ " + "a " * 50 + "}")
        assert cache.put(("large", 1), large).document is large  # answered, not kept
        assert cache.get(("large", 1)) is None
        assert len(cache) == 3

    async def test_a_flood_of_large_documents_is_not_retained(
        self, client: httpx.AsyncClient
    ) -> None:
        before = limits.DOCUMENTS.tokens
        for i in range(5):
            await _post(client, f"query V{i} {{ __typename }} " + BOMBS["aliases-1000"])
        assert limits.DOCUMENTS.tokens == before  # each some 3,000 tokens: never kept


def test_docs_list_every_limit_with_its_default() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    for name in limits._MESSAGES:
        assert f"| `{name}` | {getattr(BUDGET, name):,} |" in text, name
    for setting in (
        "HUB_GRAPHQL_MAX_BODY_BYTES",
        "HUB_FORM_MAX_BODY_BYTES",
        "HUB_MAX_BODY_BYTES",
        "HUB_GRAPHQL_MAX_DOCUMENT_BYTES",
        "HUB_GRAPHQL_MAX_TOKENS",
    ):
        assert f"`{setting}`" in text, setting


def test_fallbacks_match_the_settings() -> None:
    fields = Settings.model_fields
    assert fields["graphql_max_document_bytes"].default == limits.DEFAULT_MAX_DOCUMENT_BYTES
    assert fields["graphql_max_tokens"].default == limits.DEFAULT_MAX_TOKENS
