"""Staff roles as named sets of permission bits (the table in docs/permissions.md)."""

from __future__ import annotations

from enum import Flag, auto

from orgs.models import StaffRole


class Permission(Flag):
    VIEW_STATS = auto()
    MANAGE_CAMPAIGNS = auto()
    MANAGE_PAGES = auto()
    MANAGE_PARTNERS = auto()
    READ_CONTACTS = auto()
    EXPORT_CONTACTS = auto()
    MANAGE_CONNECTORS = auto()
    MANAGE_TOKENS = auto()
    MANAGE_STAFF = auto()
    MANAGE_ORG = auto()
    READ_AUDIT = auto()  # the org's audit log: owners only


NONE = Permission(0)

ROLE_PERMISSIONS: dict[StaffRole, Permission] = {
    StaffRole.OWNER: ~NONE,
    StaffRole.CAMPAIGN_MANAGER: Permission.VIEW_STATS
    | Permission.MANAGE_CAMPAIGNS
    | Permission.MANAGE_PAGES
    | Permission.MANAGE_PARTNERS,
    StaffRole.DATA_MANAGER: Permission.VIEW_STATS
    | Permission.READ_CONTACTS
    | Permission.EXPORT_CONTACTS
    | Permission.MANAGE_CONNECTORS,
    StaffRole.INTEGRATOR: Permission.VIEW_STATS
    | Permission.MANAGE_CONNECTORS
    | Permission.MANAGE_TOKENS,
    StaffRole.VIEWER: Permission.VIEW_STATS,
}

# Token scopes (``<plural>:read|write``) and the permission each one unlocks.
SCOPE_PERMISSIONS: dict[str, Permission] = {
    "stats:read": Permission.VIEW_STATS,
    "campaigns:read": Permission.VIEW_STATS,
    "campaigns:write": Permission.MANAGE_CAMPAIGNS,
    "pages:write": Permission.MANAGE_PAGES,
    "partners:write": Permission.MANAGE_PARTNERS,
    "contacts:read": Permission.READ_CONTACTS,
    "contacts:export": Permission.EXPORT_CONTACTS,
    "connectors:write": Permission.MANAGE_CONNECTORS,
    "tokens:write": Permission.MANAGE_TOKENS,
    "staff:write": Permission.MANAGE_STAFF,
    "org:write": Permission.MANAGE_ORG,
    "audit:read": Permission.READ_AUDIT,
}
ALL_SCOPES = tuple(SCOPE_PERMISSIONS)


def permissions_for_role(role: str) -> Permission:
    try:
        return ROLE_PERMISSIONS[StaffRole(role)]
    except ValueError:
        return NONE


def permissions_for_scopes(scopes: list[str] | tuple[str, ...]) -> Permission:
    granted = NONE
    for scope in scopes:
        granted |= SCOPE_PERMISSIONS.get(scope, NONE)
    return granted


def permissions_reference() -> str:
    """The role x permission table and the token scopes (embedded in docs/permissions.md)."""
    roles = list(ROLE_PERMISSIONS)
    lines = [
        "| permission | " + " | ".join(role.value for role in roles) + " |",
        "| --- |" + " --- |" * len(roles),
    ]
    for permission in Permission:
        marks = ["yes" if permission in ROLE_PERMISSIONS[role] else "" for role in roles]
        lines.append(f"| `{permission.name}` | " + " | ".join(marks) + " |")
    lines += ["", "| token scope | permission |", "| --- | --- |"]
    for scope, permission in SCOPE_PERMISSIONS.items():
        lines.append(f"| `{scope}` | `{permission.name}` |")
    return "\n".join(lines) + "\n"
