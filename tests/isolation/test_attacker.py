"""The attacker suite (issue 10 "Proof"): every operation of the schema, aimed at the victims,
as every attacker subject; then the compositions of issue 10's findings, by name.

The world (tests/isolation/attacker_world.py): campaign C led by L, victim partner A; the
attackers hold owner-level tokens of a partner (X), a coordinator (K), the delivery org (D),
the lead of another campaign in which A is a partner (O), a partner removed after collecting
signatures (R), or nothing (anonymous). They know the victims' emails, contactRefs, referral
codes and A's own Contact.refs ("assume the worst").

For every response of the walk: no marker of a victim the subject may not read, no victim
reference echoed unless the request carried it, no 5xx and no masked bug; for every request
(queries too): no change to another org's rows or to the victims' rows, except what public
intake legitimately writes (anyone may sign with any email; what that may change is spelled
out in :func:`intake_allows`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from graphql import (
    GraphQLInputType,
    build_schema,
    get_named_type,
    get_nullable_type,
    parse,
    validate,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.fast_intake import widget_documents
from orgs.crypto import Keyring
from orgs.delivery import payload
from orgs.intake.validation import Code as IntakeCode
from orgs.outbox.repository import DeliveryJob
from orgs.scoping import system_scope
from permissions.roles import ALL_SCOPES
from schema.schema import schema
from tests import factories as f
from tests.auth.fake_idp import FakeIdp
from tests.coalition.helpers import supporter_of
from tests.isolation import attacker_world as aw
from tests.isolation.attacker_world import (
    DELIVERY,
    OTHER_LEAD,
    PARTNER,
    REMOVED,
    SUBJECTS,
    Attacker,
    Change,
    World,
    build_world,
    snapshot,
)
from tests.isolation.walker import Aim, Candidates, Document, Walker
from tests.servers import serve_in_thread

#: Operations the walk does not send, each with the reason. Nothing is skipped today: the
#: credential flows (login, refreshToken, resetPassword, acceptInvitation, completeSsoLogin)
#: are walked with what an attacker has (a victim's email, made-up tokens); their success
#: paths need the credentials themselves and live in tests/auth.
SKIP: dict[str, str] = {}

#: The public intake: anyone may call it with any email (DESIGN §5), so "no change to another
#: org's rows" becomes the finer rule of :func:`intake_allows`.
INTAKE = frozenset(
    {
        "Mutation.addActionContact",
        "Mutation.addAction",
        "Mutation.linkActions",
        "Mutation.requestMyErasure",
        "Mutation.requestPasswordReset",
    }
)

#: Top-level error codes an attacker may get: denials, input errors, the intake's codes.
EXPECTED_CODES = frozenset(
    {"UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "RATE_LIMITED", "INVALID_TEXT"}
    | {c.value for c in IntakeCode}
)
MASKED = "Unexpected error."
#: Inputs whose free text the attacker types itself (its own markers, never a victim's).
TYPED = frozenset({"ContactInput", "AddressInput", "TrackingInput"})
ATTACKER_PHONE = "+33 6 11 22 33 44"
WHSEC = "whsec_YXR0YWNrZXItc2VjcmV0LWtleQ=="


def schema_operations() -> set[str]:
    walker = Walker(schema._schema, Aim())
    return {f"{kind}.{name}" for kind, name, _ in walker.root_fields()}


# --- aiming: the values an attacker sends ------------------------------------------------------


class VictimAim(Aim):
    """Every slot filled with what points at a victim (and, for org, the attacker's own org)."""

    def __init__(self, world: World, attacker: Attacker) -> None:
        self.w = world
        self.attacker = attacker
        own = attacker.org
        w = world
        c, c2 = w.campaign, w.campaign2
        own_name = [own.name] if own is not None else []
        v1, v2, v3 = w.by_tag("V1"), w.by_tag("V2"), w.by_tag("V3")
        assert w.page_a.id is not None
        assert w.page_a2.id is not None
        assert w.page_lead.id is not None
        # A's page, L's page and the attacker's own (anonymous: A's page in C2 instead)
        self.pages = [w.page_a.id, w.page_lead.id]
        if attacker.page is not None and attacker.page.id is not None:
            self.pages.append(attacker.page.id)
        else:
            self.pages.append(w.page_a2.id)
        self.refs = self._refs()
        self.campaigns = [c.name, f"{w.lead.name}/{c.name}", c2.name]
        self.orgs = [w.a.name, w.lead.name, *own_name]
        a_conn, l_conn = w.connectors["a"].id, w.connectors["l"].id
        atk = f"ATK{secrets.token_hex(4)}"
        self.exact: dict[tuple[str, str], Candidates] = {
            ("Query._entities", "representations"): [self._representations()],
            ("Query.actionPage", "id"): [w.page_a.id, w.page_a2.id, None],
            ("Query.actionPage", "name"): [w.page_a.name, w.page_lead.name, None],
            ("Org.actionPage", "name"): [w.page_a.name],  # a nested field, where it exists
            ("Query.org", "name"): [w.a.name, w.lead.name, *own_name],
            ("Query.contacts", "first"): [50],
            ("Query.contacts", "after"): [None, aw.contacts_cursor(0)],
            ("Query.deliveries", "first"): [50],
            ("Query.deliveries", "after"): [None, "0"],
            ("Query.deliveries", "connector"): [a_conn, l_conn, None],
            ("AddCampaignInput", "name"): [c.name, c2.name],
            ("AddCampaignInput", "goal"): [5],
            ("UpdateCampaignInput", "goal"): [5, None],
            ("AddActionPageInput", "name"): [
                f"{w.a.name}/attack",
                f"{w.lead.name}/attack",
                *(f"{n}/attack" for n in own_name),
            ],
            ("AddConnectorInput", "kind"): ["webhook"],
            ("AddConnectorInput", "name"): ["attacker-hook"],
            ("AddConnectorInput", "config"): [{"url": "https://203.0.113.9/hook"}],
            ("AddConnectorInput", "secrets"): [{"secrets": [WHSEC]}],
            ("SetConnectorEnabledInput", "id"): [a_conn, l_conn],
            ("TestConnectorInput", "id"): [a_conn, l_conn],
            ("RevokeApiTokenInput", "id"): [w.a_token_id],
            ("RetryDeliveriesInput", "ids"): [w.a_delivery_ids, None],
            ("CreateApiTokenInput", "name"): ["attacker-token"],
            ("CreateApiTokenInput", "scopes"): [list(ALL_SCOPES)],
            ("CreateApiTokenInput", "expiresAt"): ["2100-01-01T00:00:00+00:00", None],
            ("InviteStaffInput", "email"): [w.a_staff_email, v1.email],
            ("LoginInput", "email"): [w.a_staff_email, v1.email],
            ("RequestPasswordResetInput", "email"): [w.a_staff_email, v1.email],
            ("RequestMyErasureInput", "email"): [v1.email, v2.email, v3.email],
            ("ContactInput", "email"): [v1.email, v2.email, v3.email],
            ("ContactInput", "phone"): [ATTACKER_PHONE],
            ("ContactInput", "birthDate"): ["1980-01-01"],
            ("AddressInput", "country"): ["FR"],
            ("AddressInput", "postcode"): ["75001"],
            ("ActionInput", "actionType"): ["signature", "share"],
            ("ActionInput", "customFields"): [{"comment": f"{atk}comment"}],
            ("ActionInput", "testing"): [False],
            # a message to C's target in one signature of three (the others carry none)
            ("ActionInput", "mtt"): [
                None,
                None,
                {
                    "subject": f"{atk}subject",
                    "body": f"{atk}body",
                    "targets": [w.targets[c.id or 0]],
                },
            ],
            ("CancelTargetMessagesInput", "target"): list(w.targets.values()),
            ("ModerateTargetMessagesInput", "ids"): [w.held_messages],
            ("ConsentInput", "consentVersion"): ["v1", None],
            ("ConsentInput", "optIn"): [True, False],
            ("ConsentInput", "leadOptIn"): [True, False, None],
            ("TrackingInput", "referralCode"): [
                *(s.referral_code for s in w.submissions[:6]),
                None,
            ],
            ("TrackingInput", "campaign"): [f"{atk}utm"],
            ("ContactFilter", "page"): [w.page_a.name, w.page_a2.name, w.page_lead.name],
            ("ContactFilter", "source"): [
                v1.markers["source"],
                v2.markers["source"],
                v3.markers["source"],
            ],
            ("ContactFilter", "actionType"): ["signature", "share"],
            ("ContactFilter", "since"): ["2000-01-01T00:00:00+00:00"],
            ("ContactFilter", "until"): ["2100-01-01T00:00:00+00:00"],
            ("ConfigureSsoInput", "issuer"): ["http://127.0.0.1:9"],
            ("ConfigureSsoInput", "clientId"): ["attacker-client"],
            ("ConfigureSsoInput", "clientSecret"): ["attacker-secret"],
            ("ConfigureSsoInput", "allowedDomains"): [["attacker.example"]],
            ("ConfigureSsoInput", "returnUrls"): [["https://attacker.example/sso"]],
        }
        self.by_name: dict[str, Candidates] = {
            "campaign": self.campaigns,
            "org": self.orgs,
            "page": [w.page_a.name, w.page_lead.name],
            "actionPageId": self.pages,
            "contactRef": self.refs,
            "ref": self.refs,
            "linkRefs": [[s.contact_ref for s in w.submissions], [w.anonymous_ref]],
            "email": [v1.email, v2.email],
            "userId": [w.a_staff_user_id],
            "connector": [a_conn],
            "password": ["attacker-password-123"],
            "token": [secrets.token_urlsafe(32)],
            "refreshToken": [secrets.token_urlsafe(32)],
            "code": [secrets.token_urlsafe(32)],
            "title": ["Attacker title"],
            "message": ["attacker says no"],
            "first": [50],
        }
        self.atk = atk

    def _refs(self) -> list[str]:
        """Every reference an attacker may have learnt: the victims' signature contactRefs,
        the anonymous pre-signature ref, and each org's own Contact.ref of the victims."""
        w = self.w
        refs = [w.by_tag(tag).contact_ref for tag in ("V1", "V2", "V3", "V1C2")]
        refs.append(w.anonymous_ref)
        # one copy of each kind: A's (the collector), L's (lead opt-in and own page), D's
        # (delivery fields), O's (lead opt-in in C2)
        for org, tag in (("a", "V1"), ("a", "V2"), ("l", "V3"), ("d", "V1"), ("o", "V1C2")):
            refs.append(w.contact_refs[(org, w.by_tag(tag).supporter_id)])
        return refs

    def _representations(self) -> list[dict[str, Any]]:
        w = self.w
        return [
            {"__typename": "Campaign", "id": w.campaign.id},
            {"__typename": "Campaign", "id": w.campaign2.id},
            {"__typename": "Org", "name": w.a.name},
            {"__typename": "Org", "name": w.lead.name},
            {"__typename": "OrgActionPage", "id": w.page_a.id},
            {"__typename": "OrgActionPage", "id": w.page_lead.id},
            {"__typename": "ActionPage", "id": w.page_a.id},
            {"__typename": "ActionPage", "id": w.page_a2.id},
        ]

    def values(self, coordinate: str, name: str, type_: GraphQLInputType) -> Candidates | None:
        nullable = type_ is get_nullable_type(type_)
        found = self.exact.get((coordinate, name))
        if found is None:
            found = self.by_name.get(name)
        if found is None and coordinate in TYPED and get_named_type(type_).name == "String":
            found = [f"{self.atk}{name[:5]}"]  # attacker-typed personal data and tracking
        if found is None:
            return None
        if nullable and None not in found and name in ("org", "contactRef", "connector"):
            found = [*found, None]
        return found


def walker_for(world: World, attacker: Attacker) -> Walker:
    return Walker(schema._schema, VictimAim(world, attacker))


def fast_path_documents(documents: list[Document]) -> list[Document]:
    """The widget's own two documents (hub/fast_intake.py answers them without strawberry)
    with the walk's variables: anonymous callers reach that path."""
    widget = widget_documents()
    out = []
    for doc in documents:
        a = doc.arguments
        if doc.operation == "Mutation.addActionContact" and a.get("contactRef") is None:
            variables = {
                "p": a["actionPageId"],
                "a": a["action"],
                "c": a["contact"],
                "v": a["privacy"],
                "t": a.get("tracking"),
            }
            out.append(Document(doc.operation, widget["M_SIGN"], variables, a))
        elif doc.operation == "Mutation.addAction":
            variables = {
                "p": a["actionPageId"],
                "a": a["action"],
                "r": a["contactRef"],
                "t": a.get("tracking"),
            }
            out.append(Document(doc.operation, widget["M_ACT"], variables, a))
    return out


# --- checking one response ----------------------------------------------------------------------


def strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string of a JSON value (keys too), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key)
            yield from strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*path, str(index)))


