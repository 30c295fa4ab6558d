"""OSDI's record signature helper (Action Network's API v2) onto the hub's intake.

``POST /osdi/v1/petitions/{page}/signatures`` (hub/osdi_routes.py) takes what Action Network
takes and records it through :func:`orgs.intake.service.add_action_contact`, the widget's own
path: the same validation, dedupe, consent rows, counters, outbox and limits. What differs:

- **Who**: an org API token (``OSDI-API-Token``) with the ``signatures:write`` scope, for that
  org's own pages only; any other page answers "not found", as an unknown one does.
- **Consent is stated, never inferred.** Action Network subscribes whoever a helper receives;
  here the client must say what the person agreed to: the email address's ``status``,
  ``subscribed`` (communication consent to the page's org) or ``unsubscribed`` (none), is
  required. Consent to the campaign's lead and the wording version shown go in
  ``coalition_hub:consent`` (``lead_opt_in``, ``consent_version``); absent, the lead was not
  asked.
- **Mapping**: ``person`` (given_name, family_name, the primary or first email address, postal
  address and phone number, custom_fields), ``comments`` and ``add_tags`` (kept as the action's
  custom fields ``comment`` and ``tags``), ``referrer_data`` / ``action_network:referrer_data``
  (source, referrer, website: tracking source, medium, location) and
  ``triggers.autoresponse.enabled`` (false: no thank-you mail; a double opt-in confirmation is
  still sent). Other keys are ignored.

Every problem is reported at once with its path in the OSDI document and the intake's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from orgs.intake import repository, service
from orgs.intake.service import IntakeOptions, Receipt, RequestMeta
from orgs.intake.validation import Code, FieldError, IntakeValidationError
from permissions.policies import can_record_signatures
from permissions.subject import Subject

CONSENT = "coalition_hub:consent"
REFERRER_KEYS = ("action_network:referrer_data", "referrer_data")
MAX_TAGS = 50
MAX_TAG_LENGTH = 128
MAX_LIST = 20  # email addresses, postal addresses, phone numbers per person
STATUSES = {"subscribed": True, "unsubscribed": False}

Path = tuple[str, ...]


@dataclass
class Signature:
    """An OSDI signature as the intake's arguments, and where each came from."""

    action: dict[str, Any]
    contact: dict[str, Any]
    privacy: dict[str, Any]
    tracking: dict[str, Any]
    autoresponse: bool
    # intake input path -> OSDI document path, for reporting the intake's errors
    origins: dict[Path, Path] = field(default_factory=dict)


class _Reader:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: Path, code: Code, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def object(self, value: Any, path: Path, *, required: bool = False) -> Mapping[str, Any]:
        if value is None:
            if required:
                self.fail(path, Code.REQUIRED, "is required")
            return {}
        if not isinstance(value, dict):
            self.fail(path, Code.INVALID_FORMAT, "must be an object")
            return {}
        return value

    def text(self, value: Any, path: Path) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.fail(path, Code.INVALID_FORMAT, "must be a string")
        return None

    def pick(self, value: Any, path: Path) -> tuple[int, Mapping[str, Any]] | None:
        """The item marked ``primary`` in a list of objects, else the first (index, item)."""
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            self.fail(path, Code.INVALID_FORMAT, "must be a list of objects")
            return None
        if len(value) > MAX_LIST:
            self.fail(path, Code.TOO_LARGE, f"at most {MAX_LIST} items")
            return None
        if not value:
            return None
        primary = [i for i, item in enumerate(value) if item.get("primary") is True]
        index = primary[0] if primary else 0
        return index, value[index]


