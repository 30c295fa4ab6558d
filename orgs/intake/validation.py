"""Validation of what a widget submits: every problem with the input path and a stable code.

Nothing here touches the database; the service validates first and writes only when the
whole submission is valid, so a rejected submission leaves no trace. Every string goes
through the text gate (orgs/text.py): NUL, lone surrogates and control characters are
refused with INVALID_TEXT, accepted text is kept in NFC (the email fingerprint included).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from orgs.text import TextRefused, clean_json, problem
from orgs.text import normalise as nfc

MAX_CUSTOM_FIELDS_BYTES = 8 * 1024
MAX_CUSTOM_FIELDS_DEPTH = 5
ACTION_TYPE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
SIGNATURE = "signature"
#: Other names existing widgets and docs use for a signature: stored as ``signature``, so a
#: campaign's counts never split between two names.
ACTION_TYPE_ALIASES = {"petition": SIGNATURE}
REF = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: The action type of a message to targets (Proca's name); its ``mtt`` says what and to whom.
MAIL_TO_TARGET = "mail2target"
#: A target's public identifier (its external id): what a signer names targets by.
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,99}$")
MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_TARGETS = 50
MAX_FILES = 10

# Postcode formats of the countries most campaigns run in; other countries: length only.
POSTCODES: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "AT": r"^\d{4}$",
        "BE": r"^\d{4}$",
        "BG": r"^\d{4}$",
        "CH": r"^\d{4}$",
        "CY": r"^\d{4}$",
        "CZ": r"^\d{3} ?\d{2}$",
        "DE": r"^\d{5}$",
        "DK": r"^\d{4}$",
        "EE": r"^\d{5}$",
        "ES": r"^\d{5}$",
        "FI": r"^\d{5}$",
        "FR": r"^\d{5}$",
        "GB": r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$",
        "GR": r"^\d{3} ?\d{2}$",
        "HR": r"^\d{5}$",
        "HU": r"^\d{4}$",
        "IE": r"^[A-Z]\d[\dW] ?[A-Z\d]{4}$",
        "IT": r"^\d{5}$",
        "LT": r"^(LT-)?\d{5}$",
        "LU": r"^(L-)?\d{4}$",
        "LV": r"^(LV-)?\d{4}$",
        "MT": r"^[A-Z]{3} ?\d{4}$",
        "NL": r"^\d{4} ?[A-Z]{2}$",
        "NO": r"^\d{4}$",
        "PL": r"^\d{2}-?\d{3}$",
        "PT": r"^\d{4}-?\d{3}$",
        "RO": r"^\d{6}$",
        "SE": r"^\d{3} ?\d{2}$",
        "SI": r"^\d{4}$",
        "SK": r"^\d{3} ?\d{2}$",
        "US": r"^\d{5}(-\d{4})?$",
    }.items()
}

LIMITS = {
    "firstName": 100,
    "lastName": 100,
    "name": 200,
    "email": 254,
    "phone": 40,
    "postcode": 16,
    "locality": 100,
    "region": 100,
    "street": 200,
    "streetNumber": 20,
    "source": 255,
    "medium": 255,
    "campaign": 255,
    "content": 255,
    "location": 1024,
    "referralCode": 32,
    "consentVersion": 64,
}


class Code(StrEnum):
    REQUIRED = "REQUIRED"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_COUNTRY = "INVALID_COUNTRY"
    INVALID_POSTCODE = "INVALID_POSTCODE"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_DATE = "INVALID_DATE"
    INVALID_FORMAT = "INVALID_FORMAT"
    INVALID_JSON = "INVALID_JSON"
    INVALID_TEXT = "INVALID_TEXT"
    TOO_LONG = "TOO_LONG"
    TOO_LARGE = "TOO_LARGE"
    TOO_DEEP = "TOO_DEEP"
    UNKNOWN_VERSION = "UNKNOWN_VERSION"
    PAGE_NOT_FOUND = "PAGE_NOT_FOUND"
    PAGE_CLOSED = "PAGE_CLOSED"
    ORIGIN_NOT_ALLOWED = "ORIGIN_NOT_ALLOWED"
    UNKNOWN_TARGET = "UNKNOWN_TARGET"
    NOT_RECORDED = "NOT_RECORDED"  # the database refused the row (group commit): try again


@dataclass(frozen=True)
class FieldError:
    path: tuple[str, ...]  # relative to the operation's arguments, e.g. ("contact", "email")
    code: Code
    message: str


class IntakeValidationError(Exception):
    """The submission was rejected; ``errors`` says where and why. Nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{'.'.join(e.path)}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class AddressData:
    country: str | None = None
    postcode: str | None = None
    locality: str | None = None
    region: str | None = None
    street: str | None = None
    street_number: str | None = None


