"""Campaign stats: totals for every partner, breakdowns by role (DESIGN §5).

Aggregates are not personal data, but who brought what is a partner's business: the lead
and coordinators see every page's breakdowns (and the per-partner table); any other
partner sees the campaign's totals and the breakdowns of its own pages only. Page names of
other partners never reach a partner, not even as the page a share came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from orgs.scoping import Membership, Scope
from orgs.stats import repository
from orgs.stats.repository import Dimension, Window
from permissions import policies
from permissions.roles import Permission


class Breakdown(StrEnum):
    """The dimensions a breakdown may count by (orgs/stats/repository.py says what each
    counts); referrals have their own read (:func:`referrals`)."""

    SOURCE = "source"
    MEDIUM = "medium"
    UTM_CAMPAIGN = "utm"
    COUNTRY = "country"
    ACTION_TYPE = "type"
    NEW_OR_RETURNING = "people"
    SHARE_MEDIUM = "share"
    FLAGGED = "flagged"


class Coverage(StrEnum):
    """Which pages a view's breakdowns cover."""

    CAMPAIGN = "campaign"  # every page (lead, coordinators)
    OWN_PAGES = "own_pages"  # the org's own pages (any other partner)


@dataclass(frozen=True)
class StatsView:
    """A campaign's stats as one org may see them."""

    membership: Membership
    coverage: Coverage

    @property
    def campaign_id(self) -> int:
        campaign_id = self.membership.campaign.id
        assert campaign_id is not None
        return campaign_id

    @property
    def org_id(self) -> int:
        return self.membership.org_id

    def window(self, first: date | None = None, last: date | None = None) -> Window:
        own = None if self.coverage is Coverage.CAMPAIGN else self.org_id
        return Window(self.campaign_id, own, first, last)


async def stats_view(
    session: AsyncSession, scope: Scope, campaign: str, org_id: int | None = None
) -> StatsView | None:
    """The campaign's stats for the caller's org in it (``org_id`` picks one of several);
    ``None`` when the campaign is not one the org may see stats of."""
    membership = await scope.campaign_membership(
        session, campaign, Permission.VIEW_STATS, org_id=org_id
    )
    if membership is None:
        return None
    if not policies.can_view_stats(scope.subject, membership.org_id, membership.reading_role):
        return None
    wide = policies.can_view_partner_breakdown(scope.subject, membership.org_id, membership.role)
    return StatsView(membership, Coverage.CAMPAIGN if wide else Coverage.OWN_PAGES)


async def _conn(session: AsyncSession) -> AsyncConnection:
    return await session.connection()


# --- totals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    supporters: int  # people counted in the campaign (each once)
    actions: int  # counted actions, each person once per page and action type
    by_type: dict[str, int]  # actions per type, each person once per campaign and type
    goal: int | None


async def totals(session: AsyncSession, view: StatsView) -> Totals:
    """The campaign's totals, the same for every partner (the counters: exact at once)."""
    counters = await repository.counters(await _conn(session), view.campaign_id, None)
    by_type = {
        k.removeprefix("cactions:"): v for k, v in counters.items() if k.startswith("cactions:")
    }
    actions = sum(v for k, v in counters.items() if k.startswith("actions:"))
    return Totals(counters.get("supporters", 0), actions, by_type, view.membership.campaign.goal)


@dataclass(frozen=True)
class DoubleOptIn:
    asked: int  # people asked to confirm their address
    confirmed: int

    @property
    def rate(self) -> float | None:
        return None if self.asked == 0 else round(self.confirmed / self.asked, 4)


async def double_opt_in(session: AsyncSession, view: StatsView) -> DoubleOptIn:
    window = view.window()
    counters = await repository.counters(await _conn(session), view.campaign_id, window.org_id)
    return DoubleOptIn(counters.get("doi:asked", 0), counters.get("doi:confirmed", 0))


# --- breakdowns ---------------------------------------------------------------------------------


# Free-text keys (UTM values, share media) come from the links people followed: a partner's
# mailing tool may put a per-recipient code there. Of other orgs' pages, a key is shown only
# once at least RARE_BELOW signatures share it; the rest are summed under RARE.
RARE_BELOW = 3
RARE = "(rare)"
FREE_TEXT: frozenset[str] = frozenset({"source", "medium", "utm", "share", "referral"})


