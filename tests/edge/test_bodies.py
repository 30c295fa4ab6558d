"""Request bodies: one size limit on every route, and odd bodies answered with a JSON 4xx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.fast_intake import widget_documents
from tests.edge.conftest import ClientWith, codes_of, errors_of

JSON = {"content-type": "application/json"}
TYPENAME = {"data": {"__typename": "Query"}}


def _padded(size: int) -> bytes:
    """A valid GraphQL request of exactly ``size`` bytes (JSON whitespace as padding)."""
    body = b'{"query": "{ __typename }"}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def _chunks(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text[:200]
    assert codes_of(response) == ["PAYLOAD_TOO_LARGE"]
    assert errors_of(response)[0]["message"] == f"The request body is larger than {limit} bytes."


class TestBodyLimit:
    async def test_graphql_takes_64_kb(self, client: httpx.AsyncClient) -> None:
        at_limit = await client.post("/graphql", content=_padded(65_536), headers=JSON)
        over = await client.post("/graphql", content=_padded(65_537), headers=JSON)
        assert at_limit.json() == TYPENAME
        _assert_too_large(over, 65_536)

    async def test_a_body_without_length_is_counted_as_it_comes(
        self, client: httpx.AsyncClient
    ) -> None:
        # chunked transfer: no Content-Length to refuse up front
        response = await client.post("/graphql", content=_chunks(_padded(70_000)), headers=JSON)
        _assert_too_large(response, 65_536)
        fine = await client.post("/graphql", content=_chunks(_padded(60_000)), headers=JSON)
        assert fine.json() == TYPENAME

    async def test_the_widget_fast_path_is_bounded_too(self, client: httpx.AsyncClient) -> None:
        # the widget's own document, with a comment too long for any petition
        variables = {
            "p": 1,
            "a": {"actionType": "signature", "customFields": {"comment": "x" * 70_000}},
            "c": {"email": "a@example.org"},
            "v": {"optIn": True},
        }
        body = {"query": widget_documents()["M_SIGN"], "variables": variables}
        response = await client.post("/graphql", json=body)
        _assert_too_large(response, 65_536)

    async def test_the_no_js_form_takes_16_kb(self, client: httpx.AsyncClient) -> None:
        form = {"content-type": "application/x-www-form-urlencoded"}
        response = await client.post("/act/1", content=b"comment=" + b"x" * 16_400, headers=form)
        _assert_too_large(response, 16_384)

    @pytest.mark.parametrize(
        ("method", "path"),
        [("POST", "/confirm/some-token"), ("GET", "/healthz"), ("GET", "/widget.js")],
    )
    async def test_every_other_route_takes_4_kb(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, content=b"x" * 4_097)
        _assert_too_large(response, 4_096)

    async def test_a_browser_can_read_the_413(self, client: httpx.AsyncClient) -> None:
        headers = {**JSON, "origin": "https://partner.example"}
        response = await client.post("/graphql", content=_padded(70_000), headers=headers)
        assert response.status_code == 413
        assert response.headers["access-control-allow-origin"] == "*"

    async def test_limits_follow_the_settings(self, client_with: ClientWith) -> None:
        async with client_with(graphql_max_body_bytes=2048, max_body_bytes=0) as http:
            graphql = await http.post("/graphql", content=_padded(3_000), headers=JSON)
            healthz = await http.request("GET", "/healthz", content=b"x")
            plain = await http.get("/healthz")
        _assert_too_large(graphql, 2048)
        _assert_too_large(healthz, 0)
        assert plain.json() == {"status": "ok"}


# (body, content type, status, message start)
ODD_POSTS: dict[str, tuple[bytes, str | None, int, str]] = {
    "json-string": (b'"hello"', "application/json", 400, "The request must be a JSON object"),
    "json-number": (b"42", "application/json", 400, "The request must be a JSON object"),
    "json-null": (b"null", "application/json", 400, "The request must be a JSON object"),
    "empty": (b"", "application/json", 400, "The request body is not valid JSON"),
    "not-json": (b"{query: 1}", "application/json", 400, "The request body is not valid JSON"),
    "invalid-utf8": (b'{"query": "\xff\xfe"}', "application/json", 400, "not valid UTF-8"),
    "nested-5000": (b"[" * 5000 + b"]" * 5000, "application/json", 400, "The JSON is nested"),
    "nested-in-variables": (
        b'{"query": "{ __typename }", "variables": {"a": '
        + b'{"b": ' * 5000
        + b"1"
        + b"}" * 5000
        + b"}}",
        "application/json",
        400,
        "The JSON is nested",
    ),
    "nested-40": (
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}",
        "application/json",
        400,
        "The JSON is nested more than 32 levels",
    ),
    "huge-integer": (
        b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}",
        "application/json",
        400,
        "The request body is not valid JSON",
    ),
    "batch": (
        b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
        "application/json",
        400,
        "Batched operations (a JSON array) are not supported",
    ),
    "query-not-a-string": (b'{"query": 1}', "application/json", 400, "`query` must be"),
    "variables-a-list": (
        b'{"query": "{ __typename }", "variables": [1]}',
        "application/json",
        400,
        "`variables` must be an object",
    ),
    "operation-name-a-number": (
        b'{"query": "{ __typename }", "operationName": 7}',
        "application/json",
        400,
        "`operationName` must be a string",
    ),
    "form-encoded": (
        b"query=%7B__typename%7D",
        "application/x-www-form-urlencoded",
        415,
        "GraphQL requests must be sent as application/json",
    ),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        b'{"query": "{ __typename }"}\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
        415,
        "GraphQL requests must be sent as application/json",
    ),
    "text-plain": (b'{"query": "{ __typename }"}', "text/plain", 415, "GraphQL requests must"),
    "no-content-type": (b'{"query": "{ __typename }"}', None, 415, "GraphQL requests must"),
}

ODD_GETS: dict[str, tuple[dict[str, str], int, str]] = {
    "variables-a-string": (
        {"query": "{ __typename }", "variables": '"x"'},
        400,
        "`variables` must be an object",
    ),
    "variables-not-json": ({"query": "{ __typename }", "variables": "{a"}, 400, "not valid JSON"),
    "variables-nested-5000": (
        {"query": "{ __typename }", "variables": "[" * 5000 + "]" * 5000},
        400,
        "The JSON is nested",
    ),
    "extensions-a-number": (
        {"query": "{ __typename }", "extensions": "42"},
        400,
        "`extensions` must be an object",
    ),
    "unknown-operation-name": (
        {"query": "query A { __typename }", "operationName": "jane@example.org"},
        400,
        "No operation matches `operationName`",
    ),
    "no-query": ({}, 400, "No GraphQL query found"),
    "a-mutation": ({"query": "mutation { __typename }"}, 400, "mutations are not allowed"),
}


class TestOddBodies:
    @pytest.mark.parametrize("name", list(ODD_POSTS))
    async def test_post(self, client: httpx.AsyncClient, name: str) -> None:
        body, content_type, status, message = ODD_POSTS[name]
        headers = {"content-type": content_type} if content_type else {}
        response = await client.post("/graphql", content=body, headers=headers)
        _assert_refused(response, status, message)

    @pytest.mark.parametrize("name", list(ODD_GETS))
    async def test_get(self, client: httpx.AsyncClient, name: str) -> None:
        params, status, message = ODD_GETS[name]
        response = await client.get("/graphql", params=params, headers={"accept": "*/json"})
        _assert_refused(response, status, message)
        assert "jane@example.org" not in response.text

    async def test_a_plain_request_still_works(self, client: httpx.AsyncClient) -> None:
        post = await client.post(
            "/graphql",
            content=json.dumps({"query": "{ __typename }"}).encode(),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        get = await client.get("/graphql", params={"query": "{ __typename }", "variables": "{}"})
        assert post.json() == get.json() == TYPENAME


def _assert_refused(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    errors: list[dict[str, Any]] = errors_of(response)
    assert len(errors) == 1
    assert errors[0]["message"].startswith(message) or message in errors[0]["message"]
    assert errors[0]["extensions"]["code"] in {"BAD_REQUEST", "UNSUPPORTED_MEDIA_TYPE"}
