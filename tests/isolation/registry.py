"""Every operation in the schema, with how the isolation matrix calls it and who may succeed.

Other streams add their operations with :func:`register`, at the end of this module (one
block per stream). The matrix fails when the schema has an operation this registry does not
list, or lists one the schema no longer has.

A spec names the GraphQL ``document``, builds its ``variables`` from the matrix's
:class:`World`, and says which subjects succeed (``allowed``) in a given consent state.
``document=None`` lists an operation covered elsewhere (give the test in ``covered_by``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Subjects, by name. "lead:<role>" are staff of the lead org, "lead-token:<scope>" its tokens.
STAFF_ROLES = ("owner", "campaign_manager", "data_manager", "integrator", "viewer")
TOKEN_SCOPES = (
    "stats:read",
    "campaigns:read",
    "campaigns:write",
    "pages:write",
    "partners:write",
    "contacts:read",
    "contacts:export",
    "signatures:write",
    "connectors:write",
    "tokens:write",
    "staff:write",
    "org:write",
    "audit:read",
)
ANONYMOUS = "anonymous"
PAGE_ORG_OWNER = "page-org:owner"  # partner A, whose page collected the signature
OTHER_PARTNER = "other-partner:owner"  # partner B
OUTSIDER = "outsider:owner"  # an org outside the coalition
SUBJECTS: tuple[str, ...] = (
    ANONYMOUS,
    *(f"lead:{r}" for r in STAFF_ROLES),
    *(f"lead-token:{s}" for s in TOKEN_SCOPES),
    PAGE_ORG_OWNER,
    OTHER_PARTNER,
    OUTSIDER,
)
USERS = frozenset(s for s in SUBJECTS if s.endswith(tuple(STAFF_ROLES)) and "token" not in s)


@dataclass(frozen=True)
class ConsentState:
    page_org_opt_in: bool = True
    lead_opt_in: bool = False
    lead_delivers: bool = False

    @property
    def label(self) -> str:
        return (
            f"page-opt-in={'y' if self.page_org_opt_in else 'n'},"
            f"lead-opt-in={'y' if self.lead_opt_in else 'n'},"
            f"lead-delivers={'y' if self.lead_delivers else 'n'}"
        )


CONSENT_STATES = tuple(
    ConsentState(p, lo, d) for p in (True, False) for lo in (True, False) for d in (True, False)
)
DEFAULT_STATE = ConsentState()


@dataclass
class World:
    """Names of the objects the matrix builds (see test_matrix.build_world)."""

    campaign: str
    lead: str
    page_org: str
    other_partner: str
    outsider: str
    requested: str
    invited: str
    lead_live_page: str
    lead_draft_page: str
    partner_requested_page: str
    target: str = ""  # a target of the campaign (mail to target), by external id
    held_message: int = 0  # a message to it held for moderation


Allowed = Callable[[str, ConsentState], bool]


def lead_with(*grants: str) -> Allowed:
    """Lead-org staff whose role, or lead tokens whose scope, is in ``grants``."""
    roles = {g for g in grants if ":" not in g}
    scopes = {g for g in grants if ":" in g}

    def allowed(subject: str, state: ConsentState) -> bool:
        kind, _, what = subject.partition(":")
        return (kind == "lead" and what in roles) or (kind == "lead-token" and what in scopes)

    return allowed


def only(*subjects: str) -> Allowed:
    return lambda subject, state: subject in subjects


def nobody(subject: str, state: ConsentState) -> bool:
    return False


def everyone(subject: str, state: ConsentState) -> bool:
    return True


@dataclass(frozen=True)
class Operation:
    document: str | None
    variables: Callable[[World], dict[str, Any]] = field(default=lambda w: {})
    allowed: Allowed = nobody
    personal_data: bool = False  # run in every consent state
    covered_by: str | None = None


OPERATIONS: dict[str, Operation] = {}


def register(name: str, operation: Operation) -> None:
    """List ``Query.<field>`` or ``Mutation.<field>`` for the isolation matrix."""
    OPERATIONS[name] = operation


def _mutation(op: str, selection: str = "__typename") -> str:
    field_name = op[0].lower() + op[1:]
    return (
        f"mutation($input: {op}Input!) {{ {field_name}(input: $input) {{ __typename "
        f"... on {op}Errors {{ errors {{ field code message }} }} }} }}"
    )


def _lead_mutation(op: str, scope: str, inputs: Callable[[World], dict[str, Any]]) -> None:
    register(
        "Mutation." + op[0].lower() + op[1:],
        Operation(
            document=_mutation(op),
            variables=lambda w: {"input": inputs(w)},
            allowed=lead_with("owner", "campaign_manager", scope),
        ),
    )


# --- federation and foundation reads ------------------------------------------------------
register("Query._service", Operation(document="{ _service { sdl } }", allowed=everyone))
register(
    "Query._entities",
    Operation(
        document=None,
        covered_by="tests/foundation/test_federation.py (members' entities use the scope); "
        "tests/federation/test_entities.py (the public page entity, hostile representations)",
    ),
)
register(
    "Query.actionPage",
    Operation(
        document="query($name: String) { actionPage(name: $name) { name } }",
        variables=lambda w: {"name": w.lead_live_page},
        allowed=everyone,  # the public widget read
    ),
)
register(
    "Query.currentUser",
    Operation(document="{ currentUser { email } }", allowed=lambda s, c: s in USERS),
)
register(
    "Query.org",
    Operation(
        document="query($name: String!) { org(name: $name) { name } }",
        variables=lambda w: {"name": w.lead},
        allowed=lambda s, c: s.startswith(("lead:", "lead-token:")),
    ),
)

# --- personal data ------------------------------------------------------------------------
CONTACTS = """
query($campaign: String!) {
  contacts(campaign: $campaign) { nodes { ref scope email firstName consents { given } } }
}
"""


def _contacts_allowed(subject: str, state: ConsentState) -> bool:
    readers = lead_with("owner", "data_manager", "contacts:read")
    if subject == PAGE_ORG_OWNER:
        return True  # the page's org collected the data
    return readers(subject, state) and (state.lead_opt_in or state.lead_delivers)


register(
    "Query.contacts",
    Operation(
        document=CONTACTS,
        variables=lambda w: {"campaign": w.campaign},
        allowed=_contacts_allowed,
        personal_data=True,
    ),
)

# --- coalition lifecycle ------------------------------------------------------------------
_lead_mutation(
    "AddCampaign",
    "campaigns:write",
    lambda w: {"org": w.lead, "name": "matrix-new", "title": "New"},
)
_lead_mutation("UpdateCampaign", "campaigns:write", lambda w: {"campaign": w.campaign, "goal": 5})
_lead_mutation("CloseCampaign", "campaigns:write", lambda w: {"campaign": w.campaign})
_lead_mutation(
    "TransferLead", "partners:write", lambda w: {"campaign": w.campaign, "org": w.page_org}
)
_lead_mutation(
    "InvitePartner", "partners:write", lambda w: {"campaign": w.campaign, "org": w.outsider}
)
_lead_mutation(
    "ApprovePartner", "partners:write", lambda w: {"campaign": w.campaign, "org": w.requested}
)
_lead_mutation(
    "RejectPartner", "partners:write", lambda w: {"campaign": w.campaign, "org": w.requested}
)
_lead_mutation(
    "RemovePartner",
    "partners:write",
    lambda w: {"campaign": w.campaign, "org": w.other_partner},
)
_lead_mutation(
    "SetDeliveryOrg", "partners:write", lambda w: {"campaign": w.campaign, "org": w.page_org}
)
_lead_mutation(
    "AddActionPage",
    "pages:write",
    lambda w: {"campaign": w.campaign, "org": w.lead, "name": f"{w.lead}/matrix"},
)
_lead_mutation("RequestLaunch", "pages:write", lambda w: {"page": w.lead_draft_page})
_lead_mutation(
    "ChangePartnerRole",
    "partners:write",
    lambda w: {"campaign": w.campaign, "org": w.page_org, "role": "COORDINATOR"},
)
_lead_mutation(
    "AddConsentVersion",
    "campaigns:write",
    lambda w: {
        "campaign": w.campaign,
        "version": "matrix-v2",
        "texts": [{"locale": "en", "optIn": "Yes, {org} may email me."}],
    },
)
_lead_mutation(
    "SetConsentVersion",
    "campaigns:write",
    lambda w: {"campaign": w.campaign, "locale": "en", "version": "v1"},
)
_lead_mutation("FreezeCounters", "campaigns:write", lambda w: {"campaign": w.campaign})
_lead_mutation(
    "UpdateActionPage", "pages:write", lambda w: {"page": w.lead_live_page, "locale": "fr"}
)
_lead_mutation(
    "PreviewMail", "pages:write", lambda w: {"page": w.lead_live_page, "kind": "THANK_YOU"}
)
register(
    "Mutation.sendTestMail",
    Operation(
        document=_mutation("SendTestMail"),
        variables=lambda w: {"input": {"page": w.lead_live_page, "kind": "THANK_YOU"}},
        # the mail goes to the staff member asking: a token has no address to write to
        allowed=lead_with("owner", "campaign_manager"),
    ),
)
_lead_mutation("PausePage", "pages:write", lambda w: {"page": w.lead_live_page})
_lead_mutation("ClosePage", "pages:write", lambda w: {"page": w.lead_live_page})
_lead_mutation(
    "ApproveLaunch", "pages:write", lambda w: {"page": w.partner_requested_page, "message": "ok"}
)
_lead_mutation(
    "RejectLaunch", "pages:write", lambda w: {"page": w.partner_requested_page, "message": "no"}
)
for _op in ("AcceptPartnership", "DeclinePartnership"):
    # the invited org has no subject in the matrix: nobody here may answer for it
    register(
        "Mutation." + _op[0].lower() + _op[1:],
        Operation(
            document=_mutation(_op),
            variables=lambda w: {"input": {"campaign": w.campaign, "org": w.invited}},
        ),
    )
register(
    "Mutation.requestToJoin",
    Operation(
        document=_mutation("RequestToJoin"),
        variables=lambda w: {"input": {"campaign": w.campaign, "org": w.outsider}},
        allowed=only(OUTSIDER),  # asking to join is what an outsider may do
    ),
)
register(
    "Mutation.leaveCampaign",
    Operation(
        document=_mutation("LeaveCampaign"),
        variables=lambda w: {"input": {"campaign": w.campaign, "org": w.page_org}},
        allowed=only(PAGE_ORG_OWNER),
    ),
)
register(
    "Mutation.exportContacts",
    Operation(
        document=_mutation("ExportContacts"),
        variables=lambda w: {"input": {"campaign": w.campaign}},
        # a link to the caller org's own contacts: any partner with export rights gets one
        # (it may be empty); the outsider gets "not found"
        allowed=lambda s, c: (
            s in (PAGE_ORG_OWNER, OTHER_PARTNER)
            or lead_with("owner", "data_manager", "contacts:export")(s, c)
        ),
    ),
)
register(
    "Query.campaignStats",
    Operation(
        document=(
            "query($campaign: String!) { campaignStats(campaign: $campaign) "
            "{ supporters byPartner { org } targets { sent byArea { area } } } }"
        ),
        variables=lambda w: {"campaign": w.campaign},
        # every partner sees totals; users of the lead by role, lead tokens with stats:read
        allowed=lambda s, c: (
            s in (PAGE_ORG_OWNER, OTHER_PARTNER) or lead_with(*STAFF_ROLES, "stats:read")(s, c)
        ),
    ),
)

# --- authentication, staff and API tokens ---------------------------------------------------
for _op in ("login", "refreshToken", "logout", "requestPasswordReset", "resetPassword"):
    register(
        "Mutation." + _op,
        Operation(document=None, covered_by="tests/auth (credentials, not org objects)"),
    )
register(
    "Mutation.acceptInvitation",
    Operation(document=None, covered_by="tests/auth/test_links.py (one-time link holders)"),
)
register(
    "Query.staff",
    Operation(
        document="query($org: String!) { staff(org: $org) { email role } }",
        variables=lambda w: {"org": w.lead},
        allowed=lead_with("owner", "staff:write"),
        personal_data=True,  # staff emails
    ),
)
register(
    "Query.apiTokens",
    Operation(
        document="query($org: String!) { apiTokens(org: $org) { prefix scopes } }",
        variables=lambda w: {"org": w.lead},
        allowed=lead_with("owner", "integrator", "tokens:write"),
    ),
)
register(
    "Mutation.inviteStaff",
    Operation(
        document=_mutation("InviteStaff"),
        variables=lambda w: {
            "input": {"org": w.lead, "email": "new-staff@example.org", "role": "VIEWER"}
        },
        allowed=lead_with("owner", "staff:write"),
    ),
)
register(
    "Mutation.createApiToken",
    Operation(
        document=_mutation("CreateApiToken"),
        variables=lambda w: {"input": {"org": w.lead, "name": "matrix", "scopes": ["stats:read"]}},
        # within the creator's own rights: every token-managing subject holds stats:read
        # except a token scoped to tokens:write only
        allowed=lead_with("owner", "integrator"),
    ),
)
for _op in ("ChangeStaffRole", "RemoveStaff", "RevokeApiToken"):
    register(
        "Mutation." + _op[0].lower() + _op[1:],
        Operation(
            document=None,
            covered_by="tests/auth/test_staff.py and test_tokens.py (role matrix by target)",
        ),
    )

register(
    "Mutation.updateOrg",
    Operation(
        document=_mutation("UpdateOrg"),
        variables=lambda w: {"input": {"org": w.lead, "senderName": "Matrix"}},
        allowed=lead_with("owner", "org:write"),
    ),
)

# --- single sign-on -----------------------------------------------------------------------
register(
    "Mutation.removeSso",
    Operation(
        document=_mutation("RemoveSso"),
        variables=lambda w: {"input": {"org": w.lead}},
        allowed=lead_with("owner", "staff:write"),
    ),
)
for _name in ("Query.ssoProvider", "Mutation.configureSso", "Mutation.completeSsoLogin"):
    register(
        _name,
        Operation(
            document=None,
            covered_by="tests/auth/test_sso.py (needs a live identity provider)",
        ),
    )

# --- public intake --------------------------------------------------------------------------
for _name in ("Mutation.addActionContact", "Mutation.addAction", "Mutation.linkActions"):
    register(
        _name,
        Operation(
            document=None,
            covered_by="tests/intake (public: anyone may sign; what it writes is the test); "
            "tests/isolation/test_attacker.py (aimed at victims, as every attacker subject)",
        ),
    )

register(
    "Query.auditLog",
    Operation(
        document="query($org: String!) { auditLog(org: $org) { nodes { action details } } }",
        variables=lambda w: {"org": w.lead},
        # the lead's owners (and its tokens with audit:read), nobody else
        allowed=lead_with("owner", "audit:read"),
    ),
)

# --- delivery -----------------------------------------------------------------------------
_CONNECTOR_MANAGERS = ("owner", "data_manager", "integrator", "connectors:write")
register(
    "Query.connectors",
    Operation(
        document="query($org: String!) { connectors(org: $org) { id kind } }",
        variables=lambda w: {"org": w.lead},
        allowed=nobody,  # the matrix world has no connector: every answer is an empty list
    ),
)
register(
    "Mutation.addConnector",
    Operation(
        document=_mutation("AddConnector"),
        variables=lambda w: {
            "input": {
                "org": w.lead,
                "kind": "webhook",
                "name": "matrix",
                "config": {"url": "https://crm.example.org/hook"},
                "secrets": {"secrets": ["whsec_bWF0cml4LXNlY3JldC1rZXk="]},
            }
        },
        allowed=lead_with(*_CONNECTOR_MANAGERS),
    ),
)
for _name in (
    "Query.deliveries",
    "Mutation.setConnectorEnabled",
    "Mutation.testConnector",
    "Mutation.retryDeliveries",
):
    register(
        _name,
        Operation(
            document=None,
            covered_by="tests/delivery/test_api.py (by connector/org); "
            "tests/isolation/test_attacker.py (another org's connector and delivery ids)",
        ),
    )

# --- erasure --------------------------------------------------------------------------------
register(
    "Mutation.requestErasure",
    Operation(
        document=None,
        covered_by="tests/delivery/test_erasure.py (only an org holding the supporter's copy); "
        "tests/isolation/test_attacker.py TestErasure (an org erases only its own copy)",
    ),
)
register(
    "Mutation.requestMyErasure",
    Operation(
        document=None,
        covered_by="tests/delivery/test_erasure.py (public: the answer is constant, the link "
        "goes to the address); tests/isolation/test_attacker.py (the walk)",
    ),
)

# --- mail to target -------------------------------------------------------------------------
# campaign data managed by the lead and coordinators (the matrix's coordinator is covered in
# tests/targets/test_management.py); the public read of targets hangs off actionPage
_TARGET_MANAGERS = ("owner", "campaign_manager", "campaigns:write")
_lead_mutation(
    "UpsertTargets",
    "campaigns:write",
    lambda w: {
        "campaign": w.campaign,
        "targets": [
            {
                "externalId": "matrix",
                "name": "Matrix Target",
                "emails": [{"email": "matrix@targets.example.org"}],
            }
        ],
    },
)
_lead_mutation(
    "UpdateMailToTarget", "campaigns:write", lambda w: {"campaign": w.campaign, "editable": False}
)
_lead_mutation("PauseMailToTarget", "campaigns:write", lambda w: {"campaign": w.campaign})
_lead_mutation("ResumeMailToTarget", "campaigns:write", lambda w: {"campaign": w.campaign})
_lead_mutation(
    "CancelTargetMessages",
    "campaigns:write",
    lambda w: {"campaign": w.campaign, "target": w.target},
)
_lead_mutation(
    "ModerateTargetMessages",
    "campaigns:write",
    lambda w: {"campaign": w.campaign, "ids": [w.held_message], "approve": False},
)
register(
    "Query.campaignTargets",
    Operation(
        document=(
            "query($campaign: String!) { campaignTargets(campaign: $campaign) "
            "{ externalId emails { email status } } }"
        ),
        variables=lambda w: {"campaign": w.campaign},
        allowed=lead_with(*_TARGET_MANAGERS),  # target addresses: never anyone else's
    ),
)
register(
    "Query.campaignTargetAreas",
    Operation(
        document=(
            "query($campaign: String!) { campaignTargetAreas(campaign: $campaign) "
            "{ area targets messages { sent held heldForModeration } } }"
        ),
        variables=lambda w: {"campaign": w.campaign},
        allowed=lead_with(*_TARGET_MANAGERS),  # the details are the managers' (counts only)
    ),
)
register(
    "Query.mailToTarget",
    Operation(
        document="query($campaign: String!) { mailToTarget(campaign: $campaign) { mode } }",
        variables=lambda w: {"campaign": w.campaign},
        allowed=lead_with(*_TARGET_MANAGERS),
    ),
)
register(
    "Query.targetMessages",
    Operation(
        document=(
            "query($campaign: String!) { targetMessages(campaign: $campaign) { id subject body } }"
        ),
        variables=lambda w: {"campaign": w.campaign},
        allowed=lead_with(*_TARGET_MANAGERS),
        personal_data=True,  # what signers wrote
    ),
)