def _fold(
    rows: list[tuple[int, str, int]], own_org: int | None, rare_key: Callable[[str], str]
) -> list[tuple[str, int]]:
    """(org, key, count) rows to (key, count): the viewer's own pages' counts as they are,
    other orgs' counts of a key only when they reach RARE_BELOW (else under ``rare_key``)."""
    others: dict[str, int] = defaultdict(int)
    out: dict[str, int] = defaultdict(int)
    for org_id, key, n in rows:
        if org_id == own_org or key == "":
            out[key] += n
        else:
            others[key] += n
    for key, n in others.items():
        out[key if n >= RARE_BELOW else rare_key(key)] += n
    return [(k, n) for k, n in out.items() if n != 0]


async def _keys(
    session: AsyncSession,
    view: StatsView,
    dimension: Dimension,
    first: date | None,
    last: date | None,
    rare_key: Callable[[str], str] = lambda _: RARE,
) -> list[tuple[str, int]]:
    window = view.window(first, last)
    conn = await _conn(session)
    if window.org_id is not None or dimension not in FREE_TEXT:
        return await repository.by_key(conn, window, dimension)
    return _fold(await repository.by_org_key(conn, window, dimension), view.org_id, rare_key)


async def breakdown(
    session: AsyncSession,
    view: StatsView,
    dimension: Dimension | Breakdown,
    first: date | None = None,
    last: date | None = None,
) -> list[tuple[str, int]]:
    """(key, count) of one dimension over the view's pages, largest first."""
    wanted: Dimension = Breakdown(dimension).value  # type: ignore[assignment]
    found = await _keys(session, view, wanted, first, last)
    return sorted(found, key=lambda kn: (-kn[1], kn[0]))


@dataclass(frozen=True)
class Day:
    day: date
    new_supporters: int
    returning: int

    @property
    def signatures(self) -> int:
        return self.new_supporters + self.returning


async def days(
    session: AsyncSession, view: StatsView, first: date | None = None, last: date | None = None
) -> list[Day]:
    """Signatures per UTC day (new supporters and returning ones), days without any left out."""
    rows = await repository.by_day_key(await _conn(session), view.window(first, last), "people")
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    for day, key, n in rows:
        per_day[day][key] = n
    return [
        Day(day, counts.get("new", 0), counts.get("returning", 0))
        for day, counts in sorted(per_day.items())
    ]


@dataclass(frozen=True)
class PageStats:
    page_id: int
    page: str
    org: str
    new_supporters: int = 0
    returning: int = 0
    actions: dict[str, int] = field(default_factory=dict)  # per type, each once per page

    @property
    def signatures(self) -> int:
        return self.new_supporters + self.returning


async def pages(
    session: AsyncSession, view: StatsView, first: date | None = None, last: date | None = None
) -> list[PageStats]:
    """Every page the view covers with its signatures and actions (pages without any too)."""
    conn = await _conn(session)
    window = view.window(first, last)
    names = await repository.campaign_pages(conn, view.campaign_id)
    people: dict[int, dict[str, int]] = defaultdict(dict)
    for page_id, key, n in await repository.by_page_key(conn, window, "people"):
        people[page_id][key] = n
    actions: dict[int, dict[str, int]] = defaultdict(dict)
    for page_id, key, n in await repository.by_page_key(conn, window, "type"):
        actions[page_id][key] = n
    window_org = window.org_id
    return [
        PageStats(
            name.page_id,
            name.page,
            name.org,
            people[name.page_id].get("new", 0),
            people[name.page_id].get("returning", 0),
            actions[name.page_id],
        )
        for name in names
        if window_org is None or name.org_id == window_org
    ]


@dataclass(frozen=True)
class PartnerStats:
    org: str
    pages: list[PageStats]

    @property
    def new_supporters(self) -> int:
        return sum(p.new_supporters for p in self.pages)

    @property
    def signatures(self) -> int:
        return sum(p.signatures for p in self.pages)

    @property
    def actions(self) -> int:
        return sum(sum(p.actions.values()) for p in self.pages)


