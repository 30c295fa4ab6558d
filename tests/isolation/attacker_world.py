"""The attacker suite's world (issue 10): a coalition, its victims, and six attacker subjects.

Campaign C is led by L; A is the victims' partner org. Every victim signs through the real
intake (orgs/intake/service.py) with a unique marker in every field, so a response can be
searched for anything it must not contain. The attackers each hold an owner-level API token
of their own org: a partner X, a coordinator K, the delivery org D, the lead O of another
campaign C2 (in which A is a partner too), a partner R removed from C after collecting
signatures of its own; plus anonymous.

What each org may see is computed here from DESIGN §5 on its own (never by calling
orgs/scoping.py), so a bug in the product's rule cannot hide itself in the test.
"""

from __future__ import annotations

import base64
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from orgs.campaigns import coalition
from orgs.crypto import Keyring
from orgs.intake import service
from orgs.intake.service import IntakeOptions, Receipt
from orgs.models import (
    ActionPage,
    Campaign,
    Connector,
    Contact,
    DeliveryStatus,
    Org,
    PartnerRole,
    StaffRole,
    Supporter,
)
from orgs.scoping import system_scope
from tests import factories as f
from tests.coalition.helpers import supporter_of

# Contact fields (payload names) and what the delivery org receives of them (DESIGN §5, 3:
# first/last name, country, postcode, locality). Country is checked structurally (a two
# letter code is no searchable marker).
CONTACT_MARKERS = (
    "firstName",
    "lastName",
    "email",
    "phone",
    "birthDate",
    "postcode",
    "locality",
    "region",
    "street",
    "streetNumber",
)
DELIVERY_MARKERS = frozenset({"firstName", "lastName", "postcode", "locality"})
# Action details: only the page's org and an org the action's consent gave its copy.
ACTION_MARKERS = ("comment", "source", "medium", "utmCampaign", "content", "location")

ANONYMOUS = "anonymous"
PARTNER = "partner"
COORDINATOR = "coordinator"
DELIVERY = "delivery"
OTHER_LEAD = "other-lead"
REMOVED = "removed"
SUBJECTS = (PARTNER, COORDINATOR, DELIVERY, OTHER_LEAD, REMOVED, ANONYMOUS)


def _hex(n: int = 10) -> str:
    return secrets.token_hex(n // 2 + 1)[:n]


def unique_phone() -> str:
    """A valid French mobile number no other submission uses (E.164, as stored)."""
    while True:
        number = "+336" + "".join(random.choice("0123456789") for _ in range(8))
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed):
            return number


@dataclass
class Submission:
    """One signature and the markers it typed; ``receipt`` is what the widget got back."""

    tag: str
    email: str
    country: str
    page: ActionPage
    campaign: Campaign
    lead_opt_in: bool
    markers: dict[str, str]
    receipt: Receipt | None = None
    supporter_id: int = 0

    @property
    def contact_ref(self) -> str:
        assert self.receipt is not None
        return self.receipt.contact_ref

    @property
    def referral_code(self) -> str:
        assert self.receipt is not None
        assert self.receipt.referral_code is not None
        return self.receipt.referral_code


def submission(
    tag: str, email: str, page: ActionPage, campaign: Campaign, country: str, lead_opt_in: bool
) -> Submission:
    low = f"{tag}{_hex()}".lower()
    markers = {
        "firstName": f"{tag}First{_hex()}",
        "lastName": f"{tag}Last{_hex()}",
        "email": email,
        "phone": unique_phone(),
        "birthDate": f"19{random.randint(30, 89)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}",
        "postcode": f"P{_hex(8)}".upper(),
        "locality": f"{tag}Town{_hex()}",
        "region": f"{tag}Region{_hex()}",
        "street": f"{tag}Street{_hex()}",
        "streetNumber": f"N{_hex(8)}",
        "comment": f"{tag}Comment{_hex()}",
        "source": f"{low}src",
        "medium": f"{tag}Medium{_hex()}",
        "utmCampaign": f"{tag}Utm{_hex()}",
        "content": f"{tag}Content{_hex()}",
        "location": f"https://{low}.example.org/where",
    }
    return Submission(tag, email, country, page, campaign, lead_opt_in, markers)


@dataclass
class Attacker:
    """One attacker subject: its org (None: anonymous), token and own live page."""

    name: str
    org: Org | None
    token: str | None
    page: ActionPage | None


