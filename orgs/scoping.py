"""The one place that turns an authenticated subject into what it may read (DESIGN §5).

Repositories take a :class:`Scope`, never raw org ids from a request. A scope answers two
questions: which orgs may the subject act for with a given permission, and the SQL filter
that limits an org-owned table to those orgs. Anything returning personal data filters on
``Contact.org_id`` through :meth:`Scope.org_filter`, so an org only ever reads its own
Contact rows, which exist only where DESIGN §5 entitles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false

from permissions.roles import Permission
from permissions.subject import ANONYMOUS, Subject, system_subject


@dataclass(frozen=True)
class Scope:
    subject: Subject

    def org_ids(self, permission: Permission) -> frozenset[int]:
        """Orgs the subject may act for with ``permission`` (role bits AND token scopes)."""
        return self.subject.orgs_with(permission)

    def allows(self, org_id: int, permission: Permission) -> bool:
        return permission in self.subject.permissions_in(org_id)

    def member_org_ids(self) -> frozenset[int]:
        """Orgs the subject belongs to, whatever its permissions there."""
        return frozenset(self.subject.grants)

    def org_filter(self, column: Any, permission: Permission) -> ColumnElement[bool]:
        """SQL condition limiting ``column`` (an ``org_id``) to orgs allowed ``permission``."""
        ids = self.org_ids(permission)
        if not ids:
            return false()
        result: ColumnElement[bool] = column.in_(sorted(ids))
        return result


PUBLIC = Scope(ANONYMOUS)


def scope_for(subject: Subject) -> Scope:
    return Scope(subject)


def system_scope(org_id: int) -> Scope:
    """Full rights in one org, for workers and services acting on that org's own behalf."""
    return Scope(system_subject(org_id))