async def partners(
    session: AsyncSession, view: StatsView, first: date | None = None, last: date | None = None
) -> list[PartnerStats] | None:
    """The campaign's pages grouped by partner; ``None`` unless the view covers the campaign."""
    if view.coverage is not Coverage.CAMPAIGN:
        return None
    grouped: dict[str, list[PageStats]] = defaultdict(list)
    for page in await pages(session, view, first, last):
        grouped[page.org].append(page)
    return [PartnerStats(org, found) for org, found in sorted(grouped.items())]


# --- shares and what they brought ---------------------------------------------------------------


@dataclass(frozen=True)
class Referral:
    generation: int  # 1: a share by someone who signed directly; 2: by someone a share brought
    sharer_page: str | None  # the page the sharer signed on; None: another partner's page
    medium: str  # where the link was shared (its utm_medium)
    signatures: int


async def referrals(
    session: AsyncSession, view: StatsView, first: date | None = None, last: date | None = None
) -> list[Referral]:
    """Signatures that came through a share, by generation, the sharer's page and medium."""
    conn = await _conn(session)
    names = {p.page_id: p for p in await repository.campaign_pages(conn, view.campaign_id)}
    window = view.window(first, last)
    summed: dict[tuple[int, str | None, str], int] = defaultdict(int)

    def rare_medium(key: str) -> str:
        generation, sharer, _ = key.split("|", 2)
        return f"{generation}|{sharer}|{RARE}"

    for key, n in await _keys(session, view, "referral", first, last, rare_medium):
        generation, sharer, medium = key.split("|", 2)
        page = names.get(int(sharer)) if sharer.isdigit() else None
        shown = page.page if page and window.org_id in (None, page.org_id) else None
        summed[(int(generation), shown, medium)] += n
    return [
        Referral(generation, sharer_page, medium, n)
        for (generation, sharer_page, medium), n in sorted(
            summed.items(), key=lambda item: (item[0][0], -item[1], item[0][2])
        )
    ]


@dataclass(frozen=True)
class ShareMedium:
    medium: str
    shares: int  # share actions to this medium
    signatures: int  # signatures that came through links shared there (every generation)
    by_generation: dict[int, int]  # generation -> signatures


async def share_funnel(
    session: AsyncSession, view: StatsView, first: date | None = None, last: date | None = None
) -> list[ShareMedium]:
    """Shares by medium and the signatures their links brought, per generation of sharing."""
    shares = dict(await breakdown(session, view, "share", first, last))
    brought: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for referral in await referrals(session, view, first, last):
        brought[referral.medium][referral.generation] += referral.signatures
    media = sorted(set(shares) | set(brought))
    funnel = [
        ShareMedium(m, shares.get(m, 0), sum(brought[m].values()), dict(sorted(brought[m].items())))
        for m in media
    ]
    return sorted(funnel, key=lambda s: (-s.shares, -s.signatures, s.medium))


# --- the first version's breakdowns (campaignStats.byPartner and .own) --------------------------

OWN_DIMENSIONS: dict[str, Dimension] = {
    "source": "source",
    "medium": "medium",
    "campaign": "utm",
    "country": "country",
}


async def by_partner_page(
    session: AsyncSession, view: StatsView
) -> list[tuple[str, str, int]] | None:
    """(org, page, counted actions) of every page with actions; ``None`` for a partner."""
    if view.coverage is not Coverage.CAMPAIGN:
        return None
    return [
        (p.org, p.page, sum(p.actions.values())) for p in await pages(session, view) if p.actions
    ]


async def own_breakdown(
    session: AsyncSession, view: StatsView
) -> dict[str, list[tuple[str | None, int]]]:
    """The org's own pages by utm_source, utm_medium, utm_campaign, country and day."""
    own_view = StatsView(view.membership, Coverage.OWN_PAGES)
    own: dict[str, list[tuple[str | None, int]]] = {}
    for name, dimension in OWN_DIMENSIONS.items():
        rows = await repository.by_key(await _conn(session), own_view.window(), dimension)
        own[name] = [(k or None, n) for k, n in rows]
    own["day"] = [(d.day.isoformat(), d.signatures) for d in await days(session, own_view)]
    return own