@dataclass
class World:
    keyring: Keyring
    lead: Org
    a: Org
    campaign: Campaign
    campaign2: Campaign
    page_a: ActionPage
    page_a_b: ActionPage  # another page of A in C
    page_a2: ActionPage  # A's page in C2
    page_lead: ActionPage
    pages: dict[str, ActionPage]
    orgs: dict[str, Org]
    attackers: dict[str, Attacker]
    lead_token: str
    a_token: str
    a_token_id: int
    a_staff_email: str
    a_staff_user_id: int
    a_staff_password: str
    connectors: dict[str, Connector]
    a_delivery_ids: list[int]
    submissions: list[Submission] = field(default_factory=list)
    anonymous_ref: str = ""  # the victim's pre-signature follow-up reference (linked)
    contact_refs: dict[tuple[str, int], str] = field(default_factory=dict)  # (org, supp) -> ref
    cache: dict[str, Any] = field(default_factory=dict)  # what the checks derive once
    # mail to target: each campaign's target (external id), the values only its managers may
    # read (the target's address, the words of a held message: value -> (campaign id, what)),
    # and the outbox rows of messages to targets by campaign
    targets: dict[int, str] = field(default_factory=dict)
    target_markers: dict[str, tuple[int, str]] = field(default_factory=dict)
    target_deliveries: dict[int, int] = field(default_factory=dict)
    held_messages: list[int] = field(default_factory=list)

    # --- what each subject may see (DESIGN §5, computed independently) ----------------------

    def delivery_org_of(self, campaign: Campaign) -> Org | None:
        return self.orgs["d"] if campaign.id == self.campaign.id else None

    def full_copies(self, s: Submission) -> set[int]:
        """Orgs this signature gives a full copy: its page's org, the lead with lead opt-in."""
        orgs = {s.page.org_id}
        if s.lead_opt_in:
            orgs.add(s.campaign.org_id)
        return orgs

    def allowed_markers(self, org: Org | None) -> set[str]:
        """Marker values ``org`` may legitimately read somewhere (a superset is harmless)."""
        if org is None:
            return set()
        out: set[str] = set()
        for s in self.submissions:
            full = org.id in self.full_copies(s)
            delivery = self.delivery_org_of(s.campaign)
            if full:
                out |= {s.markers[k] for k in CONTACT_MARKERS}
                out |= {s.markers[k] for k in ACTION_MARKERS}
            elif delivery is not None and delivery.id == org.id:
                out |= {s.markers[k] for k in DELIVERY_MARKERS}
        return out

    def allowed_countries(self, org: Org | None) -> set[str]:
        if org is None:
            return set()
        out = set()
        for s in self.submissions:
            delivery = self.delivery_org_of(s.campaign)
            if org.id in self.full_copies(s) or (delivery is not None and delivery.id == org.id):
                out.add(s.country)
        return out

    def managed_campaigns(self, org: Org | None) -> set[int]:
        """Campaigns ``org`` leads or coordinates (it may change their partnerships, pages)."""
        out = set()
        if org is not None and org.id == self.orgs["o"].id:
            out.add(self.campaign2.id or 0)
        if org is not None and org.id == self.orgs["k"].id:
            out.add(self.campaign.id or 0)
        return out

    def all_markers(self) -> set[str]:
        return {v for s in self.submissions for v in s.markers.values()}

    def foreign_markers(self, org: Org | None) -> dict[str, str]:
        """Marker value -> where it comes from, for every value ``org`` must never read."""
        allowed = self.allowed_markers(org)
        managed = self.managed_campaigns(org)
        found = {
            v: f"{s.tag}.{k}"
            for s in self.submissions
            for k, v in s.markers.items()
            if v not in allowed
        }
        found.update(
            {
                v: what
                for v, (campaign, what) in self.target_markers.items()
                if campaign not in managed
            }
        )
        return found

    def foreign_countries(self, org: Org | None) -> dict[str, str]:
        allowed = self.allowed_countries(org)
        return {s.country: s.tag for s in self.submissions if s.country not in allowed}

    def secrets_of_others(self, org: Org | None) -> dict[str, str]:
        """contactRefs, referral codes and other orgs' Contact.refs: never echoed unasked."""
        out: dict[str, str] = {}
        for s in self.submissions:
            out[s.contact_ref] = f"{s.tag}.contactRef"
            out[s.referral_code] = f"{s.tag}.referralCode"
        out[self.anonymous_ref] = "anonymous ref"
        for (org_name, supporter_id), ref in self.contact_refs.items():
            if org is None or self.orgs[org_name].id != org.id:
                out[ref] = f"{org_name}.Contact.ref(supporter {supporter_id})"
        return out

    def paired_referral_codes(self, sent: set[str]) -> set[str]:
        """The referral code of each contactRef the caller sent: the holder of a ref may get
        its own submission's code back (addAction on the issuing org's pages)."""
        return {s.referral_code for s in self.submissions if s.contact_ref in sent}

    def victim_supporters(self) -> set[int]:
        return {s.supporter_id for s in self.submissions}

    def users_by_email(self, email: str) -> set[int]:
        """The hub's users with this address (the world has one: A's owner)."""
        return {self.a_staff_user_id} if email.lower() == self.a_staff_email.lower() else set()

    def supporters_by_email(self, email: str) -> set[int]:
        return {s.supporter_id for s in self.submissions if s.email == email.lower()}

    def by_tag(self, tag: str) -> Submission:
        return next(s for s in self.submissions if s.tag == tag)

    def org_of_page(self, page_id: int) -> int | None:
        for page in self.pages.values():
            if page.id == page_id:
                return page.org_id
        return None

    def page_by_id(self, page_id: int) -> ActionPage | None:
        return next((p for p in self.pages.values() if p.id == page_id), None)