def label(world: World, doc: Document) -> str:
    """The document's operation and variables, with every known reference named."""
    shown = json.dumps(doc.arguments, default=str)
    for secret, name in world.secrets_of_others(None).items():
        shown = shown.replace(secret, f"<{name}>")
    return f"{doc.operation} {shown[:400]}"


def forbidden(
    world: World, attacker: Attacker
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(foreign markers, others' references, foreign countries) of this subject, computed once
    per world."""
    key = f"forbidden:{attacker.name}"
    if key not in world.cache:
        org = attacker.org
        world.cache[key] = (
            world.foreign_markers(org),
            world.secrets_of_others(org),
            world.foreign_countries(org),
        )
    found: tuple[dict[str, str], dict[str, str], dict[str, str]] = world.cache[key]
    return found


def check_response(
    world: World, attacker: Attacker, doc: Document, response: httpx.Response
) -> list[str]:
    where = label(world, doc)
    if response.status_code >= 500:
        return [f"{where}: HTTP {response.status_code}"]
    try:
        body = response.json()
    except ValueError:
        return [f"{where}: not JSON ({response.status_code}): {response.text[:200]}"]
    problems = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if error.get("message") == MASKED:
            problems.append(f"{where}: a bug, masked: {error}")
        elif code is None:
            problems.append(f"{where}: the document was refused (walker bug?): {error}")
        elif code not in EXPECTED_CODES:
            problems.append(f"{where}: unexpected error code {code}: {error}")
    problems += check_filter(world, attacker, doc, body.get("data"))
    return problems + check_data(world, attacker, doc, body.get("data"), where)


def check_data(world: World, attacker: Attacker, doc: Document, data: Any, where: str) -> list[str]:
    """No marker the subject may not read, no reference it did not send, anywhere in ``data``."""
    problems = []
    sent = {s for _, s in strings(doc.variables)}
    allowed_secrets = sent | world.paired_referral_codes(sent)
    foreign, hidden, countries = forbidden(world, attacker)
    for path, value in strings(data):
        for marker, source in foreign.items():
            if marker in value and marker not in sent:
                problems.append(f"{where}: leaks {source} at {'.'.join(path)}")
        for secret, source in hidden.items():
            if secret in value and secret not in allowed_secrets:
                problems.append(f"{where}: echoes {source} at {'.'.join(path)}")
        if value in countries and (
            (path[-1:] == ("country",) and "supporterCountries" not in path)
            or (path[-1:] == ("key",) and len(path) >= 3 and path[-3] == "country")
        ):
            problems.append(f"{where}: leaks {countries[value]}.country at {'.'.join(path)}")
    return problems


def check_filter(world: World, attacker: Attacker, doc: Document, data: Any) -> list[str]:
    """A contacts filter on a page or a source matches only through actions the org may see
    in full: it cannot test what a supporter did on another org's page."""
    flt = doc.arguments.get("filter") if doc.operation == "Query.contacts" else None
    nodes = ((data or {}).get("contacts") or {}).get("nodes") or []
    if not flt or not nodes or attacker.org is None:
        return []
    if flt.get("page") is None and flt.get("source") is None:
        return []
    org = attacker.org.id
    names = {o.id: n for n, o in world.orgs.items()}
    by_ref = {
        ref: supporter for (o, supporter), ref in world.contact_refs.items() if o == names[org]
    }
    problems = []
    for node in nodes:
        supporter = by_ref.get(node["ref"])
        seen = [
            s
            for s in world.submissions
            if s.supporter_id == supporter
            and (s.page.org_id == org or (s.lead_opt_in and s.campaign.org_id == org))
        ]
        if flt.get("page") is not None:
            seen = [s for s in seen if s.page.name == flt["page"]]
        if flt.get("source") is not None:
            seen = [s for s in seen if s.markers["source"] == flt["source"]]
        if not seen:
            problems.append(f"{label(world, doc)}: the filter matched {node['ref']}")
    return problems


# --- checking what one request changed ----------------------------------------------------------


def _org_of(change: Change, world: World, pages: dict[int, int]) -> int | None:
    row = change.row
    if change.table == "org":
        return int(row["id"])
    if change.table == "stat_counter":
        return pages.get(int(row["action_page_id"]))
    if "org_id" in row:
        return int(row["org_id"])
    return None


COALITION_TABLES = frozenset({"campaign", "partnership", "action_page"})


def _campaign_of(change: Change) -> int:
    row = change.before if change.before is not None else change.row
    return int(row["id"] if change.table == "campaign" else row["campaign_id"])


def _reached(world: World, page_id: int, ref: str | None) -> tuple[set[int], bool]:
    """(supporters the ref may act for on this page, whether the ref was issued in the
    page's campaign: a ref of another campaign is as unknown there as a made-up one)."""
    page = world.page_by_id(page_id)
    if page is None:
        return set(), False
    known = [
        s for s in world.submissions if s.contact_ref == ref and s.campaign.id == page.campaign_id
    ]
    holders = {
        s.supporter_id
        for s in known
        if s.campaign.id == page.campaign_id and s.page.org_id == page.org_id
    }
    return holders, bool(known)


def _own_message(change: Change, page: Any, person: Callable[[Any], bool]) -> bool:
    """A signature's own messages to its campaign's targets (collected by the page's org),
    and the drip cursor of those targets moving to the slots they took."""
    row, before = change.row, change.before
    if change.table == "target":
        moved = {k for k, v in row.items() if (before or {}).get(k) != v}
        return (
            before is not None
            and moved <= {"last_slot_at"}
            and row["campaign_id"] == page.campaign_id
        )
    return (
        before is None
        and row["org_id"] == page.org_id
        and row["campaign_id"] == page.campaign_id
        and person(row["supporter_id"])
    )


def intake_allows(world: World, doc: Document, change: Change, pages: dict[int, int]) -> bool:
    """What a public submission may change (anyone may sign with any email, DESIGN §5):

    * addActionContact: the copies, consents and deliveries of the orgs that very submission
      entitles (the page's org, the lead with lead opt-in, the delivery org), for the
      supporter of the email it carries; that supporter's row, a new action and contactRef on
      the page; the page's counters; its own anonymous actions linked.
    * addAction / linkActions: an action attached (or linked) to a supporter only when the ref
      was issued on a page of this page's org in this campaign; else an unattached action
      that no counter counts.
    * requestMyErasure: one erasure link mail per supporter of that address, nothing else.
    * requestPasswordReset: one reset mail to the staff member of that address (the link is
      made when the mail is sent, to that address), nothing else.
    """
    a = doc.arguments
    row, before = change.row, change.before
    op = doc.operation
    if op == "Mutation.requestPasswordReset":
        return (
            change.table == "delivery"
            and before is None
            and row["event"] == "password_reset_mail"
            and row["user_id"] in world.users_by_email(str(a["input"]["email"]).lower())
        )
    if op == "Mutation.requestMyErasure":
        email = str(a["input"]["email"]).lower()
        return (
            change.table == "delivery"
            and before is None
            and row["event"] == "erasure_link_mail"
            and row["supporter_id"] in world.supporters_by_email(email)
        )
    page = world.page_by_id(int(a["actionPageId"]))
    if page is None:
        return False
    if op == "Mutation.addActionContact":
        email = str((a.get("contact") or {}).get("email") or "").lower()
        lead_opt_in = (a.get("privacy") or {}).get("leadOptIn") is True
        campaign = world.campaign if page.campaign_id == world.campaign.id else world.campaign2
        entitled = {page.org_id}  # orgs the submission gives a copy
        if lead_opt_in:
            entitled.add(campaign.org_id)
        delivery = world.delivery_org_of(campaign)
        if delivery is not None:
            entitled.add(delivery.id or 0)
        # orgs it records a decision for: also the lead when its box was shown (a refusal)
        decided = entitled | (
            {campaign.org_id} if (a.get("privacy") or {}).get("leadOptIn") is not None else set()
        )
        same_person = {
            s.supporter_id
            for s in world.submissions
            if s.email == email and s.campaign.id == page.campaign_id
        }
        victims = world.victim_supporters()

        def person(supporter: Any) -> bool:
            return supporter in same_person or supporter not in victims

        if change.table == "consent":
            return before is None and row["org_id"] in decided and person(row["supporter_id"])
        if change.table in ("contact", "delivery"):
            fresh = before is None or change.table == "contact"
            return fresh and row["org_id"] in entitled and person(row["supporter_id"])
        if change.table == "supporter":
            return person(int(row["id"]))
        if change.table in ("action", "contact_ref"):
            if before is not None and change.table == "action":  # linking own anonymous actions
                return before["supporter_id"] is None and row["org_id"] == page.org_id
            return (
                before is None and row["action_page_id"] == page.id and person(row["supporter_id"])
            )
        if change.table == "stat_counter":
            return int(row["action_page_id"]) == page.id
        if change.table in ("target_message", "target"):
            return _own_message(change, page, person)
        return False
    ref = a.get("contactRef")
    holders, known = _reached(world, int(a["actionPageId"]), ref)
    if op == "Mutation.addAction":
        if change.table == "action":
            return before is None and (
                row["supporter_id"] is None or row["supporter_id"] in holders
            )
        if change.table == "delivery":
            return (
                before is None and row["org_id"] == page.org_id and row["supporter_id"] in holders
            )
        if change.table == "stat_counter":
            # a known ref that does not reach here must not count (it is stored flagged)
            return int(row["action_page_id"]) == page.id and (bool(holders) or not known)
        if change.table in ("target_message", "target"):
            return _own_message(change, page, holders.__contains__)
        return False
    if op == "Mutation.linkActions":
        return (
            change.table == "action"
            and before is not None
            and before["supporter_id"] is None
            and row["supporter_id"] in holders
            and row["org_id"] == page.org_id
        )
    return False


def check_changes(
    world: World, attacker: Attacker, doc: Document, found: list[Change], pages: dict[int, int]
) -> list[str]:
    """Changes the request made that it had no right to."""
    own = attacker.org.id if attacker.org is not None else None
    victims = world.victim_supporters()
    managed = world.managed_campaigns(attacker.org)
    problems = []
    for change in found:
        row = change.row
        if change.table == "user":
            if change.before is None:
                continue  # a new account (an invitation into one's own org)
        elif change.table in ("supporter",):
            if int(row["id"]) not in victims:
                continue
        elif change.table in aw.SUPPORTER_TABLES:
            touched = {(change.before or {}).get("supporter_id"), row.get("supporter_id")}
            org = row.get("org_id")
            if not touched & victims and (org == own or change.before is None):
                continue
        elif _org_of(change, world, pages) == own and own is not None:
            continue
        elif change.table in COALITION_TABLES and _campaign_of(change) in managed:
            continue  # the lead's and coordinators' powers over their own campaign
        elif change.table in aw.TARGET_TABLES and _campaign_of(change) in managed:
            continue  # mail to target: the same powers (targets, settings, moderation)
        elif (
            change.table == "delivery"
            and change.before is not None
            and world.target_deliveries.get(int(row["id"])) in managed
        ):
            continue  # a held message to their campaign's target, approved or rejected
        if doc.operation in INTAKE and intake_allows(world, doc, change, pages):
            continue
        problems.append(f"{label(world, doc)}: {change.describe()}")
    return problems


# --- running documents through the ASGI app -------------------------------------------------------


async def attacker_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    # a client address of its own: the per-IP limits of one test do not reach another's
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def post(http: httpx.AsyncClient, doc: Document, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/graphql", json={"query": doc.query, "variables": doc.variables}, headers=headers
    )


async def page_orgs(connection: AsyncConnection) -> dict[int, int]:
    rows = await connection.execute(text("SELECT id, org_id FROM action_page"))
    return {int(i): int(o) for i, o in rows.all()}


async def run_walk(
    world: World, attacker: Attacker, app: Any, connection: AsyncConnection
) -> tuple[list[str], int]:
    walker = walker_for(world, attacker)
    documents = walker.all_documents(SKIP.__contains__)
    if attacker.token is None:
        documents += fast_path_documents(documents)
    pages = await page_orgs(connection)
    problems: list[str] = []
    answered: set[str] = set()
    gen = attacker_client(app)
    http = await gen.__anext__()
    # every denial is logged with its traceback: formatting thousands of them is most of the
    # walk's time, and the assertions below say what went wrong
    quiet = logging.getLogger("strawberry.execution")
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        for doc in documents:
            savepoint = await connection.begin_nested()
            before = await snapshot(connection)
            response = await post(http, doc, attacker.token)
            problems += await follow_export(world, attacker, doc, response, http)
            after = await snapshot(connection)
            await savepoint.rollback()
            problems += check_response(world, attacker, doc, response)
            if succeeded(doc, response):
                answered.add(doc.operation)
            problems += check_changes(world, attacker, doc, aw.changes(before, after), pages)
    finally:
        quiet.disabled = was_disabled
        await gen.aclose()
    # the walk is not vacuous: what anyone may do went through, so its rules were exercised
    public = {"Query.actionPage", "Mutation.addActionContact", "Mutation.addAction"}
    if attacker.org is not None:
        public |= {
            "Query.contacts",
            "Query.campaignStats",
            "Mutation.addCampaign",
            "Mutation.exportContacts",
        }
    problems += [f"{op}: no document of the walk succeeded" for op in sorted(public - answered)]
    return problems, len(documents)


async def follow_export(
    world: World, attacker: Attacker, doc: Document, response: httpx.Response, http: Any
) -> list[str]:
    """An export link the walk was given is downloaded and checked like an answer."""
    if doc.operation != "Mutation.exportContacts" or response.status_code != 200:
        return []
    url = (((response.json().get("data") or {}).get("exportContacts")) or {}).get("url")
    if not url:
        return []
    download = await http.get(url)
    where = f"{label(world, doc)} (the export file)"
    if download.status_code != 200:
        return [f"{where}: HTTP {download.status_code}"]
    if doc.arguments["input"].get("format") == "JSONL":
        rows = [json.loads(line) for line in download.text.splitlines() if line]
    else:
        rows = list(csv.DictReader(io.StringIO(download.text)))
    return check_data(world, attacker, doc, {"export": rows}, where)


def succeeded(doc: Document, response: httpx.Response) -> bool:
    """The field answered data: not null, not an error, not an empty list."""
    try:
        body = response.json()
    except ValueError:
        return False
    value = (body.get("data") or {}).get(doc.operation.split(".", 1)[1])
    if isinstance(value, dict):
        return "errors" not in value and value.get("nodes") != []
    return bool(value) and not body.get("errors")


# --- the walk ----------------------------------------------------------------------------------


class TestWalk:
    def test_documents_are_valid_even_with_nested_required_arguments(self) -> None:
        # given a schema whose nested field takes a required argument (as Org.actionPage),
        # and a union whose members type a field differently
        sdl = """
        type Query { org(name: String!): Org, pages(ids: [Int!]): [Page!]!, extra: Extra }
        type Org { name: String!, page(name: String!, locale: String): Page }
        type Page { id: Int!, org: Org, live: Boolean!, owner: Org }
        type Team { id: Int!, live: Boolean, owner: Page }
        union Any = Org | Page | Team
        type Extra { any: [Any!]! }
        type Mutation { touch(id: Int!, what: Any2): Boolean }
        input Any2 { id: Int, filter: PageFilter }
        input PageFilter { name: String, live: Boolean }
        """
        small = build_schema(sdl)
        walker = Walker(small, Aim())
        # when
        documents = walker.all_documents(lambda op: False)
        # then every document validates and declares what it uses
        assert {d.operation for d in documents} == {
            "Query.org",
            "Query.pages",
            "Query.extra",
            "Mutation.touch",
        }
        for doc in documents:
            assert validate(small, parse(doc.query)) == [], doc.query
            assert "n0" in doc.variables or "page(" not in doc.query

    def test_the_skip_list_names_real_operations_with_reasons(self) -> None:
        # given
        operations = schema_operations()
        # then
        assert set(SKIP) <= operations, "stale SKIP entries"
        assert all(reason.strip() for reason in SKIP.values())

    async def test_every_walked_operation_gets_documents(
        self, session: AsyncSession, keyring: Keyring
    ) -> None:
        # given
        world = await build_world(session, keyring)
        walker = walker_for(world, world.attackers[PARTNER])
        # when
        documents = walker.all_documents(SKIP.__contains__)
        # then every operation of the schema is walked or skipped for a reason
        covered = {d.operation for d in documents}
        assert schema_operations() - set(SKIP) - covered == set(), "walk or list these in SKIP"
        assert covered == schema_operations() - set(SKIP)
        assert len(documents) < 1500  # the walk stays bounded

    @pytest.mark.parametrize("subject", SUBJECTS)
    async def test_every_operation_as_attacker(
        self,
        subject: str,
        session: AsyncSession,
        connection: AsyncConnection,
        app: Any,
        keyring: Keyring,
    ) -> None:
        # given
        world = await build_world(session, keyring)
        await session.flush()
        attacker = world.attackers[subject]
        # when
        started = time.monotonic()
        problems, count = await run_walk(world, attacker, app, connection)
        elapsed = time.monotonic() - started
        # then
        print(f"{subject}: {count} documents in {elapsed:.1f}s")
        assert not problems, "\n".join(problems)


# --- the compositions of issue 10 ---------------------------------------------------------------

SIGN = """
mutation($page: Int!, $contact: ContactInput!, $privacy: ConsentInput!, $tracking: TrackingInput,
         $action: ActionInput!) {
  addActionContact(actionPageId: $page, action: $action, contact: $contact, privacy: $privacy,
                   tracking: $tracking) { contactRef firstName referralCode }
}
"""
FOLLOW_UP = """
mutation($page: Int!, $ref: ID!, $type: String!) {
  addAction(actionPageId: $page, action: {actionType: $type}, contactRef: $ref) {
    contactRef referralCode
  }
}
"""
COUNTERS = """
query($id: Int!) {
  actionPage(id: $id) {
    status
    stats { supporterCount actionCount { actionType count } }
    campaign { stats { supporterCount actionCount { actionType count } } }
  }
}
"""
MY_ERASURE = """
mutation($input: RequestMyErasureInput!) {
  requestMyErasure(input: $input) {
    __typename
    ... on RequestMyErasureSuccess { message }
  }
}
"""
CONTACTS = """
query($campaign: String!, $filter: ContactFilter) {
  contacts(campaign: $campaign, filter: $filter) {
    nodes {
      ref email firstName lastName phone scope
      address { country postcode locality street }
      actions { page actionType tracking { source medium campaign } customFields }
    }
  }
}
"""
STATS = """
query($campaign: String!) {
  campaignStats(campaign: $campaign) {
    supporters actions byPartner { org page actions }
    own { source { key actions } country { key actions } }
  }
}
"""
ERASE = """
mutation($input: RequestErasureInput!) {
  requestErasure(input: $input) {
    __typename
    ... on RequestErasureErrors { errors { field code message } }
  }
}
"""
EXPORT = """
mutation($input: ExportContactsInput!) {
  exportContacts(input: $input) {
    __typename
    ... on ExportContactsSuccess { url }
    ... on ExportContactsErrors { errors { field code message } }
  }
}
"""
REMOVE = """
mutation($input: RemovePartnerInput!) {
  removePartner(input: $input) { __typename }
}
"""
ADD_PAGE = """
mutation($input: AddActionPageInput!) {
  addActionPage(input: $input) {
    __typename
    ... on AddActionPageSuccess { page { name } }
    ... on AddActionPageErrors { errors { field code message } }
  }
}
"""
ADD_CAMPAIGN = """
mutation($input: AddCampaignInput!) {
  addCampaign(input: $input) {
    __typename
    ... on AddCampaignSuccess { campaign { id name title goal status qualifiedName } }
    ... on AddCampaignErrors { errors { field code message } }
  }
}
"""
JOIN = """
mutation($input: RequestToJoinInput!) {
  requestToJoin(input: $input) {
    __typename
    ... on RequestToJoinErrors { errors { field code message } }
  }
}
"""
INVITE = """
mutation($input: InviteStaffInput!) {
  inviteStaff(input: $input) {
    __typename
    ... on InviteStaffSuccess { link }
    ... on InviteStaffErrors { errors { code } }
  }
}
"""
_ACCEPT_INPUT = schema._schema.mutation_type.fields["acceptInvitation"].args["input"].type
ACCEPT = f"mutation($input: {_ACCEPT_INPUT}) {{ acceptInvitation(input: $input) {{ __typename }} }}"
CONFIGURE_SSO = """
mutation($input: ConfigureSsoInput!) {
  configureSso(input: $input) {
    __typename
    ... on ConfigureSsoErrors { errors { field code message } }
  }
}
"""
SSO_RETURN = "https://admin.attacker.example/sso"
LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoginSuccess { tokens { accessToken } }
    ... on LoginErrors { errors { code } }
  }
}
"""


def typed_contact(tag: str, email: str, country: str | None = None) -> dict[str, Any]:
    """What the attacker types on a form: its own markers, a victim's email."""
    address: dict[str, Any] = {"locality": f"{tag}town"}
    if country is not None:
        address["country"] = country
    return {
        "firstName": f"{tag}first",
        "lastName": f"{tag}last",
        "email": email,
        "address": address,
    }


