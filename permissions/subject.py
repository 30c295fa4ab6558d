"""Who is calling: anonymous, a user (staff of some orgs) or an org API token."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from permissions.roles import NONE, Permission


class SubjectKind(StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"
    TOKEN = "token"
    SYSTEM = "system"


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    user_id: int | None = None
    token_id: int | None = None
    email: str | None = None
    # org id -> what this subject may do in that org (role bits, narrowed by token scopes)
    grants: dict[int, Permission] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not SubjectKind.ANONYMOUS

    def permissions_in(self, org_id: int) -> Permission:
        return self.grants.get(org_id, NONE)

    def orgs_with(self, permission: Permission) -> frozenset[int]:
        return frozenset(org for org, bits in self.grants.items() if permission in bits)


ANONYMOUS = Subject(kind=SubjectKind.ANONYMOUS)


def system_subject(org_id: int) -> Subject:
    """Full rights in one org: for workers and services acting for that org, never for requests."""
    return Subject(kind=SubjectKind.SYSTEM, grants={org_id: ~NONE})