async def sign_as(
    conn: AsyncConnection,
    world_keyring: Keyring,
    s: Submission,
    *,
    opt_in: bool = True,
    show_lead_box: bool = True,
    contact_ref: str | None = None,
) -> Receipt:
    """``s`` signs on its page through the real intake service with all its markers."""
    m = s.markers
    assert s.page.id is not None
    return await service.add_action_contact(
        conn,
        IntakeOptions(keyring=world_keyring, window_seconds=0),
        s.page.id,
        action={"actionType": "signature", "customFields": {"comment": m["comment"]}},
        contact={
            "firstName": m["firstName"],
            "lastName": m["lastName"],
            "email": s.email,
            "phone": m["phone"],
            "birthDate": m["birthDate"],
            "address": {
                "country": s.country,
                "postcode": m["postcode"],
                "locality": m["locality"],
                "region": m["region"],
                "street": m["street"],
                "streetNumber": m["streetNumber"],
            },
        },
        privacy={"optIn": opt_in, "leadOptIn": s.lead_opt_in if show_lead_box else None},
        tracking={
            "source": m["source"],
            "medium": m["medium"],
            "campaign": m["utmCampaign"],
            "content": m["content"],
            "location": m["location"],
        },
        contact_ref=contact_ref,
    )


async def record(session: AsyncSession, world: World, s: Submission, **kw: Any) -> Submission:
    conn = await session.connection()
    s.receipt = await sign_as(conn, world.keyring, s, **kw)
    s.supporter_id = (await supporter_of(session, s.contact_ref)).id or 0
    world.submissions.append(s)
    return s


async def load_contact_refs(session: AsyncSession, world: World) -> None:
    """Every org's own reference for every world supporter (what its contacts list shows)."""
    names = {o.id: n for n, o in world.orgs.items()}
    rows = await session.execute(
        select(col(Contact.org_id), col(Contact.supporter_id), col(Contact.ref)).where(
            col(Contact.supporter_id).in_(sorted(world.victim_supporters()))
        )
    )
    world.contact_refs = {(names[o], s): r for o, s, r in rows.all()}


def contacts_cursor(contact_id: int) -> str:
    return base64.urlsafe_b64encode(f"contact:{contact_id}".encode()).decode()