@dataclass(frozen=True)
class ContactData:
    email: str  # normalised: the fingerprint is taken from it
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None  # E.164
    birth_date: str | None = None  # ISO date
    address: AddressData = field(default_factory=AddressData)

    def full_payload(self) -> dict[str, Any]:
        """What the collecting org and consented orgs receive (docs/CONTRACT.md)."""
        payload: dict[str, Any] = _compact(
            {
                "firstName": self.first_name,
                "lastName": self.last_name,
                "email": self.email,
                "phone": self.phone,
                "birthDate": self.birth_date,
            }
        )
        address = _compact(
            {
                "country": self.address.country,
                "postcode": self.address.postcode,
                "locality": self.address.locality,
                "region": self.address.region,
                "street": self.address.street,
                "streetNumber": self.address.street_number,
            }
        )
        if address:
            payload["address"] = address
        return payload


@dataclass(frozen=True)
class MttData:
    """A message to targets, as Proca's widget sends it (``ActionInput.mtt``).

    ``targets`` are the targets' external ids, each at most once; ``files`` are accepted
    and not attached (the hub hosts no uploads). Subject and body are None when not sent
    (the campaign's template is used).
    """

    subject: str | None
    body: str | None
    targets: tuple[str, ...]
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionData:
    action_type: str
    custom_fields: dict[str, Any]
    testing: bool
    mtt: MttData | None = None


@dataclass(frozen=True)
class TrackingData:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    location: str | None = None
    referral_code: str | None = None


@dataclass(frozen=True)
class ConsentData:
    opt_in: bool | None = None  # None: the box was not shown; never read as consent
    lead_opt_in: bool | None = None
    version: str | None = None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "")}


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: tuple[str, ...], code: Code, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def text(self, path: tuple[str, ...], value: Any) -> str | None:
        """A trimmed one-line optional string in NFC within its length limit (empty: absent).

        Surrounding whitespace (a pasted line break) is trimmed first; what is left must
        pass the text gate, else INVALID_TEXT and None.
        """
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(path, Code.INVALID_FORMAT, "must be a string")
            return None
        stripped: str = value.strip()
        if not stripped:
            return None
        if not self.gate(path, stripped):
            return None
        stripped = nfc(stripped)
        limit = LIMITS.get(path[-1], 255)
        if len(stripped) > limit:
            self.add(path, Code.TOO_LONG, f"must be at most {limit} characters")
            return None
        return stripped

    def gate(self, path: tuple[str, ...], value: str) -> bool:
        """False (and an INVALID_TEXT error) when one-line ``value`` holds a refused character."""
        reason = problem(value)
        if reason is None:
            return True
        self.add(path, Code.INVALID_TEXT, reason)
        return False

    def raise_if_any(self) -> None:
        if self.errors:
            raise IntakeValidationError(self.errors)


def validate_action(raw: dict[str, Any], errors: _Collector | None = None) -> ActionData:
    own = errors is None
    collector = errors or _Collector()
    action_type = raw.get("actionType")
    if not isinstance(action_type, str) or not action_type:
        collector.add(("action", "actionType"), Code.REQUIRED, "actionType is required")
        action_type = ""
    elif not collector.gate(("action", "actionType"), action_type):
        action_type = ""
    elif not ACTION_TYPE.fullmatch(action_type):
        collector.add(
            ("action", "actionType"),
            Code.INVALID_FORMAT,
            "must start with a letter and contain only letters, digits, - and _ (max 64)",
        )
    custom = _custom_fields(raw.get("customFields"), collector)
    mtt = _mtt(raw.get("mtt"), collector)
    action_type = ACTION_TYPE_ALIASES.get(action_type.lower(), action_type)
    result = ActionData(action_type, custom, bool(raw.get("testing")), mtt)
    if own:
        collector.raise_if_any()
    return result


