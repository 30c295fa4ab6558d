"""Strawberry permission classes: the first gate (authentication and token scope)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from resolvers.context import Context


class IsAuthenticated(BasePermission):
    message = "Authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        if info.context.auth_error:
            self.message = info.context.auth_error
        return info.context.subject.is_authenticated


def require_scope(scope: str) -> type[BasePermission]:
    """A permission class that admits users (role checked later) and tokens holding ``scope``."""

    class HasScope(BasePermission):
        message = f"This operation needs the {scope} scope"

        def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
            subject = info.context.subject
            if not subject.is_authenticated:
                self.message = info.context.auth_error or "Authentication required"
                self.error_extensions = {"code": "UNAUTHENTICATED"}
                return False
            if subject.token_id is not None and scope not in subject.scopes:
                self.error_extensions = {"code": "FORBIDDEN"}
                return False
            return True

    HasScope.__name__ = f"HasScope_{scope.replace(':', '_')}"
    return HasScope