def no_marker_of(world: World, body: Any, tags: tuple[str, ...]) -> list[str]:
    """Markers of the submissions ``tags`` found anywhere in ``body``."""
    text_ = json.dumps(body)
    found = []
    for s in world.submissions:
        if s.tag in tags:
            found += [f"{s.tag}.{k}" for k, v in s.markers.items() if k != "email" and v in text_]
            if s.country in [v for p, v in strings(body) if p[-1:] == ("country",)]:
                found.append(f"{s.tag}.country")
    return found


def shape(value: Any) -> Any:
    """A JSON value's shape: keys, types and string lengths (what a script can tell apart)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, str):
        return ("str", len(value))
    return type(value).__name__


async def actions_of(session: AsyncSession, supporter_id: int) -> list[tuple[int, str]]:
    rows = await session.execute(
        text("SELECT action_page_id, action_type FROM action WHERE supporter_id = :s ORDER BY id"),
        {"s": supporter_id},
    )
    return [(int(p), str(t)) for p, t in rows.all()]


async def rows_of_others(connection: AsyncConnection, org_id: int) -> dict[str, Any]:
    """Contact, consent and delivery rows of every org but ``org_id``, as they are now."""
    shot = await snapshot(connection)
    return {
        table: {k: v for k, v in shot[table].items() if v["org_id"] != org_id}
        for table in ("contact", "consent", "delivery")
    }


class TestOracle:
    async def test_a_known_person_answers_like_a_new_one_and_shares_nothing(
        self, session: AsyncSession, gql: Any, keyring: Keyring, app: Any
    ) -> None:
        # given x@ex.org signed on A's page (through the widget API)
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.page is not None
        variables = {
            "action": {"actionType": "signature"},
            "privacy": {"optIn": True},
            "tracking": None,
        }
        person = {**variables, "page": world.page_a.id, "contact": typed_contact("P", "x@ex.org")}
        first = (await gql(SIGN, person))["data"]["addActionContact"]
        # when the attacker signs the same address, and a new one, anonymously on its page
        known = {**variables, "page": x.page.id, "contact": typed_contact("Q", "x@ex.org")}
        new = {**variables, "page": x.page.id, "contact": typed_contact("Q", "new@ex.org")}
        second = (await gql(SIGN, known))["data"]["addActionContact"]
        fresh = (await gql(SIGN, new))["data"]["addActionContact"]
        # and through the widget's fast path
        widget = widget_documents()["M_SIGN"]
        fast_known = await gql(
            widget,
            {"p": x.page.id, "a": variables["action"], "c": known["contact"], "v": {"optIn": True}},
        )
        fast_new = await gql(
            widget,
            {
                "p": x.page.id,
                "a": variables["action"],
                "c": typed_contact("Q", "other@ex.org"),
                "v": {"optIn": True},
            },
        )
        # then the answers share no reference and look alike
        assert {second["contactRef"], second["referralCode"]}.isdisjoint(
            {first["contactRef"], first["referralCode"]}
        )
        fast = fast_known["data"]["addActionContact"]
        assert {fast["contactRef"], fast["referralCode"]}.isdisjoint(
            {first["contactRef"], first["referralCode"], second["contactRef"]}
        )
        assert shape(second) == shape(fresh)
        assert shape(fast_known) == shape(fast_new)
        assert second["firstName"] == "Qfirst"  # what the attacker typed, nothing of the person
        # and the attacker's ref reaches nothing on A's page
        before = await actions_of(session, (await supporter_of(session, first["contactRef"])).id)
        reply = await gql(
            FOLLOW_UP, {"page": world.page_a.id, "ref": second["contactRef"], "type": "share"}
        )
        assert reply["data"]["addAction"]["referralCode"] is None
        after = await actions_of(session, (await supporter_of(session, first["contactRef"])).id)
        assert after == before
        # and asking to be erased answers the same for a known and an unknown address (from an
        # address of its own: the per-IP limit of that operation is the process's)
        gen = attacker_client(app)
        http = await gen.__anext__()
        erase = []
        for email in ("x@ex.org", "nobody-here@ex.org"):
            variables = {"input": {"email": email, "campaign": world.campaign.name}}
            sent = await http.post("/graphql", json={"query": MY_ERASURE, "variables": variables})
            erase.append(sent.json())
        await gen.aclose()
        assert erase[0] == erase[1]
        assert erase[0]["data"]["requestMyErasure"]["__typename"] == "RequestMyErasureSuccess"


class TestRead:
    async def test_partner_sees_only_its_own_page_action_of_a_person(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given V1 signed on A's page (opt-in to A only), then the attacker signs V1's address
        # on its own page with data it typed
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.page is not None
        v1 = world.by_tag("V1")
        typed = {
            "page": x.page.id,
            "action": {"actionType": "signature", "customFields": {"note": "ATKnote"}},
            "contact": typed_contact("ATK", v1.email),
            "privacy": {"optIn": True},
            "tracking": {"source": "ATKsrc", "medium": "ATKmed", "campaign": "ATKutm"},
        }
        assert "errors" not in await gql(SIGN, typed)
        # when
        body = await gql(CONTACTS, {"campaign": world.campaign.name}, token=x.token)
        by_page = await gql(
            CONTACTS,
            {"campaign": world.campaign.name, "filter": {"page": world.page_a.name}},
            token=x.token,
        )
        by_source = await gql(
            CONTACTS,
            {"campaign": world.campaign.name, "filter": {"source": v1.markers["source"]}},
            token=x.token,
        )
        # then the person's node holds the attacker's own submission only
        [node] = [n for n in body["data"]["contacts"]["nodes"] if n["email"] == v1.email]
        assert node["firstName"] == "ATKfirst"
        assert node["actions"] == [
            {
                "page": x.page.name,
                "actionType": "signature",
                "tracking": {"source": "ATKsrc", "medium": "ATKmed", "campaign": "ATKutm"},
                "customFields": {"note": "ATKnote"},
            }
        ]
        assert no_marker_of(world, body, ("V1", "V1C2", "V2", "V3", "V4")) == []
        # and a filter cannot test what the person did on A's page
        assert by_page["data"]["contacts"]["nodes"] == []
        assert by_source["data"]["contacts"]["nodes"] == []

    async def test_own_breakdown_never_shows_a_country_typed_on_another_orgs_page(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given V1 gave country IS on A's page; the attacker signs V1's address on its own
        # page without a country, and a new address with one
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.page is not None
        v1 = world.by_tag("V1")
        base = {
            "page": x.page.id,
            "action": {"actionType": "signature"},
            "privacy": {"optIn": True},
            "tracking": None,
        }
        await gql(SIGN, {**base, "contact": typed_contact("ATK", v1.email)})
        await gql(SIGN, {**base, "contact": typed_contact("ATK", "new@ex.org", country="FR")})
        # when
        stats = (await gql(STATS, {"campaign": world.campaign.name}, token=x.token))["data"]
        # then its breakdown holds what was typed on its own pages only
        countries = {b["key"] for b in stats["campaignStats"]["own"]["country"]}
        assert v1.country not in countries
        assert countries <= {world.by_tag("SX").country, "FR", None}
        assert "FR" in countries


class TestForgedFollowUp:
    async def test_a_victims_ref_reaches_only_the_issuing_orgs_pages_for_a_while(
        self, session: AsyncSession, gql: Any, keyring: Keyring, connection: AsyncConnection
    ) -> None:
        # given V1's contactRef from A's page, known to the attacker
        world = await build_world(session, keyring)
        v1 = world.by_tag("V1")
        x = world.attackers[PARTNER]
        assert x.page is not None
        others = [x.page, world.page_lead, world.pages["k"], world.pages["d"], world.page_a2]

        async def counters() -> dict[int, Any]:
            # (in C2 the ref is as unknown as a made-up one: an anonymous follow-up, which
            # counts there like any other; C's counters are what a forgery would move)
            out = {}
            for page in (world.page_a, world.page_a_b, *others[:-1]):
                out[page.id] = (await gql(COUNTERS, {"id": page.id}))["data"]["actionPage"]
            return out

        before, actions_before = await counters(), await actions_of(session, v1.supporter_id)
        # when the attacker uses it on any other org's page (and in another campaign)
        for i, page in enumerate(others):
            reply = await gql(
                FOLLOW_UP, {"page": page.id, "ref": v1.contact_ref, "type": f"forged{i}"}
            )
            # then the answer is the usual one and reveals nothing
            assert reply["data"]["addAction"] == {
                "contactRef": v1.contact_ref,
                "referralCode": None,
            }
        # then nothing is attached to V1 and no public counter moved
        assert await actions_of(session, v1.supporter_id) == actions_before
        assert await counters() == before

        # when the same ref is used on A's page and on another page of A's
        on_a = await gql(
            FOLLOW_UP, {"page": world.page_a.id, "ref": v1.contact_ref, "type": "mailtarget"}
        )
        on_a_b = await gql(
            FOLLOW_UP, {"page": world.page_a_b.id, "ref": v1.contact_ref, "type": "mailtarget"}
        )
        # then both attach to V1 and count
        assert on_a["data"]["addAction"]["referralCode"] == v1.referral_code
        assert on_a_b["data"]["addAction"]["referralCode"] == v1.referral_code
        attached = await actions_of(session, v1.supporter_id)
        assert attached[len(actions_before) :] == [
            (world.page_a.id, "mailtarget"),
            (world.page_a_b.id, "mailtarget"),
        ]
        after = await counters()
        for page in (world.page_a, world.page_a_b):
            assert {"actionType": "mailtarget", "count": 1} in after[page.id]["stats"][
                "actionCount"
            ]

        # when the ref is older than HUB_CONTACT_REF_TTL_DAYS
        await connection.execute(
            text(
                "UPDATE contact_ref SET created_at = now() - make_interval(days => :d) "
                "WHERE supporter_id = :s"
            ),
            {"d": 31, "s": v1.supporter_id},
        )
        late = await gql(
            FOLLOW_UP, {"page": world.page_a.id, "ref": v1.contact_ref, "type": "late"}
        )
        # then it reaches nothing any more, and counts nothing
        assert late["data"]["addAction"]["referralCode"] is None
        assert await actions_of(session, v1.supporter_id) == attached
        assert await counters() == after


class TestIdempotencyKey:
    async def test_a_reused_key_gives_no_capability_of_someone_elses_signature(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given a person signed on A's page through an integration that sends guessable keys
        world = await build_world(session, keyring)
        base = {
            "page": world.page_a.id,
            "action": {"actionType": "signature"},
            "privacy": {"optIn": True},
            "tracking": None,
        }
        key = {"idempotency-key": "crm-sync-1001"}
        person = await gql(SIGN, {**base, "contact": typed_contact("P", "p@ex.org")}, headers=key)
        supporter = await supporter_of(session, person["data"]["addActionContact"]["contactRef"])
        assert supporter.id is not None
        before = await actions_of(session, supporter.id)
        # when the attacker replays the key with its own address and uses the ref it gets
        replay = await gql(
            SIGN, {**base, "contact": typed_contact("ATK", "atk@ex.org")}, headers=key
        )
        ref = replay["data"]["addActionContact"]["contactRef"]
        follow = await gql(FOLLOW_UP, {"page": world.page_a.id, "ref": ref, "type": "share"})
        # then the ref acts for nobody but the attacker's own address
        assert (
            follow["data"]["addAction"]["referralCode"]
            != person["data"]["addActionContact"]["referralCode"]
        )
        assert await actions_of(session, supporter.id) == before
        # while the person's own retry still gets a capability of their signature
        retry = await gql(SIGN, {**base, "contact": typed_contact("P", "p@ex.org")}, headers=key)
        again = retry["data"]["addActionContact"]["contactRef"]
        await gql(FOLLOW_UP, {"page": world.page_a.id, "ref": again, "type": "share"})
        assert await actions_of(session, supporter.id) == [*before, (world.page_a.id, "share")]


class TestErasure:
    @pytest.mark.parametrize("subject", [DELIVERY, PARTNER])
    async def test_an_org_erases_only_its_own_copy(
        self,
        subject: str,
        session: AsyncSession,
        gql: Any,
        keyring: Keyring,
        connection: AsyncConnection,
    ) -> None:
        # given V1 (A only) and V2 (lead opt-in: L's copy too); V1 also signed on X's page
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.page is not None
        again = aw.submission("V1X", world.by_tag("V1").email, x.page, world.campaign, "IS", False)
        await aw.record(session, world, again)
        await aw.load_contact_refs(session, world)
        attacker = world.attackers[subject]
        assert attacker.org is not None
        assert attacker.org.id is not None
        key = "d" if subject == DELIVERY else "x"
        victims = [world.by_tag("V1")] + ([world.by_tag("V2")] if subject == DELIVERY else [])
        # when it asks to erase with references it cannot hold: A's own, the signature's
        for victim in victims:
            for ref in (world.contact_refs[("a", victim.supporter_id)], victim.contact_ref):
                refused = await gql(
                    ERASE,
                    {"input": {"campaign": world.campaign.name, "contactRef": ref}},
                    token=attacker.token,
                )
                assert refused["data"]["requestErasure"]["errors"][0]["code"] == "NOT_FOUND"
        others = await rows_of_others(connection, attacker.org.id)
        # when it erases with its own reference of each victim (what its contacts list shows)
        for victim in victims:
            own_ref = world.contact_refs[(key, victim.supporter_id)]
            done = await gql(
                ERASE,
                {"input": {"campaign": world.campaign.name, "contactRef": own_ref}},
                token=attacker.token,
            )
            assert done["data"]["requestErasure"]["__typename"] == "RequestErasureSuccess"
        # then its own copies are gone, and A's and L's copies, consents and deliveries are
        # as they were
        assert await rows_of_others(connection, attacker.org.id) == others
        # (a copy is purged at once, or once the org's own tools were told: D has a webhook)
        mine = await session.execute(
            text(
                "SELECT c.disabled_at IS NOT NULL OR EXISTS (SELECT 1 FROM delivery d "
                "WHERE d.org_id = c.org_id AND d.supporter_id = c.supporter_id "
                "AND d.event = 'erasure_requested' AND d.status = 'pending') "
                "FROM contact c WHERE c.org_id = :o AND c.supporter_id = ANY(:s)"
            ),
            {"o": attacker.org.id, "s": [v.supporter_id for v in victims]},
        )
        assert [bool(r) for r in mine.scalars()] == [True] * len(victims)
        seen = await gql(CONTACTS, {"campaign": world.campaign.name}, token=world.a_token)
        emails = {n["email"] for n in seen["data"]["contacts"]["nodes"]}
        assert {v.email for v in victims} <= emails


class TestRemoval:
    async def test_a_removed_partner_keeps_its_data_but_not_its_old_links(
        self, session: AsyncSession, gql: Any, client: httpx.AsyncClient, keyring: Keyring
    ) -> None:
        # given R collected SR on its page and minted an export link
        world = await build_world(session, keyring, remove_partner=False)
        r = world.attackers[REMOVED]
        assert r.page is not None
        sr = world.by_tag("SR")
        export = {"input": {"campaign": world.campaign.name}}
        old = (await gql(EXPORT, export, token=r.token))["data"]["exportContacts"]["url"]
        assert sr.email in (await client.get(old)).text
        # when L removes R from the campaign
        removed = await gql(
            REMOVE,
            {"input": {"campaign": world.campaign.name, "org": world.orgs["r"].name}},
            token=world.lead_token,
        )
        assert removed["data"]["removePartner"]["__typename"] == "RemovePartnerSuccess"
        # then R still reads what it collected on its own pages
        body = await gql(CONTACTS, {"campaign": world.campaign.name}, token=r.token)
        assert [n["email"] for n in body["data"]["contacts"]["nodes"]] == [sr.email]
        # and the link minted before the removal is refused, a new one works
        assert (await client.get(old)).status_code == 403
        new = (await gql(EXPORT, export, token=r.token))["data"]["exportContacts"]["url"]
        fresh = await client.get(new)
        assert fresh.status_code == 200
        assert sr.email in fresh.text
        assert no_marker_of(world, fresh.text, ("V1", "V2", "V3", "SX", "SK", "SD")) == []
        # and its pages are closed, its stats have no per-partner breakdown
        page = (await gql(COUNTERS, {"id": r.page.id}))["data"]["actionPage"]
        assert page["status"] == "CLOSED"
        stats = (await gql(STATS, {"campaign": world.campaign.name}, token=r.token))["data"]
        assert stats["campaignStats"]["byPartner"] is None
        assert stats["campaignStats"]["supporters"] > 0  # campaign totals are for everyone
        signed = await gql(
            SIGN,
            {
                "page": r.page.id,
                "action": {"actionType": "signature"},
                "privacy": {"optIn": True},
                "contact": typed_contact("late", "late@ex.org"),
                "tracking": None,
            },
        )
        assert signed["errors"][0]["extensions"]["code"] == "PAGE_CLOSED"


class TestNames:
    async def test_a_page_name_cannot_claim_another_orgs_prefix(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.org is not None
        # when
        results = {}
        for name in (f"{world.a.name}/petition", f"{world.lead.name}/x", f"{x.org.name}/mine"):
            body = await gql(
                ADD_PAGE,
                {"input": {"campaign": world.campaign.name, "org": x.org.name, "name": name}},
                token=x.token,
            )
            results[name] = body["data"]["addActionPage"]
        # then only its own prefix is accepted
        assert results[f"{world.a.name}/petition"]["errors"][0]["code"] == "INVALID"
        assert results[f"{world.lead.name}/x"]["errors"][0]["code"] == "INVALID"
        assert results[f"{x.org.name}/mine"]["__typename"] == "AddActionPageSuccess"

    async def test_another_tenants_campaign_name_is_free_and_reveals_nothing(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given a new org that knows C's name
        world = await build_world(session, keyring)
        newcomer = await f.make_org(session)
        _, token = await f.make_token(session, newcomer)
        # when it starts a campaign of the same name
        body = await gql(
            ADD_CAMPAIGN,
            {"input": {"org": newcomer.name, "name": world.campaign.name, "title": "Mine"}},
            token=token,
        )
        # then it gets a new campaign in its own name space, and nothing of C
        made = body["data"]["addCampaign"]["campaign"]
        assert made == {
            "id": made["id"],
            "name": world.campaign.name,
            "title": "Mine",
            "goal": None,
            "status": "draft",
            "qualifiedName": f"{newcomer.name}/{world.campaign.name}",
        }
        assert made["id"] != world.campaign.id
        contacts = await gql(CONTACTS, {"campaign": world.campaign.name}, token=token)
        assert contacts["data"]["contacts"] == {"nodes": []}
        stats = (await gql(STATS, {"campaign": world.campaign.name}, token=token))["data"]
        assert stats["campaignStats"]["supporters"] == 0
        qualified = f"{world.lead.name}/{world.campaign.name}"
        for name in (qualified,):
            assert (await gql(CONTACTS, {"campaign": name}, token=token))["data"][
                "contacts"
            ] is None
            assert (await gql(STATS, {"campaign": name}, token=token))["data"][
                "campaignStats"
            ] is None
        # and C's lead still names its own campaign by the bare name
        lead = await gql(STATS, {"campaign": world.campaign.name}, token=world.lead_token)
        assert lead["data"]["campaignStats"]["supporters"] > 0

    async def test_joining_another_tenants_draft_looks_like_joining_nothing(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given another tenant's draft campaign
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.org is not None
        tenant = await f.make_org(session)
        draft = await f.make_campaign(session, tenant, status="draft")
        # when the attacker asks to join it, by bare and qualified name, and a missing one
        answers = []
        for name in (
            draft.name,
            f"{tenant.name}/{draft.name}",
            "no-such-campaign",
            f"{tenant.name}/no-such-campaign",
        ):
            body = await gql(JOIN, {"input": {"campaign": name, "org": x.org.name}}, token=x.token)
            answers.append(body)
        # then every answer is the same NOT_FOUND
        assert answers[0]["data"]["requestToJoin"]["errors"][0]["code"] == "NOT_FOUND"
        assert all(a == answers[0] for a in answers)

    async def test_a_live_page_of_a_draft_campaign_reads_like_a_missing_page(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given another tenant's draft campaign whose lead already launched a page (page ids
        # are sequential: anyone can try them all)
        tenant = await f.make_org(session)
        draft = await f.make_campaign(session, tenant, status="draft", title="Secret plan")
        page = await f.make_page(session, tenant, draft)
        # when
        by_id = await gql(COUNTERS, {"id": page.id})
        missing = await gql(COUNTERS, {"id": -1})
        # then nothing of the draft shows
        assert by_id == missing == {"data": {"actionPage": None}}


class TestOtherLead:
    async def test_the_lead_of_another_campaign_reads_nothing_of_c(
        self, session: AsyncSession, gql: Any, client: httpx.AsyncClient, keyring: Keyring
    ) -> None:
        # given O leads C2, where A is a partner and V1 (lead opt-in) and V4 signed
        world = await build_world(session, keyring)
        o = world.attackers[OTHER_LEAD]
        c_names = (world.campaign.name, f"{world.lead.name}/{world.campaign.name}")
        # when it reads C by every name
        for name in c_names:
            contacts = await gql(CONTACTS, {"campaign": name}, token=o.token)
            stats = await gql(STATS, {"campaign": name}, token=o.token)
            export = await gql(EXPORT, {"input": {"campaign": name}}, token=o.token)
            # then C is not found
            assert contacts["data"]["contacts"] is None
            assert stats["data"]["campaignStats"] is None
            assert export["data"]["exportContacts"]["errors"][0]["code"] == "NOT_FOUND"
        # and in its own campaign it sees the lead opt-in copy and its own signer only
        own = await gql(CONTACTS, {"campaign": world.campaign2.name}, token=o.token)
        nodes = own["data"]["contacts"]["nodes"]
        assert sorted(n["email"] for n in nodes) == sorted(
            [world.by_tag("V1C2").email, world.by_tag("SO").email]
        )
        assert no_marker_of(world, own, ("V1", "V2", "V3", "V4", "SR", "SX", "SK", "SD")) == []
        [v1] = [n for n in nodes if n["email"] == world.by_tag("V1C2").email]
        assert [a["page"] for a in v1["actions"]] == [world.page_a2.name]
        url = (await gql(EXPORT, {"input": {"campaign": world.campaign2.name}}, token=o.token))[
            "data"
        ]["exportContacts"]["url"]
        exported = (await client.get(url)).text
        assert no_marker_of(world, exported, ("V1", "V2", "V3", "V4")) == []
        assert world.by_tag("V4").email not in exported


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdp]:
    """An OpenID provider on 127.0.0.1 that vouches for whatever address it is told."""
    fake = FakeIdp()
    with serve_in_thread(fake.app(), name="attacker-idp") as url:
        fake.issuer = url
        yield fake


class TestInvitation:
    async def test_inviting_another_orgs_staff_member_gives_no_hold_on_their_account(
        self, session: AsyncSession, gql: Any, keyring: Keyring
    ) -> None:
        # given the attacker knows the email of A's owner
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.org is not None
        # when it invites that address into its own org and accepts the invitation itself
        invited = await gql(
            INVITE,
            {"input": {"org": x.org.name, "email": world.a_staff_email, "role": "OWNER"}},
            token=x.token,
        )
        link = invited["data"]["inviteStaff"]["link"]
        token = parse_qs(urlsplit(link).query)["token"][0]
        accepted = await gql(ACCEPT, {"input": {"token": token, "password": "attacker-chosen-1"}})
        # then the answer looks like any accepted invitation, but the password is unchanged
        assert accepted["data"]["acceptInvitation"]["__typename"].endswith("Success")
        as_attacker = await gql(
            LOGIN, {"input": {"email": world.a_staff_email, "password": "attacker-chosen-1"}}
        )
        assert as_attacker["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
        as_owner = await gql(
            LOGIN, {"input": {"email": world.a_staff_email, "password": world.a_staff_password}}
        )
        assert as_owner["data"]["login"]["__typename"] == "LoginSuccess"
        # and a new person invited the same way still chooses their password
        fresh = await gql(
            INVITE,
            {"input": {"org": x.org.name, "email": "new-staff@x.example", "role": "VIEWER"}},
            token=x.token,
        )
        fresh_token = parse_qs(urlsplit(fresh["data"]["inviteStaff"]["link"]).query)["token"][0]
        await gql(ACCEPT, {"input": {"token": fresh_token, "password": "chosen-by-newcomer"}})
        login = await gql(
            LOGIN, {"input": {"email": "new-staff@x.example", "password": "chosen-by-newcomer"}}
        )
        assert login["data"]["login"]["__typename"] == "LoginSuccess"

    async def test_an_orgs_own_identity_provider_cannot_log_in_another_orgs_staff(
        self,
        session: AsyncSession,
        gql: Any,
        client: httpx.AsyncClient,
        keyring: Keyring,
        idp: FakeIdp,
    ) -> None:
        # given the attacker runs its own provider for its org, which vouches for A's owner,
        # and has invited A's owner's address into its org
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.org is not None
        idp.email = world.a_staff_email
        configured = await gql(
            CONFIGURE_SSO,
            {
                "input": {
                    "org": x.org.name,
                    "issuer": idp.issuer,
                    "clientId": idp.client_id,
                    "clientSecret": idp.client_secret,
                    "returnUrls": [SSO_RETURN],
                }
            },
            token=x.token,
        )
        assert configured["data"]["configureSso"]["__typename"] == "ConfigureSsoSuccess"
        invited = await gql(
            INVITE,
            {"input": {"org": x.org.name, "email": world.a_staff_email, "role": "OWNER"}},
            token=x.token,
        )
        assert invited["data"]["inviteStaff"]["__typename"] == "InviteStaffSuccess"
        # when it logs in through its provider as A's owner
        start = await client.get(f"/auth/sso/{x.org.name}/start", params={"returnTo": SSO_RETURN})
        assert start.status_code == 303, start.text
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(start.headers["location"])
        back = urlsplit(at_provider.headers["location"])
        callback = await client.get(f"{back.path}?{back.query}")
        # then no login code, so no session with A's owner's rights
        assert callback.status_code == 403
        assert "#login_code=" not in callback.headers.get("location", "")


class TestDeliveries:
    async def test_every_planned_payload_holds_only_what_its_org_may_see(
        self, session: AsyncSession, gql: Any, keyring: Keyring, connection: AsyncConnection
    ) -> None:
        # given the world's deliveries, and the attacker's own submissions made with the
        # victims' addresses (lead opt-in: L gets that copy) and their refs
        world = await build_world(session, keyring)
        x = world.attackers[PARTNER]
        assert x.page is not None
        for victim in (world.by_tag("V1"), world.by_tag("V3")):
            signed = await gql(
                SIGN,
                {
                    "page": x.page.id,
                    "action": {"actionType": "signature"},
                    "contact": typed_contact("ATK", victim.email),
                    "privacy": {"optIn": True, "leadOptIn": True},
                    "tracking": {"source": "ATKsrc"},
                },
            )
            assert "errors" not in signed
            await gql(FOLLOW_UP, {"page": x.page.id, "ref": victim.contact_ref, "type": "share"})
        jobs = (
            await connection.execute(
                text(
                    "SELECT id, org_id, connector_id, event, action_id, supporter_id, status, "
                    "attempts, idempotency_key FROM delivery WHERE supporter_id IS NOT NULL "
                    "ORDER BY id"
                )
            )
        ).all()

        # when each is built for its org, as the delivery pipeline builds it
        def build_all(sync: Any) -> list[tuple[int, dict[str, Any]]]:
            out = []
            for row in jobs:
                job = DeliveryJob(*row)
                try:
                    out.append(
                        (job.org_id, payload.build(sync, system_scope(job.org_id), keyring, job))
                    )
                except payload.NothingToDeliver:
                    continue
            return out

        built = await connection.run_sync(build_all)
        # then none holds anything its org may not see
        orgs = {o.id: o for o in world.orgs.values()}
        assert {org for org, _ in built} >= {world.a.id, world.lead.id, world.orgs["d"].id}
        problems = []
        for org_id, body in built:
            reader = Attacker(f"org {orgs[org_id].name}", orgs[org_id], None, None)
            # (the victims' addresses the attacker typed are its own submission's data)
            typed = {"typed": [world.by_tag("V1").email, world.by_tag("V3").email]}
            doc = Document("delivery", "", typed, typed)
            problems += check_data(world, reader, doc, body, f"payload for {orgs[org_id].name}")
        assert not problems, "\n".join(problems)