def _custom_fields(value: Any, errors: _Collector) -> dict[str, Any]:
    path = ("action", "customFields")
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # existing widgets send a JSON-encoded string
        # surrogatepass: a lone surrogate must reach the text gate below, not crash here
        if len(value.encode("utf-8", "surrogatepass")) > MAX_CUSTOM_FIELDS_BYTES:
            errors.add(path, Code.TOO_LARGE, f"must be at most {MAX_CUSTOM_FIELDS_BYTES} bytes")
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            errors.add(path, Code.INVALID_JSON, "must be a JSON object")
            return {}
    if not isinstance(value, dict):
        errors.add(path, Code.INVALID_JSON, "must be a JSON object")
        return {}
    if _depth(value) > MAX_CUSTOM_FIELDS_DEPTH:
        errors.add(path, Code.TOO_DEEP, f"must nest at most {MAX_CUSTOM_FIELDS_DEPTH} levels")
        return {}
    try:
        # keys one-line, values may keep line breaks (a comment field)
        cleaned: dict[str, Any] = clean_json(value, multiline=True)
    except TextRefused as refused:
        first = refused.refusals[0]
        where = ".".join(str(part) for part in first.path)
        code = Code.INVALID_TEXT if first.text else Code.INVALID_JSON
        errors.add(path, code, f"{where}: {first.reason}" if where else first.reason)
        return {}
    if len(json.dumps(cleaned, separators=(",", ":")).encode()) > MAX_CUSTOM_FIELDS_BYTES:
        errors.add(path, Code.TOO_LARGE, f"must be at most {MAX_CUSTOM_FIELDS_BYTES} bytes")
        return {}
    return cleaned


def _mtt(value: Any, errors: _Collector) -> MttData | None:
    """``action.mtt``: a one-line subject, a multi-line body (plain text, at most
    MAX_BODY characters: it is mailed as text, so markup stays inert), target external ids."""
    path = ("action", "mtt")
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(path, Code.INVALID_FORMAT, "must be an object")
        return None
    subject = _bounded(errors, (*path, "subject"), value.get("subject"), MAX_SUBJECT, False)
    body = _bounded(errors, (*path, "body"), value.get("body"), MAX_BODY, True)
    if body is not None:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    raw_targets = value.get("targets")
    targets: list[str] = []
    if not isinstance(raw_targets, list) or not raw_targets:
        errors.add((*path, "targets"), Code.REQUIRED, "choose at least one target")
    elif len(raw_targets) > MAX_TARGETS:
        errors.add((*path, "targets"), Code.TOO_LARGE, f"at most {MAX_TARGETS} targets")
    else:
        for i, item in enumerate(raw_targets):
            where = (*path, "targets", str(i))
            if not isinstance(item, str) or not errors.gate(where, item):
                if not isinstance(item, str):
                    errors.add(where, Code.INVALID_FORMAT, "must be a target's id")
                continue
            if not EXTERNAL_ID.fullmatch(item):
                errors.add(where, Code.INVALID_FORMAT, "is not a target's id")
            elif item not in targets:
                targets.append(item)
    files: list[str] = []
    raw_files = value.get("files")
    if isinstance(raw_files, list) and len(raw_files) > MAX_FILES:
        errors.add((*path, "files"), Code.TOO_LARGE, f"at most {MAX_FILES} files")
    elif isinstance(raw_files, list):
        for i, item in enumerate(raw_files):
            name = _bounded(errors, (*path, "files", str(i)), item, 500, False)
            if name is not None:
                files.append(name)
    elif raw_files is not None:
        errors.add((*path, "files"), Code.INVALID_FORMAT, "must be a list")
    return MttData(subject, body, tuple(targets), tuple(files))