def read_signature(body: Any) -> Signature:
    """The intake's arguments from an OSDI record-signature body, or IntakeValidationError
    with every problem at its OSDI path (nothing else is looked at before all are found)."""
    r = _Reader()
    doc = r.object(body, (), required=True)
    person = r.object(doc.get("person"), ("person",), required=True)
    origins: dict[Path, Path] = {
        ("contact", "firstName"): ("person", "given_name"),
        ("contact", "lastName"): ("person", "family_name"),
    }
    contact: dict[str, Any] = {
        "firstName": r.text(person.get("given_name"), ("person", "given_name")),
        "lastName": r.text(person.get("family_name"), ("person", "family_name")),
    }
    privacy: dict[str, Any] = {}

    emails = ("person", "email_addresses")
    picked = r.pick(person.get("email_addresses"), emails)
    if picked is None:
        if not any(e.path[:2] == emails for e in r.errors):
            r.fail(emails, Code.REQUIRED, "an email address is required")
    else:
        index, email = picked
        at = (*emails, str(index))
        contact["email"] = r.text(email.get("address"), (*at, "address"))
        origins[("contact", "email")] = (*at, "address")
        status = email.get("status")
        if status not in STATUSES:
            r.fail(
                (*at, "status"),
                Code.REQUIRED,
                "state the person's consent: subscribed (they agreed to hear from your org) "
                "or unsubscribed (they did not); none is assumed",
            )
        else:
            privacy["optIn"] = STATUSES[status]

    postal = ("person", "postal_addresses")
    picked = r.pick(person.get("postal_addresses"), postal)
    if picked is not None:
        index, place = picked
        at = (*postal, str(index))
        address: dict[str, Any] = {}
        for key, source in (
            ("postcode", "postal_code"),
            ("locality", "locality"),
            ("region", "region"),
            ("country", "country"),
        ):
            address[key] = r.text(place.get(source), (*at, source))
            origins[("contact", "address", key)] = (*at, source)
        lines = place.get("address_lines")
        if lines is not None:
            if isinstance(lines, list) and lines and isinstance(lines[0], str):
                address["street"] = lines[0]
                origins[("contact", "address", "street")] = (*at, "address_lines", "0")
            elif lines != []:
                r.fail((*at, "address_lines"), Code.INVALID_FORMAT, "must be a list of strings")
        contact["address"] = address

    phones = ("person", "phone_numbers")
    picked = r.pick(person.get("phone_numbers"), phones)
    if picked is not None:
        index, phone = picked
        contact["phone"] = r.text(phone.get("number"), (*phones, str(index), "number"))
        origins[("contact", "phone")] = (*phones, str(index), "number")

    custom: dict[str, Any] = dict(
        r.object(person.get("custom_fields"), ("person", "custom_fields"))
    )
    comment = r.text(doc.get("comments"), ("comments",))
    if comment:
        custom["comment"] = comment
    tags = doc.get("add_tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            r.fail(("add_tags",), Code.INVALID_FORMAT, "must be a list of strings")
        elif len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
            r.fail(
                ("add_tags",),
                Code.TOO_LARGE,
                f"at most {MAX_TAGS} tags of {MAX_TAG_LENGTH} characters",
            )
        elif tags:
            custom["tags"] = sorted(set(tags))
    origins[("action", "customFields")] = ("person", "custom_fields")

    tracking: dict[str, Any] = {}
    for key in REFERRER_KEYS:
        if key in doc:
            referrer = r.object(doc.get(key), (key,))
            for target, source in (("source", "source"), ("medium", "referrer"),
                                   ("location", "website")):  # fmt: skip
                tracking[target] = r.text(referrer.get(source), (key, source))
                origins[("tracking", target)] = (key, source)
            break

    consent = r.object(doc.get(CONSENT), (CONSENT,))
    lead = consent.get("lead_opt_in")
    if lead is not None and not isinstance(lead, bool):
        r.fail((CONSENT, "lead_opt_in"), Code.INVALID_FORMAT, "must be true, false or null")
    elif lead is not None:
        privacy["leadOptIn"] = lead
    privacy["consentVersion"] = r.text(consent.get("consent_version"), (CONSENT, "consent_version"))
    origins[("privacy", "consentVersion")] = (CONSENT, "consent_version")

    triggers = r.object(doc.get("triggers"), ("triggers",))
    autoresponse = r.object(triggers.get("autoresponse"), ("triggers", "autoresponse"))
    enabled = autoresponse.get("enabled", True)
    if not isinstance(enabled, bool):
        r.fail(("triggers", "autoresponse", "enabled"), Code.INVALID_FORMAT, "true or false")
        enabled = True

    if r.errors:
        raise IntakeValidationError(r.errors)
    return Signature(
        action={"actionType": "signature", "customFields": custom},
        contact=contact,
        privacy=privacy,
        tracking=tracking,
        autoresponse=enabled,
        origins=origins,
    )


def _located(error: FieldError, origins: dict[Path, Path]) -> FieldError:
    """An intake error at the OSDI path its input came from."""
    if error.path == ("actionPageId",):
        return FieldError(("petition",), error.code, error.message)
    return FieldError(origins.get(error.path, error.path), error.code, error.message)


async def record_signature(
    conn: AsyncConnection,
    options: IntakeOptions,
    subject: Subject,
    page_id: int,
    body: Any,
    meta: RequestMeta,
) -> Receipt:
    """Record an OSDI signature on ``page_id`` for ``subject`` (an org's API token).

    A page of another org answers PAGE_NOT_FOUND, as an unknown page does, before the body is
    read; then the intake's rules apply as for the widget.
    """
    page = await repository.load_page(conn, page_id)
    if page is None or not can_record_signatures(subject, page.org_id):
        raise IntakeValidationError(
            [FieldError(("petition",), Code.PAGE_NOT_FOUND, "No such action page")]
        )
    signature = read_signature(body)
    try:
        return await service.add_action_contact(
            conn,
            options,
            page_id,
            action=signature.action,
            contact=signature.contact,
            privacy=signature.privacy,
            tracking=signature.tracking,
            meta=RequestMeta(
                ip=meta.ip,
                referer=meta.referer,
                idempotency_key=meta.idempotency_key,
                token_org_id=page.org_id,
            ),
            thank_you=signature.autoresponse,
        )
    except IntakeValidationError as error:
        raise IntakeValidationError(
            [_located(e, signature.origins) for e in error.errors]
        ) from None
