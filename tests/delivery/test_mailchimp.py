"""The Mailchimp connector against a stand-in that checks the Marketing API contract."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from orgs.delivery.connectors import check_mailchimp
from tests.delivery.conftest import connector_test_payload, stand_in_client
from tests.delivery.fake_mailchimp import FakeMailchimp
from tests.servers import serve_in_thread
from workers.connectors.base import (
    ConnectorTarget,
    PermanentFailure,
    RetryableFailure,
    connector_for,
)

API_KEY = secrets.token_hex(16) + "-us6"


@pytest.fixture(scope="module")
def mailchimp() -> Iterator[tuple[FakeMailchimp, str]]:
    fake = FakeMailchimp(api_key=API_KEY)
    with serve_in_thread(fake.app(), name="fake-mailchimp") as url:
        yield fake, url


def _target(url: str, key: str = API_KEY, **config: Any) -> ConnectorTarget:
    return ConnectorTarget(
        id=1,
        org_id=1,
        org_name="delta",
        kind="mailchimp",
        name="Audience",
        config={"listId": "a1b2c3d4e5", "baseUrl": url, "tags": ["coalition"], **config},
        secrets={"apiKey": key},
    )


def _payload(email: str, consent: bool, event: str = "action_created") -> dict[str, Any]:
    return {
        "version": 1,
        "event": event,
        "deliveryId": f"{event}:a1:1",
        "campaign": {"name": "clean-rivers", "title": "Clean rivers"},
        "action": {"actionType": "petition", "tracking": {"source": "newsletter"}},
        "contact": {"contactRef": "r", "firstName": "Ada", "lastName": "L", "email": email},
        "consents": [{"org": "delta", "purpose": "communication", "given": consent}],
    }


def _id(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


class TestMailchimp:
    def test_consent_subscribes_with_tags_and_source(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        # when
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(
                _target(url, marketingPermissionId="perm1"), _payload("Ada@x.org", True), http
            )
        # then
        member = fake.members[_id("ada@x.org")]
        assert member["status"] == "subscribed"
        assert member["merge_fields"] == {"FNAME": "Ada", "LNAME": "L"}
        assert member["marketing_permissions"] == [
            {"marketing_permission_id": "perm1", "enabled": True}
        ]
        assert fake.tags[_id("ada@x.org")] == {"coalition", "clean-rivers", "source:newsletter"}

    def test_without_consent_the_person_is_kept_but_never_mailed(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(_target(url), _payload("no@x.org", False), http)
        assert fake.members[_id("no@x.org")]["status"] == "transactional"

    def test_a_later_signature_without_consent_keeps_a_subscription(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(_target(url), _payload("keep@x.org", True), http)
            connector_for("mailchimp").deliver(_target(url), _payload("keep@x.org", False), http)
        assert fake.members[_id("keep@x.org")]["status"] == "subscribed"

    def test_withdrawal_unsubscribes(self, mailchimp: tuple[FakeMailchimp, str]) -> None:
        fake, url = mailchimp
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(_target(url), _payload("w@x.org", True), http)
            connector_for("mailchimp").deliver(
                _target(url), _payload("w@x.org", True, "consent_withdrawn"), http
            )
        assert fake.members[_id("w@x.org")]["status"] == "unsubscribed"

    def test_a_wrong_key_fails_for_good_and_an_outage_is_retried(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        with stand_in_client() as http:
            with pytest.raises(PermanentFailure, match="HTTP 401"):
                connector_for("mailchimp").deliver(
                    _target(url, key=secrets.token_hex(16) + "-us6"),
                    _payload("k@x.org", True),
                    http,
                )
            fake.fail_with = 503
            try:
                with pytest.raises(RetryableFailure, match="HTTP 503"):
                    connector_for("mailchimp").deliver(
                        _target(url), _payload("k@x.org", True), http
                    )
            finally:
                fake.fail_with = None

    def test_configuration_problems_are_named(self) -> None:
        problems = check_mailchimp({"listId": ""}, {"apiKey": "nope"})
        assert {p.field for p in problems} == {"listId", "apiKey"}

    def test_erasure_deletes_the_member_permanently(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(_target(url), _payload("gone@x.org", True), http)
            connector_for("mailchimp").deliver(
                _target(url), _payload("gone@x.org", True, "erasure_requested"), http
            )
        assert _id("gone@x.org") not in fake.members

    def test_a_connector_test_reads_the_audience_and_writes_nothing(
        self, mailchimp: tuple[FakeMailchimp, str]
    ) -> None:
        fake, url = mailchimp
        members = dict(fake.members)
        with stand_in_client() as http:
            connector_for("mailchimp").deliver(_target(url), connector_test_payload(), http)
            with pytest.raises(PermanentFailure, match="HTTP 404"):
                connector_for("mailchimp").deliver(
                    _target(url, listId="nosuchlist"), connector_test_payload(), http
                )
        assert fake.calls[-2:] == ["GET list", "GET list"]
        assert fake.members == members
