"""The demo coalition that ``serve --demo`` and ``demo`` load: a lead, two partners, live pages,
and the lead's mail-to-target page writing to three targets (docs/mail-to-target.md).

Loading is idempotent, and what it prints is stable: each org's owner token and staff login
are derived from the instance secret, so restarting the demo neither mints new tokens nor
leaves old ones valid beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.campaigns import repository as campaigns
from orgs.campaigns.service import add_partner, create_campaign
from orgs.crypto import Keyring
from orgs.demo_history import SIGNATURES, seed_history
from orgs.identity.service import create_user, issue_token
from orgs.models import (
    ActionPage,
    Campaign,
    CampaignStatus,
    Org,
    PageStatus,
    PartnerRole,
    StaffRole,
)
from orgs.organisations import repository as organisations
from orgs.organisations.service import create_org
from orgs.pages import repository as pages
from orgs.pages.service import create_page
from orgs.scoping import system_scope
from orgs.targets import service as targets
from orgs.targets.service import EmailInput, TargetInput, TemplateInput
from permissions.roles import ALL_SCOPES

CAMPAIGN = "clean-rivers"
ORGS = (
    ("river-alliance", "River Alliance", "lead", "en"),
    ("friends-of-the-delta", "Friends of the Delta", "coordinator", "fr"),
    ("anglers-united", "Anglers United", "partner", "de"),
)
# The partner that delivers the signatures to the target (DESIGN §5: delivery fields only).
DELIVERY_ORG = "anglers-united"
ACTION_TYPE = "signature"
CONSENT_TEXTS = {
    "current": "2026-11",
    "versions": {
        "2026-11": {
            "optIn": "Yes, {org} may email me about this and related campaigns.",
            "leadOptIn": "Yes, {lead} (who runs this coalition) may email me too.",
        }
    },
}


MTT_PAGE = "email-the-deciders"
MTT_ACTION_TYPE = "mail2target"
# Their addresses go to whatever HUB_SMTP_URL names (a local sink in development).
TARGETS = (
    ("mayor", "Mayor of Riverside", "Riverside", ("mayor@riverside.example.org",), ("750",)),
    (
        "water-board",
        "Chair of the Water Board",
        "Riverside",
        ("chair@waterboard.example.org",),
        ("751",),
    ),
    ("minister", "Minister for the Environment", "Capital", ("minister@gov.example.org",), ("1",)),
)
TEMPLATE = TemplateInput(
    "en",
    "Clean rivers for everyone, {target}",
    "Dear {target},\n\nOur rivers are not safe to swim in. Please act now: fund the clean-up "
    "and stop the sewage spills.\n\nYours sincerely,\n{signer}",
)


@dataclass(frozen=True)
class Login:
    email: str
    password: str


@dataclass(frozen=True)
class DemoOrg:
    org: Org
    role: str
    token: str
    login: Login
    page: ActionPage
    delivery: bool = False
    action_type: str = ACTION_TYPE


@dataclass(frozen=True)
class DemoCoalition:
    campaign: Campaign
    orgs: list[DemoOrg]
    created: bool
    mtt_page: ActionPage | None = None  # the lead's mail-to-target page
    targets: tuple[str, ...] = ()  # its targets' names


def demo_login(keyring: Keyring, org: str) -> Login:
    """The owner login of a demo org (derived from the instance secret: stable)."""
    return Login(f"owner@{org}.example.org", keyring.sign("demo-password", org)[:20])


async def load_demo(
    session: AsyncSession, keyring: Keyring, *, history: int = SIGNATURES
) -> DemoCoalition:
    """Create the demo coalition if absent; its tokens and logins are the same every time.

    A new coalition gets a month of history (``history`` signatures, orgs/demo_history.py).
    """
    lead = await organisations.org_by_name(session, ORGS[0][0])
    campaign = (
        await campaigns.campaign_in_namespace(session, lead.id, CAMPAIGN)
        if lead is not None and lead.id is not None
        else None
    )
    created = campaign is None
    members: list[DemoOrg] = []
    for name, title, role, locale in ORGS:
        org = await organisations.org_by_name(session, name)
        if org is None:
            org = await create_org(
                session,
                name,
                title,
                {"privacy_policy_url": f"https://{name}.example.org/privacy"},
            )
        assert org.id is not None
        if campaign is None:
            campaign = await create_campaign(
                session,
                org,
                CAMPAIGN,
                "Clean rivers for everyone",
                goal=10_000,
                status=CampaignStatus.LIVE,
                consent_texts=CONSENT_TEXTS,
            )
        elif created and role != "lead":
            await add_partner(
                session, campaign, org, role=PartnerRole(role), delivery=name == DELIVERY_ORG
            )
        page = await pages.page_by_name(session, f"{name}/{CAMPAIGN}")
        if page is None:
            page = await create_page(
                session,
                org,
                campaign,
                f"{name}/{CAMPAIGN}",
                locale=locale,
                status=PageStatus.LIVE,
            )
        issued = await issue_token(
            session,
            org.id,
            "demo owner token",
            list(ALL_SCOPES),
            seed=keyring.sign("demo-token", name),
        )
        login = demo_login(keyring, name)
        await create_user(session, login.email, org.id, StaffRole.OWNER, password=login.password)
        members.append(DemoOrg(org, role, issued.plaintext, login, page, name == DELIVERY_ORG))
    assert campaign is not None
    if created and history:
        await seed_history(
            session,
            keyring,
            [(m.page, m.page.locale) for m in members],
            signatures=history,
            failing_org_id=next(m.org.id for m in members if m.delivery),
        )
    page, names = await _mail_to_target(session, members[0].org, campaign)
    return DemoCoalition(campaign, members, created, page, names)


async def _mail_to_target(
    session: AsyncSession, lead: Org, campaign: Campaign
) -> tuple[ActionPage, tuple[str, ...]]:
    """The lead's mail-to-target page and its three targets (created once, kept after)."""
    name = f"{lead.name}/{MTT_PAGE}"
    page = await pages.page_by_name(session, name)
    if page is not None:
        return page, tuple(t[1] for t in TARGETS)
    page = await create_page(
        session,
        lead,
        campaign,
        name,
        config={"actionType": MTT_ACTION_TYPE, "heading": "Email the people who decide"},
        status=PageStatus.LIVE,
    )
    assert lead.id is not None
    assert campaign.id is not None
    scope = system_scope(lead.id)
    await targets.upsert_targets(
        session,
        scope,
        campaign.id,
        [
            TargetInput(
                external_id=external_id,
                name=title,
                area=area,
                locale="en",
                emails=[EmailInput(e) for e in emails],
                postcodes=list(postcodes),
            )
            for external_id, title, area, emails, postcodes in TARGETS
        ],
    )
    await targets.update_settings(session, scope, campaign.id, templates=[TEMPLATE])
    return page, tuple(t[1] for t in TARGETS)