async def build_world(
    session: AsyncSession, keyring: Keyring, *, remove_partner: bool = True
) -> World:
    """The world of issue 10 (module docstring). ``remove_partner=False`` leaves R active, for
    a test that mints an export link before the removal."""
    tag = _hex(6)
    names = {
        "l": f"atk-l-{tag}",
        "a": f"atk-a-{tag}",
        "x": f"atk-x-{tag}",
        "k": f"atk-k-{tag}",
        "d": f"atk-d-{tag}",
        "o": f"atk-o-{tag}",
        "r": f"atk-r-{tag}",
    }
    orgs = {key: await f.make_org(session, name) for key, name in names.items()}
    lead, a = orgs["l"], orgs["a"]
    campaign = await f.make_campaign(session, lead, f"coalition-{tag}")
    await f.make_partnership(session, campaign, a)
    await f.make_partnership(session, campaign, orgs["x"])
    await f.make_partnership(session, campaign, orgs["k"], role=PartnerRole.COORDINATOR)
    await f.make_partnership(session, campaign, orgs["d"], delivery=True)
    await f.make_partnership(session, campaign, orgs["r"])
    campaign2 = await f.make_campaign(session, orgs["o"], f"other-{tag}")
    await f.make_partnership(session, campaign2, a)
    pages = {
        "l": await f.make_page(session, lead, campaign, f"{lead.name}/main"),
        "a": await f.make_page(session, a, campaign, f"{a.name}/main"),
        "a_b": await f.make_page(session, a, campaign, f"{a.name}/second"),
        "x": await f.make_page(session, orgs["x"], campaign, f"{orgs['x'].name}/main"),
        "k": await f.make_page(session, orgs["k"], campaign, f"{orgs['k'].name}/main"),
        "d": await f.make_page(session, orgs["d"], campaign, f"{orgs['d'].name}/main"),
        "r": await f.make_page(session, orgs["r"], campaign, f"{orgs['r'].name}/main"),
        "o": await f.make_page(session, orgs["o"], campaign2, f"{orgs['o'].name}/main"),
        "a2": await f.make_page(session, a, campaign2, f"{a.name}/other"),
    }
    connectors = {
        key: await f.make_connector(session, orgs[key], config={"url": f"https://{key}.example/h"})
        for key in ("a", "l", "d")
    }
    failed = await f.make_delivery(
        session, a, connectors["a"], status=DeliveryStatus.FAILED.value, attempts=5
    )
    staff_password = "a-owner-password-" + _hex()
    a_staff = await f.make_user(session, f"owner-{tag}@a.example.org", staff_password)
    await f.make_staffer(session, a, a_staff, StaffRole.OWNER)
    a_token_row, a_token = await f.make_token(session, a)
    _, lead_token = await f.make_token(session, lead)
    attackers = {ANONYMOUS: Attacker(ANONYMOUS, None, None, None)}
    for subject, key in (
        (PARTNER, "x"),
        (COORDINATOR, "k"),
        (DELIVERY, "d"),
        (OTHER_LEAD, "o"),
        (REMOVED, "r"),
    ):
        _, token = await f.make_token(session, orgs[key])
        attackers[subject] = Attacker(subject, orgs[key], token, pages[key])
    assert failed.id is not None
    assert a_token_row.id is not None
    assert a_staff.id is not None
    world = World(
        keyring=keyring,
        lead=lead,
        a=a,
        campaign=campaign,
        campaign2=campaign2,
        page_a=pages["a"],
        page_a_b=pages["a_b"],
        page_a2=pages["a2"],
        page_lead=pages["l"],
        pages=pages,
        orgs=orgs,
        attackers=attackers,
        lead_token=lead_token,
        a_token=a_token,
        a_token_id=a_token_row.id,
        a_staff_email=a_staff.email,
        a_staff_user_id=a_staff.id,
        a_staff_password=staff_password,
        connectors=connectors,
        a_delivery_ids=[failed.id],
    )
    await session.flush()

    # the removed partner's own signer, collected before its removal
    await record(
        session,
        world,
        submission("SR", f"sr-{tag}@r.example.net", pages["r"], campaign, "AL", False),
    )
    if remove_partner:
        await remove(session, world)

    # victim 1: an anonymous share first, then the signature on A's page linking it; opt-in
    # to A only
    conn = await session.connection()
    world.anonymous_ref = secrets.token_urlsafe(12)
    assert pages["a"].id is not None
    await service.add_action(
        conn,
        IntakeOptions(keyring=keyring, window_seconds=0),
        pages["a"].id,
        action={"actionType": "share"},
        contact_ref=world.anonymous_ref,
    )
    v1 = f"v1-{tag}@victims.example.net"
    await record(
        session,
        world,
        submission("V1", v1, pages["a"], campaign, "IS", False),
        contact_ref=world.anonymous_ref,
    )
    # victim 2: lead opt-in on A's page (L holds a full copy)
    v2 = f"v2-{tag}@victims.example.net"
    await record(session, world, submission("V2", v2, pages["a"], campaign, "LI", True))
    # victim 3: on L's own page
    v3 = f"v3-{tag}@victims.example.net"
    await record(session, world, submission("V3", v3, pages["l"], campaign, "MC", False))
    # in C2 (led by O): victim 1 again with lead opt-in (O holds that copy), victim 4 without
    await record(session, world, submission("V1C2", v1, pages["a2"], campaign2, "AD", True))
    v4 = f"v4-{tag}@victims.example.net"
    await record(session, world, submission("V4", v4, pages["a2"], campaign2, "SM", False))
    # each attacker org's own signer (its own data, which it may read)
    for key, country in (("x", "MK"), ("k", "ME"), ("d", "RS"), ("o", "BA")):
        page = pages[key]
        camp = campaign2 if key == "o" else campaign
        email = f"s{key}-{tag}@own.example.net"
        await record(
            session, world, submission(f"S{key.upper()}", email, page, camp, country, False)
        )
    await load_contact_refs(session, world)
    await _mail_to_target(session, world, tag)
    await session.flush()
    return world


