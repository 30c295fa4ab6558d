"""The CiviCRM connector against an API4 stand-in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.delivery.conftest import connector_test_payload, stand_in_client
from tests.delivery.fake_civicrm import FakeCiviCrm
from tests.servers import serve_in_thread
from workers.connectors.base import ConnectorTarget, PermanentFailure, connector_for

KEY = secrets.token_hex(12)


@pytest.fixture
def civicrm() -> Iterator[tuple[FakeCiviCrm, str]]:
    fake = FakeCiviCrm(key=KEY)
    with serve_in_thread(fake.app(), name="fake-civicrm") as url:
        yield fake, url


def _target(url: str, key: str = KEY) -> ConnectorTarget:
    return ConnectorTarget(
        id=1,
        org_id=1,
        org_name="delta",
        kind="civicrm",
        name="CiviCRM",
        config={"baseUrl": url, "groupId": 7},
        secrets={"apiKey": key},
    )


def _payload(email: str, consent: bool, event: str = "action_created") -> dict[str, Any]:
    return {
        "version": 1,
        "event": event,
        "deliveryId": f"{event}:a1:1",
        "campaign": {"name": "clean-rivers", "title": "Clean rivers"},
        "action": {"actionType": "petition"},
        "contact": {"contactRef": "r", "firstName": "Ada", "lastName": "L", "email": email},
        "consents": [{"org": "delta", "purpose": "communication", "given": consent}],
    }


def _deliver(target: ConnectorTarget, payload: dict[str, Any]) -> str | None:
    with stand_in_client() as http:
        return connector_for("civicrm").deliver(target, payload, http)


class TestCiviCrm:
    def test_a_new_signer_becomes_a_contact_with_an_activity_and_the_group(
        self, civicrm: tuple[FakeCiviCrm, str]
    ) -> None:
        fake, url = civicrm
        contact_id = _deliver(_target(url), _payload("ada@x.org", True))
        assert contact_id == "1"
        assert fake.contacts[1]["first_name"] == "Ada"
        assert fake.activities[0]["activity_type_id:name"] == "Petition Signature"
        assert fake.activities[0]["subject"] == "Clean rivers"
        assert fake.groups == {(1, 7): "Added"}

    def test_a_redelivery_matches_the_same_contact(self, civicrm: tuple[FakeCiviCrm, str]) -> None:
        fake, url = civicrm
        _deliver(_target(url), _payload("ada@x.org", True))
        _deliver(_target(url), _payload("ada@x.org", True))
        assert len(fake.contacts) == 1
        assert len(fake.activities) == 1  # the same delivery logs one activity

    def test_without_consent_no_group_and_withdrawal_removes(
        self, civicrm: tuple[FakeCiviCrm, str]
    ) -> None:
        fake, url = civicrm
        _deliver(_target(url), _payload("no@x.org", False))
        assert fake.groups == {}
        assert len(fake.activities) == 1
        _deliver(_target(url), _payload("no@x.org", True, "consent_withdrawn"))
        assert fake.groups == {(1, 7): "Removed"}

    def test_a_wrong_key_fails_for_good(self, civicrm: tuple[FakeCiviCrm, str]) -> None:
        _, url = civicrm
        with pytest.raises(PermanentFailure, match="HTTP 401"):
            _deliver(_target(url, key="wrong-key-123"), _payload("k@x.org", True))

    def test_erasure_deletes_a_known_contact_and_creates_none(
        self, civicrm: tuple[FakeCiviCrm, str]
    ) -> None:
        fake, url = civicrm
        _deliver(_target(url), _payload("e@x.org", True))
        assert _deliver(_target(url), _payload("e@x.org", True, "erasure_requested")) == "1"
        assert _deliver(_target(url), _payload("never@x.org", True, "erasure_requested")) is None
        assert fake.contacts == {}

    def test_a_connector_test_checks_the_key_and_writes_nothing(
        self, civicrm: tuple[FakeCiviCrm, str]
    ) -> None:
        fake, url = civicrm
        assert _deliver(_target(url), connector_test_payload()) is None
        with pytest.raises(PermanentFailure, match="HTTP 401"):
            _deliver(_target(url, key="wrong-key-123"), connector_test_payload())
        assert fake.contacts == {}
        assert fake.activities == []
