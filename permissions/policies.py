"""Policies: ``can_<verb>(subject, org_id) -> Allowed | Denied(reason)``, the second gate."""

from __future__ import annotations

from dataclasses import dataclass

from permissions.roles import Permission
from permissions.subject import Subject


@dataclass(frozen=True)
class Allowed:
    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Denied:
    reason: str

    def __bool__(self) -> bool:
        return False


Decision = Allowed | Denied


def _needs(subject: Subject, org_id: int, permission: Permission, what: str) -> Decision:
    if permission in subject.permissions_in(org_id):
        return Allowed()
    return Denied(f"managing {what} needs the {permission.name} permission in this org")


def can_manage_staff(subject: Subject, org_id: int) -> Decision:
    return _needs(subject, org_id, Permission.MANAGE_STAFF, "staff")


def can_manage_tokens(subject: Subject, org_id: int) -> Decision:
    return _needs(subject, org_id, Permission.MANAGE_TOKENS, "API tokens")