async def _mail_to_target(session: AsyncSession, world: World, tag: str) -> None:
    """A target in each campaign with a marker address, and in C a message V1 wrote on A's
    page, held for moderation, with marker words: only each campaign's managers read them."""
    for campaign, key in ((world.campaign, "C"), (world.campaign2, "C2")):
        assert campaign.id is not None
        address = f"target-{key.lower()}-{tag}@targets.example.org"
        target = await f.make_target(
            session, campaign, f"target-{key.lower()}-{tag}", emails=[address]
        )
        await f.make_mail_to_target(session, campaign)
        world.targets[campaign.id] = target.external_id
        world.target_markers[address] = (campaign.id, f"{key}.target.email")
        if key == "C":
            v1 = world.by_tag("V1")
            supporter = await session.get(Supporter, v1.supporter_id)
            assert supporter is not None
            words = {"subject": f"MTTSUBJ{_hex()}", "body": f"MTTBODY{_hex()}"}
            held = await f.make_target_message(
                session, target, supporter, world.page_a, world.keyring, words=words
            )
            assert held.delivery_id is not None
            assert held.id is not None
            world.target_deliveries[held.delivery_id] = campaign.id
            world.held_messages.append(held.id)
            for name, value in words.items():
                world.target_markers[value] = (campaign.id, f"V1.message.{name}")


async def remove(session: AsyncSession, world: World) -> None:
    """L removes R from C through the coalition service (its pages close)."""
    assert world.lead.id is not None
    await coalition.remove_partner(
        session, system_scope(world.lead.id), world.campaign.name, world.orgs["r"].name
    )
    await session.flush()


# --- row snapshots: what a request changed ----------------------------------------------------

#: Tables whose rows an attacker must not change unless they are its own org's (org_id), or
#: the world's supporters' (supporter_id): personal data, credentials, the coalition.
ORG_TABLES = (
    "contact",
    "consent",
    "delivery",
    "connector",
    "api_token",
    "staffer",
    "audit_event",
    "partnership",
    "action_page",
    "campaign",
)
SUPPORTER_TABLES = ("action", "contact_ref")
#: Campaign data of mail to target: changed only by the campaign's lead and coordinators (and
#: a signature's own messages, and the drip cursor their slots move).
TARGET_TABLES = ("target", "target_email", "target_message", "mail_to_target")
SNAPSHOT_TABLES = (
    *ORG_TABLES,
    *SUPPORTER_TABLES,
    "supporter",
    "org",
    "user",
    "stat_counter",
    *TARGET_TABLES,
)

_KEYS = {"stat_counter": "t.action_page_id || ':' || t.metric", "mail_to_target": "t.campaign_id"}
# an address's campaign comes with it (the checks judge changes by campaign)
_SOURCES = {
    "target_email": "(SELECT e.*, g.campaign_id FROM target_email e "
    "JOIN target g ON g.id = e.target_id)"
}


def _source(table: str) -> str:
    return _SOURCES.get(table, f'"{table}"')


_SNAPSHOT = text(
    "SELECT json_build_object("
    + ", ".join(
        f"'{t}', (SELECT coalesce(json_object_agg({_KEYS.get(t, 't.id')}, row_to_json(t)), "
        f"'{{}}') FROM {_source(t)} t)"
        for t in SNAPSHOT_TABLES
    )
    + ")"
)

Snapshot = dict[str, dict[str, dict[str, Any]]]


async def snapshot(conn: AsyncConnection) -> Snapshot:
    """Every row of the watched tables, by table and id (the world is small)."""
    value: Snapshot = (await conn.execute(_SNAPSHOT)).scalar_one()
    return value


@dataclass(frozen=True)
class Change:
    table: str
    id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def row(self) -> dict[str, Any]:
        found = self.after if self.after is not None else self.before
        assert found is not None
        return found

    def describe(self) -> str:
        kind = "added" if self.before is None else "removed" if self.after is None else "changed"
        if self.before is not None and self.after is not None:
            diff = {
                k: (self.before.get(k), v) for k, v in self.after.items() if self.before.get(k) != v
            }
            return f"{self.table}#{self.id} {kind} {diff}"
        return f"{self.table}#{self.id} {kind} {self.row}"


def changes(before: Snapshot, after: Snapshot) -> list[Change]:
    out = []
    for table in SNAPSHOT_TABLES:
        old, new = before.get(table) or {}, after.get(table) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                out.append(Change(table, key, old.get(key), new.get(key)))
    return out
