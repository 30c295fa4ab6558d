"""The per-request GraphQL context: who is calling, and the unit of work they act in."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from hub.db import SerialSession, UnitOfWork
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
    _session: SerialSession | None = field(default=None, repr=False)
    _ended: bool = field(default=False, repr=False)
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def jwt_keys(self) -> JwtKeys:
        return jwt_keys_for(self.settings)

    @property
    def scope(self) -> Scope:
        return scope_for(self.subject)

    async def session(self) -> AsyncSession:
        """The request's session; its transaction is committed by the unit-of-work extension.

        Every resolver of the operation shares it, concurrently: it runs one database call at
        a time (hub.db.SerialSession), so they all work in one transaction. Its transaction
        begins with the first statement. Once the operation has ended there is no session:
        a straggler (a dataloader whose callers were cancelled) gets an error instead of a
        new transaction that nobody would commit or close.
        """
        if self._ended:
            raise RuntimeError("the request's unit of work has ended")
        if self._session is None:
            self._session = self.uow.request_session()
        return self._session

    async def finish(self, *, commit: bool) -> None:
        """End the request's unit of work: commit, or roll back, once any statement settled."""
        self._ended = True
        if self._session is None:
            return
        session, self._session = self._session, None
        await session.end(commit=commit)
