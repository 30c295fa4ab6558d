"""The Action Network connector against a stand-in checking the OSDI helper contract."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.delivery.conftest import connector_test_payload, stand_in_client
from tests.delivery.fake_actionnetwork import FakeActionNetwork
from tests.servers import serve_in_thread
from workers.connectors.base import (
    ConnectorTarget,
    PermanentFailure,
    RetryableFailure,
    connector_for,
)

TOKEN = secrets.token_hex(16)


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[FakeActionNetwork, str]]:
    fake = FakeActionNetwork(token=TOKEN)
    with serve_in_thread(fake.app(), name="fake-actionnetwork") as url:
        yield fake, url


def _target(url: str, token: str = TOKEN, **config: Any) -> ConnectorTarget:
    return ConnectorTarget(
        id=1,
        org_id=1,
        org_name="delta",
        kind="actionnetwork",
        name="AN",
        config={"baseUrl": url, "tags": ["coalition"], **config},
        secrets={"apiKey": token},
    )


def _payload(email: str, consent: bool, event: str = "action_created") -> dict[str, Any]:
    return {
        "version": 1,
        "event": event,
        "deliveryId": f"{event}:a1:1",
        "campaign": {"name": "clean-rivers"},
        "action": {
            "actionType": "petition",
            "customFields": {"comment": "For the rivers"},
            "tracking": {"source": "newsletter", "medium": "email"},
        },
        "contact": {
            "contactRef": "r",
            "firstName": "Ada",
            "lastName": "L",
            "email": email,
            "phone": "+33123456789",
            "address": {"country": "FR", "postcode": "75001"},
        },
        "consents": [{"org": "delta", "purpose": "communication", "given": consent}],
    }


def _deliver(target: ConnectorTarget, payload: dict[str, Any]) -> str | None:
    with stand_in_client() as http:
        return connector_for("actionnetwork").deliver(target, payload, http)


class TestActionNetwork:
    def test_a_signature_with_consent_is_recorded_on_the_petition(
        self, network: tuple[FakeActionNetwork, str]
    ) -> None:
        fake, url = network
        # when
        link = _deliver(_target(url, petitionId=fake.petition), _payload("ada@x.org", True))
        # then
        assert link is not None
        person = fake.people["ada@x.org"]
        assert person["status"] == "subscribed"
        assert person["postal_addresses"] == [{"postal_code": "75001", "country": "FR"}]
        assert person["phone_numbers"] == [{"number": "+33123456789", "number_type": "Mobile"}]
        assert person["tags"] == {"coalition", "clean-rivers"}
        assert person["referrer_data"] == {"source": "newsletter", "referrer": "email"}
        assert fake.signatures[-1] == {"email": "ada@x.org", "comments": "For the rivers"}

    def test_without_consent_nothing_is_sent(self, network: tuple[FakeActionNetwork, str]) -> None:
        fake, url = network
        assert _deliver(_target(url), _payload("none@x.org", False)) is None
        assert "none@x.org" not in fake.people

    def test_withdrawal_unsubscribes_through_the_people_helper(
        self, network: tuple[FakeActionNetwork, str]
    ) -> None:
        fake, url = network
        _deliver(_target(url), _payload("w@x.org", True))
        _deliver(_target(url), _payload("w@x.org", True, "consent_withdrawn"))
        assert fake.people["w@x.org"]["status"] == "unsubscribed"

    def test_a_wrong_token_fails_for_good_and_an_outage_is_retried(
        self, network: tuple[FakeActionNetwork, str]
    ) -> None:
        fake, url = network
        with pytest.raises(PermanentFailure, match="HTTP 401"):
            _deliver(_target(url, token=secrets.token_hex(16)), _payload("t@x.org", True))
        fake.fail_with = 429
        try:
            with pytest.raises(RetryableFailure, match="HTTP 429"):
                _deliver(_target(url), _payload("t@x.org", True))
        finally:
            fake.fail_with = None

    def test_a_connector_test_reads_the_petition_and_writes_nothing(
        self, network: tuple[FakeActionNetwork, str]
    ) -> None:
        fake, url = network
        people, before = dict(fake.people), len(fake.reads)
        assert _deliver(_target(url, petitionId=fake.petition), connector_test_payload()) is None
        assert _deliver(_target(url), connector_test_payload()) is None
        with pytest.raises(PermanentFailure, match="HTTP 401"):
            _deliver(_target(url, token=secrets.token_hex(16)), connector_test_payload())
        assert fake.reads[before:] == [
            f"/api/v2/petitions/{fake.petition}",
            "/api/v2/",
            "/api/v2/",
        ]
        assert fake.people == people
