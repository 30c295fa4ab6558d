"""The per-request GraphQL context: who is calling, and the unit of work they act in."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.crypto import Keyring
from orgs.identity.access import JwtKeys
from orgs.scoping import Scope, scope_for
from permissions.subject import ANONYMOUS, Subject


@lru_cache(maxsize=8)
def _parse_keys(spec: str | None, secret: str) -> JwtKeys:
    return JwtKeys.parse(spec, secret)


def jwt_keys_for(settings: Settings) -> JwtKeys:
    """The user access-token keys configured in ``settings``."""
    return _parse_keys(settings.jwt_keys, settings.resolved_secret_key())


@dataclass
class Context:
    request: Request | None
    response: Any
    uow: UnitOfWork
    settings: Settings
    keyring: Keyring
    subject: Subject = ANONYMOUS
    auth_error: str | None = None
    _session: AsyncSession | None = field(default=None, repr=False)
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def jwt_keys(self) -> JwtKeys:
        return jwt_keys_for(self.settings)

    @property
    def scope(self) -> Scope:
        return scope_for(self.subject)

    async def session(self) -> AsyncSession:
        """The request's session; its transaction is committed by the unit-of-work extension."""
        if self._session is None:
            self._session = self.uow.new_session()
            await self._session.begin()
        return self._session

    async def finish(self, *, commit: bool) -> None:
        if self._session is None:
            return
        session, self._session = self._session, None
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()
