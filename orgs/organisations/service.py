"""Creating and reading orgs."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from orgs.audit import repository as audit
from orgs.errors import DomainError, Problem
from orgs.models import Org
from orgs.organisations import repository
from orgs.scoping import Scope
from permissions.policies import can_manage_org

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


class OrgError(ValueError):
    """A user-fixable problem creating or changing an org."""


async def create_org(
    session: AsyncSession, name: str, title: str, settings: dict[str, Any] | None = None
) -> Org:
    if not SLUG.match(name):
        raise OrgError(
            f"org name {name!r} must be 2-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    if await repository.org_by_name(session, name) is not None:
        raise OrgError(f"an org named {name!r} already exists")
    org = Org(name=name, title=title.strip() or name, settings=settings or {})
    session.add(org)
    await session.flush()
    return org


class OrgErrorCode(StrEnum):
    """Codes of org settings changes (exposed as ``OrgErrorCode``)."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"


class OrgSettingsError(DomainError):
    """A problem with an org settings change."""


_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_EMBED_HOSTS = 50


def _url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OrgSettingsError(field, OrgErrorCode.INVALID, "an http(s) URL is required")
    return value


async def update_org(
    session: AsyncSession,
    scope: Scope,
    org: str,
    *,
    title: str | None = None,
    privacy_policy_url: str | None = None,
    embed_hosts: list[str] | None = None,
    sender_name: str | None = None,
    reply_to: str | None = None,
    double_opt_in: bool | None = None,
) -> Org:
    """Change an org's own settings (owners: MANAGE_ORG). Another org looks not found."""
    row = await repository.member_org_by_name(session, scope, org)
    if row is None or row.id is None or not can_manage_org(scope.subject, row.id):
        raise OrgSettingsError("org", OrgErrorCode.NOT_FOUND, "org not found")
    settings = dict(row.settings)
    problems: list[Problem] = []

    if title is not None:
        if not title.strip() or len(title) > 200:
            problems.append(
                Problem(("input", "title"), OrgErrorCode.INVALID, "1 to 200 characters")
            )
        else:
            row.title = title.strip()
    if privacy_policy_url is not None:
        try:
            settings["privacy_policy_url"] = _url(privacy_policy_url, "privacyPolicyUrl")
        except OrgSettingsError as error:
            problems.extend(error.problems)
    if embed_hosts is not None:
        hosts = [h.strip().lower().rstrip(".") for h in embed_hosts if h.strip()]
        bad = [i for i, h in enumerate(hosts) if not _HOST.match(h)]
        for i in bad:
            problems.append(
                Problem(("input", "embedHosts", str(i)), OrgErrorCode.INVALID, "a host name")
            )
        if len(hosts) > MAX_EMBED_HOSTS:
            problems.append(
                Problem(("input", "embedHosts"), OrgErrorCode.INVALID, f"at most {MAX_EMBED_HOSTS}")
            )
        settings["embed_hosts"] = sorted(set(hosts))
        settings.pop("embedHosts", None)
    if sender_name is not None:
        if len(sender_name) > 100:
            problems.append(
                Problem(("input", "senderName"), OrgErrorCode.INVALID, "at most 100 characters")
            )
        settings["sender_name"] = sender_name.strip() or None
    if reply_to is not None:
        if reply_to.strip():
            try:
                settings["reply_to"] = validate_email(
                    reply_to.strip(), check_deliverability=False
                ).normalized
            except EmailNotValidError:
                problems.append(
                    Problem(("input", "replyTo"), OrgErrorCode.INVALID, "an email address")
                )
        else:
            settings["reply_to"] = None
    if double_opt_in is not None:
        settings["double_opt_in"] = double_opt_in
        settings.pop("doubleOptIn", None)
    if problems:
        raise OrgSettingsError.of(problems)
    row.settings = {k: v for k, v in settings.items() if v is not None}
    await session.flush()
    await audit.record(
        session,
        scope,
        row.id,
        "org.update",
        "org",
        row.id,
        {
            "changed": sorted(
                k
                for k, v in {
                    "title": title,
                    "privacyPolicyUrl": privacy_policy_url,
                    "embedHosts": embed_hosts,
                    "senderName": sender_name,
                    "replyTo": reply_to,
                    "doubleOptIn": double_opt_in,
                }.items()
                if v is not None
            )
        },
    )
    return row