def _bounded(
    errors: _Collector, path: tuple[str, ...], value: Any, limit: int, multiline: bool
) -> str | None:
    """Optional text within ``limit`` characters, in NFC (empty: absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(path, Code.INVALID_FORMAT, "must be a string")
        return None
    stripped = value.strip()
    if not stripped:
        return None
    reason = problem(stripped, multiline=multiline)
    if reason is not None:
        errors.add(path, Code.INVALID_TEXT, reason)
        return None
    stripped = nfc(stripped)
    if len(stripped) > limit:
        errors.add(path, Code.TOO_LONG, f"must be at most {limit} characters")
        return None
    return stripped


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def validate_contact(raw: dict[str, Any], errors: _Collector) -> ContactData:
    first = errors.text(("contact", "firstName"), raw.get("firstName"))
    last = errors.text(("contact", "lastName"), raw.get("lastName"))
    name = errors.text(("contact", "name"), raw.get("name"))
    if name and not first and not last:
        first, _, rest = name.partition(" ")
        last = rest.strip() or None
        if len(first) > LIMITS["firstName"] or len(last or "") > LIMITS["lastName"]:
            errors.add(("contact", "name"), Code.TOO_LONG, "name is too long")
    email = _email(raw.get("email"), errors)
    address_raw = raw.get("address") or {}
    country = _country(address_raw.get("country"), errors)
    postcode = errors.text(("contact", "address", "postcode"), address_raw.get("postcode"))
    if postcode:
        postcode = postcode.upper()
        pattern = POSTCODES.get(country or "")
        if pattern is not None and not pattern.match(postcode):
            errors.add(
                ("contact", "address", "postcode"),
                Code.INVALID_POSTCODE,
                f"is not a valid postcode in {country}",
            )
    address = AddressData(
        country=country,
        postcode=postcode,
        locality=errors.text(("contact", "address", "locality"), address_raw.get("locality")),
        region=errors.text(("contact", "address", "region"), address_raw.get("region")),
        street=errors.text(("contact", "address", "street"), address_raw.get("street")),
        street_number=errors.text(
            ("contact", "address", "streetNumber"), address_raw.get("streetNumber")
        ),
    )
    return ContactData(
        email=email or "",
        first_name=first,
        last_name=last,
        phone=_phone(raw.get("phone"), country, errors),
        birth_date=_birth_date(raw.get("birthDate"), errors),
        address=address,
    )


def _email(value: Any, errors: _Collector) -> str | None:
    path = ("contact", "email")
    text = errors.text(path, value)
    if text is None:
        if not any(e.path == path for e in errors.errors):
            errors.add(path, Code.REQUIRED, "email is required")
        return None
    try:
        # No DNS lookup: a signature must not wait on (or leak to) the network.
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        errors.add(path, Code.INVALID_EMAIL, "is not a valid email address")
        return None
    return nfc(str(checked.normalized).lower())


def validate_email_address(value: Any) -> str:
    """One email address, normalised as the intake stores its fingerprint (the person's own
    erasure request); IntakeValidationError at path ``("email",)`` otherwise."""
    errors = _Collector()
    email = _email(value, errors)
    errors.raise_if_any()
    assert email is not None
    return email


def _country(value: Any, errors: _Collector) -> str | None:
    path = ("contact", "address", "country")
    text = errors.text(path, value)
    if text is None:
        return None
    code = text.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        errors.add(path, Code.INVALID_COUNTRY, "must be an ISO 3166-1 alpha-2 country code")
        return None
    return code


def _phone(value: Any, country: str | None, errors: _Collector) -> str | None:
    path = ("contact", "phone")
    text = errors.text(path, value)
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        errors.add(path, Code.INVALID_PHONE, "is not a valid phone number")
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _birth_date(value: Any, errors: _Collector) -> str | None:
    path = ("contact", "birthDate")
    text = errors.text(path, value)
    if text is None:
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        errors.add(path, Code.INVALID_DATE, "must be an ISO date (YYYY-MM-DD)")
        return None
    if parsed.year < 1900 or parsed > datetime.now(UTC).date():
        errors.add(path, Code.INVALID_DATE, "is not a plausible birth date")
        return None
    return parsed.isoformat()


def validate_tracking(raw: dict[str, Any] | None, errors: _Collector) -> TrackingData:
    raw = raw or {}
    referral = errors.text(("tracking", "referralCode"), raw.get("referralCode"))
    if referral is not None and not REF.fullmatch(referral):
        errors.add(("tracking", "referralCode"), Code.INVALID_FORMAT, "is not a referral code")
        referral = None
    return TrackingData(
        source=errors.text(("tracking", "source"), raw.get("source")),
        medium=errors.text(("tracking", "medium"), raw.get("medium")),
        campaign=errors.text(("tracking", "campaign"), raw.get("campaign")),
        content=errors.text(("tracking", "content"), raw.get("content")),
        location=errors.text(("tracking", "location"), raw.get("location")),
        referral_code=referral,
    )


def validate_consent(
    raw: dict[str, Any] | None, known_versions: frozenset[str], errors: _Collector
) -> ConsentData:
    raw = raw or {}
    version = errors.text(("privacy", "consentVersion"), raw.get("consentVersion"))
    if version is not None and version not in known_versions:
        errors.add(("privacy", "consentVersion"), Code.UNKNOWN_VERSION, "unknown consent wording")
    opt_in, lead_opt_in = raw.get("optIn"), raw.get("leadOptIn")
    return ConsentData(
        opt_in=opt_in if isinstance(opt_in, bool) else None,
        lead_opt_in=lead_opt_in if isinstance(lead_opt_in, bool) else None,
        version=version,
    )


def validate_ref(path: tuple[str, ...], value: Any, errors: _Collector) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and not errors.gate(path, value):
        return None
    if not isinstance(value, str) or not REF.fullmatch(value):
        errors.add(path, Code.INVALID_FORMAT, "is not a contact reference")
        return None
    return value


@dataclass(frozen=True)
class Signature:
    """A validated addActionContact submission."""

    action: ActionData
    contact: ContactData
    consent: ConsentData
    tracking: TrackingData
    link_ref: str | None


def validate_signature(
    *,
    action: dict[str, Any],
    contact: dict[str, Any],
    privacy: dict[str, Any] | None,
    tracking: dict[str, Any] | None,
    contact_ref: str | None,
    known_versions: frozenset[str],
) -> Signature:
    """Check every field at once; raise :class:`IntakeValidationError` listing all problems."""
    errors = _Collector()
    result = Signature(
        action=validate_action(action, errors),
        contact=validate_contact(contact, errors),
        consent=validate_consent(privacy, known_versions, errors),
        tracking=validate_tracking(tracking, errors),
        link_ref=validate_ref(("contactRef",), contact_ref, errors),
    )
    errors.raise_if_any()
    return result


@dataclass(frozen=True)
class FollowUp:
    """A validated addAction submission."""

    action: ActionData
    tracking: TrackingData
    contact_ref: str


def validate_follow_up(
    *, action: dict[str, Any], tracking: dict[str, Any] | None, contact_ref: str
) -> FollowUp:
    errors = _Collector()
    result_action = validate_action(action, errors)
    result_tracking = validate_tracking(tracking, errors)
    ref = validate_ref(("contactRef",), contact_ref, errors)
    if ref is None and not errors.errors:
        errors.add(("contactRef",), Code.REQUIRED, "contactRef is required")
    errors.raise_if_any()
    assert ref is not None
    return FollowUp(result_action, result_tracking, ref)


def validate_link_refs(contact_ref: str, link_refs: list[str]) -> tuple[str, list[str]]:
    errors = _Collector()
    ref = validate_ref(("contactRef",), contact_ref, errors)
    refs = [validate_ref(("linkRefs", str(i)), r, errors) for i, r in enumerate(link_refs[:100])]
    if len(link_refs) > 100:
        errors.add(("linkRefs",), Code.TOO_LARGE, "at most 100 references")
    if ref is None and not errors.errors:
        errors.add(("contactRef",), Code.REQUIRED, "contactRef is required")
    errors.raise_if_any()
    assert ref is not None
    return ref, [r for r in refs if r is not None]


def page_error(code: Code) -> IntakeValidationError:
    messages = {
        Code.PAGE_CLOSED: "This petition has closed",
        Code.ORIGIN_NOT_ALLOWED: "This petition cannot be signed from this website",
    }
    message = messages.get(code, "No such action page")
    return IntakeValidationError([FieldError(("actionPageId",), code, message)])


def not_recorded() -> IntakeValidationError:
    """A signature the database refused when written with others (orgs/intake/group.py):
    nothing of it was written; the others were. No value of the row is named."""
    return IntakeValidationError(
        [FieldError((), Code.NOT_RECORDED, "The signature could not be recorded; try again")]
    )
