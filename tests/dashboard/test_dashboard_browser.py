"""The dashboard in real headless Chromium against a running hub with the demo coalition.

The lead (River Alliance), a coordinator (Friends of the Delta) and a partner (Anglers
United) log in with the demo's staff logins. Marker signatures with tracking values of
their own (on the coordinator's and the lead's pages) show that the lead sees every page's
breakdowns and that the partner's page never holds them, nor anyone's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from csv import DictReader
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from orgs.crypto import Keyring
from orgs.demo import TARGETS, demo_login, load_demo
from orgs.intake.service import IntakeOptions, RequestMeta, add_action_contact
from orgs.models import Connector, DeliveryStatus, Moderation, StaffRole, utcnow
from orgs.scoping import system_scope
from orgs.targets import service as targets
from tests import factories as f
from tests.conftest import TEST_SECRET
from tests.widget.conftest import LiveHub

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
VIEWS = [
    "overview",
    "partners",
    "sources",
    "audience",
    "shares",
    "targets",
    "delivery",
    "exports",
    "audit",
]
CAMPAIGN = "river-alliance/clean-rivers"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Every page-level problem the browser reports: CSP refusals, script errors.
WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__problems.push('csp ' + e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('error', (e) => window.__problems.push('error ' + e.message));
window.addEventListener('unhandledrejection',
  (e) => window.__problems.push('rejection ' + (e.reason && e.reason.message)));
"""
MARKERS = {
    # page owner -> (utm_source, utm_campaign) of three marker signatures on its page
    "friends-of-the-delta": ("delta-marker-source", "delta-marker-utm"),
    "river-alliance": ("lead-marker-source", "lead-marker-utm"),
}
STATS = """
query($c: String!, $o: String) {
  campaignStats(campaign: $c, org: $o) { supporters actions }
}
"""
SIGN = """
mutation($page: Int!, $email: String!) {
  addActionContact(actionPageId: $page, action: {actionType: "signature"},
    contact: {firstName: "Live", email: $email, address: {country: "IE"}},
    privacy: {optIn: true}, tracking: {source: "live-test"}) { contactRef }
}
"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    ... on LoginSuccess { tokens { accessToken refreshToken } }
  }
}
"""


@dataclass(frozen=True)
class Login:
    email: str
    password: str


@dataclass
class Demo:
    hub: LiveHub
    logins: dict[str, Login]  # by org name, and "multi" (staff of two orgs)
    pages: dict[str, tuple[int, str]]  # org name -> (page id, page name)
    crm_name: str  # the partner's failing connector
    signer_emails: list[str] = field(default_factory=list)
    target_addresses: list[str] = field(default_factory=list)  # never for a partner's eyes

    async def gql(
        self, query: str, variables: dict[str, Any], token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.hub.url) as http:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        body: dict[str, Any] = response.json()
        return body

    async def token(self, who: str) -> tuple[str, str]:
        login = self.logins[who]
        body = await self.gql(LOGIN, {"email": login.email, "password": login.password})
        tokens = body["data"]["login"]["tokens"]
        return tokens["accessToken"], tokens["refreshToken"]

    async def supporters(self) -> int:
        access, _ = await self.token("river-alliance")
        body = await self.gql(STATS, {"c": CAMPAIGN, "o": "river-alliance"}, access)
        return int(body["data"]["campaignStats"]["supporters"])


@pytest.fixture(scope="module")
async def demo(live_hub: LiveHub) -> Demo:
    """The demo coalition (a shorter history), marker signatures, failed deliveries of the
    partner's CRM, and a staff member of two orgs."""
    keyring = Keyring(TEST_SECRET)
    async with live_hub.session() as session:
        coalition = await load_demo(session, keyring, history=240)
        await session.commit()
        logins = {m.org.name: Login(m.login.email, m.login.password) for m in coalition.orgs}
        pages = {m.org.name: (m.page.id, m.page.name) for m in coalition.orgs}
        conn = await session.connection()
        options = IntakeOptions(keyring=keyring, window_seconds=0)
        emails = []
        for org_name, (source, utm) in MARKERS.items():
            for n in range(3):
                email = f"marker-{n}.{org_name}@signers.example"
                emails.append(email)
                await add_action_contact(
                    conn,
                    options,
                    pages[org_name][0],
                    action={"actionType": "signature"},
                    contact={"firstName": "Mark", "email": email, "address": {"country": "NL"}},
                    privacy={"optIn": True},
                    tracking={"source": source, "medium": "email", "campaign": utm},
                    meta=RequestMeta(),
                )
        for n in range(2):  # caught by the bot trap: stored, flagged, never counted
            await add_action_contact(
                conn,
                options,
                pages["river-alliance"][0],
                action={"actionType": "signature"},
                contact={"firstName": "Bot", "email": f"bot-{n}@signers.example"},
                privacy={"optIn": True},
                meta=RequestMeta(flagged="honeypot"),
            )
            emails.append(f"bot-{n}@signers.example")
        partner = next(m.org for m in coalition.orgs if m.role == "partner")
        crm = (
            await session.execute(select(Connector).where(Connector.org_id == partner.id))
        ).scalar_one()
        for _ in range(2):
            await f.make_delivery(
                session,
                partner,
                crm,
                status=DeliveryStatus.FAILED.value,
                attempts=8,
                last_error="connection refused",
                updated_at=utcnow() - timedelta(minutes=5),
            )
        emails += await _mail_to_target(session, conn, options, coalition)
        multi = await f.make_user(session, f"multi-{secrets.token_hex(3)}@staff.example")
        orgs = {m.org.name: m.org for m in coalition.orgs}
        await f.make_staffer(session, orgs["anglers-united"], multi, StaffRole.VIEWER)
        await f.make_staffer(session, orgs["friends-of-the-delta"], multi, StaffRole.VIEWER)
        await session.commit()
    logins["multi"] = Login(multi.email, "correct horse battery")
    assert demo_login(keyring, "river-alliance").email == logins["river-alliance"].email
    signers = [f"signer-{n}@demo.example.net" for n in range(240)] + emails
    addresses = [e for t in TARGETS for e in t[3]]
    return Demo(live_hub, logins, pages, crm.name, signers, addresses)


async def _mail_to_target(
    session: Any, conn: Any, options: IntakeOptions, coalition: Any
) -> list[str]:
    """Messages to the demo's three targets, none of them due during the run (the window
    opens in a month): two signers write to the Riverside targets, then, with every message
    moderated, one to the minister (Capital); the water board's address bounced."""
    lead = coalition.orgs[0].org
    scope = system_scope(lead.id)
    later = date.today() + timedelta(days=30)
    window = targets.WindowInput(starts_on=later)
    await targets.update_settings(session, scope, coalition.campaign.id, window=window)
    written = [
        ("ada.mtt@signers.example", ["mayor", "water-board"]),
        ("bea.mtt@signers.example", ["mayor"]),
        ("cy.mtt@signers.example", ["minister"]),
    ]
    for email, chosen in written:
        if chosen == ["minister"]:
            await targets.update_settings(
                session, scope, coalition.campaign.id, moderation=Moderation.ALL
            )
        await add_action_contact(
            conn,
            options,
            coalition.mtt_page.id,
            action={"actionType": "mail2target", "mtt": {"targets": chosen}},
            contact={"firstName": "Writer", "email": email, "address": {"country": "IE"}},
            privacy={"optIn": True},
            meta=RequestMeta(),
        )
    await session.execute(
        text(
            "UPDATE target_email SET status = 'bounced', last_error = :error "
            "WHERE email = 'chair@waterboard.example.org'"
        ),
        {"error": "550 5.1.1 mailbox unavailable"},
    )
    return [email for email, _ in written]


@dataclass
class Dashboard:
    context: Any
    page: Any
    requests: list[str]
    loaded: list[Any]  # responses of the page's own files (not API answers)
    api_answers: list[str]

    async def problems(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__problems")
        return found

    async def text(self) -> str:
        """Everything in the document, hidden tables included."""
        found: str = await self.page.evaluate("document.documentElement.textContent")
        return found

    async def go(self, view: str) -> None:
        await self.page.click(f"#nav-{view}")
        await self.page.wait_for_function(
            """(view) => document.querySelector('#nav-' + view).getAttribute('aria-current')
                 === 'page' && !document.querySelector('#view').hasAttribute('aria-busy')""",
            arg=view,
        )

    async def open_tables(self) -> int:
        toggles = self.page.locator("#view-body button.toggle[aria-expanded=false]")
        count: int = await toggles.count()
        for _ in range(count):
            await toggles.first.click()
        return count

    async def axe(self, axe_source: str) -> list[dict[str, Any]]:
        if not await self.page.evaluate("typeof window.axe !== 'undefined'"):
            # through DevTools: the page's CSP allows no inline script, rightly
            await self.page.evaluate(axe_source)
        violations: list[dict[str, Any]] = await self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.map((n) => n.target.join(' ') + ': '
                                                  + n.failureSummary)}))"""
        )
        return violations


Opener = Callable[..., Awaitable[Dashboard]]


@pytest.fixture
async def open_dashboard(browser: Any, demo: Demo) -> AsyncIterator[Opener]:
    contexts: list[Any] = []

    async def opener(path: str = "/dashboard", viewport: dict[str, int] | None = None) -> Dashboard:
        context = await browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True)
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = await context.new_page()
        await page.add_init_script(WATCH)
        requests: list[str] = []
        loaded: list[Any] = []
        answers: list[str] = []
        page.on("request", lambda request: requests.append(request.url))

        async def on_response(response: Any) -> None:
            if response.url.endswith("/graphql"):
                with contextlib.suppress(Exception):  # a navigation may drop an answer
                    answers.append(await response.text())
            elif response.request.resource_type in ("document", "script", "stylesheet"):
                loaded.append(response)

        page.on("response", on_response)
        await page.goto(demo.hub.url + path)
        await page.wait_for_selector("#login-form", state="visible")
        return Dashboard(context, page, requests, loaded, answers)

    yield opener
    for context in contexts:
        await context.close()


async def log_in(dash: Dashboard, login: Login) -> None:
    await dash.page.fill("#login-email", login.email)
    await dash.page.fill("#login-password", login.password)
    await dash.page.click("#login-submit")
    await dash.page.wait_for_selector("#headline-supporters")
    await dash.page.wait_for_selector("#total-supporters")
    await dash.page.wait_for_function(
        "() => document.querySelector('#total-supporters').textContent !== '\u2013'"
    )


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def only_first_party(dash: Dashboard, hub: LiveHub) -> list[str]:
    return [u for u in dash.requests if not (u.startswith(hub.url) or u.startswith("data:"))]


async def shot(dash: Dashboard, directory: Path, name: str) -> None:
    """The whole page, and its top two windows' worth (docs/img/ takes a few of those)."""
    page = dash.page
    await page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    size = page.viewport_size
    height = min(size["height"] * 2, await page.evaluate("document.body.scrollHeight"))
    await page.screenshot(
        path=str(directory / "screen" / f"{name}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": size["width"], "height": height},
    )


class TestLoggedOut:
    async def test_a_visitor_sees_only_the_login_form_and_the_api_refuses(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path, axe_source: str
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        visible = await page.evaluate("document.body.innerText")
        for word in ("Log in", "Email", "Password"):
            assert word in visible
        for word in ("Clean rivers", "supporters", "River Alliance", "Overview", "@"):
            assert word not in visible
        assert await page.evaluate("document.querySelector('#app').childElementCount") == 0
        assert dash.api_answers == []  # it asked the API nothing
        assert await dash.axe(axe_source) == []
        await shot(dash, dashboard_artifacts, "logged-out")
        # a wrong password: a message, still nothing else
        await page.fill("#login-email", demo.logins["river-alliance"].email)
        await page.fill("#login-password", "not the password")
        await page.click("#login-submit")
        await page.wait_for_function("() => document.querySelector('#login-error').textContent")
        assert await page.evaluate("document.querySelector('#app').childElementCount") == 0
        # the API gives no numbers to anonymous callers, nor to a made-up token
        for token in (None, "not-a-token"):
            body = await demo.gql(STATS, {"c": CAMPAIGN, "o": None}, token)
            assert (body["data"] or {}).get("campaignStats") is None
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await dash.problems() == []


class TestLead:
    async def test_every_view_as_the_lead(
        self,
        open_dashboard: Opener,
        demo: Demo,
        dashboard_artifacts: Path,
        axe_source: str,
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        # overview: the campaign's total, as the API counts it, and the goal
        total = await demo.supporters()
        assert digits(await page.inner_text("#total-supporters")) == total
        assert digits(await page.inner_text("#headline-supporters")) == total
        assert "of 10,000 supporters" in await page.inner_text("#goal-progress-label")
        assert await page.locator(".plot canvas").count() >= 1
        texts: dict[str, str] = {}
        for view in VIEWS:
            await dash.go(view)
            await shot(dash, dashboard_artifacts, f"lead-{view}")
            await dash.open_tables()
            texts[view] = await dash.text()
            assert await dash.axe(axe_source) == [], view
        # every partner and every page, and the other partners' sources
        for org, (_, page_name) in demo.pages.items():
            assert page_name in texts["partners"], org
        assert "Signatures by partner" in texts["partners"]
        for source, utm in MARKERS.values():
            assert source in texts["sources"]
            assert utm in texts["sources"]
        assert "Netherlands (NL)" in texts["audience"]
        assert "New to the campaign" in texts["audience"]
        assert "Double opt-in confirmation" in texts["audience"]
        assert "Filled in the bot trap" in texts["audience"]
        assert "Share funnel" in texts["shares"]
        assert "whatsapp" in texts["shares"]
        assert "Generation 1" in texts["shares"]
        assert "Audit log" in texts["audit"]
        assert only_first_party(dash, demo.hub) == []
        assert await dash.problems() == []

    async def test_range_picker_and_the_data_table(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        toggle = page.locator("figure.chart button.toggle").first
        assert await toggle.get_attribute("aria-expanded") == "false"
        await toggle.press("Enter")  # keyboard
        assert await toggle.get_attribute("aria-expanded") == "true"
        rows = page.locator("figure.chart .table-box tbody tr")
        assert await rows.count() == 30  # the default range: the last 30 days
        await page.click("button.preset[data-preset='7']")
        await page.wait_for_function(
            "() => document.querySelectorAll('figure.chart .table-box tbody tr').length === 7"
        )
        assert await page.get_attribute("button.preset[data-preset='7']", "aria-pressed") == (
            "true"
        )
        # the table adds up: the cumulative column ends at the sum of the daily one
        cells = await page.eval_on_selector_all(
            "figure.chart .table-box tbody tr",
            "(rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent))",
        )
        assert digits(cells[-1][3]) == sum(digits(c[0]) for c in cells)
        # a custom range of two days
        await page.fill("#range-from", "2020-01-01")
        await page.fill("#range-to", "2020-01-02")
        await page.click(".custom-range button[type=submit]")
        await page.wait_for_function(
            "() => document.querySelectorAll('figure.chart .table-box tbody tr').length === 2"
        )
        await page.click("#nav-sources")
        await page.wait_for_selector("#view-body .nothing")
        assert await dash.problems() == []

    async def test_keyboard_only(self, open_dashboard: Opener, demo: Demo) -> None:
        dash = await open_dashboard()
        page = dash.page
        login = demo.logins["river-alliance"]
        await page.focus("#login-email")
        await page.keyboard.type(login.email)
        await page.keyboard.press("Tab")
        await page.keyboard.type(login.password)
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#total-supporters")
        # tab to the "Sources" link and follow it: the view's heading takes the focus
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "nav-sources":
                break
        else:
            raise AssertionError("the Sources link is not reachable with Tab")
        await page.keyboard.press("Enter")
        await page.wait_for_function("() => document.activeElement.id === 'view-title'")
        assert await page.inner_text("#view-title") == "Sources"
        # a focused element is always visibly outlined
        await page.keyboard.press("Tab")
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"

    async def test_export_downloads_and_is_audited(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        await dash.go("exports")
        async with page.expect_download() as csv_download:
            await page.click("#export-csv")
        download = await csv_download.value
        csv = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
        rows = list(DictReader(csv.splitlines()))
        assert {"email", "consent", "consent_version", "flagged", "source", "utm_campaign"} <= set(
            rows[0]
        )
        assert len(rows) > 10
        # its own page's signers, with where they came from
        [marker] = [r for r in rows if r["email"] == "marker-0.river-alliance@signers.example"]
        assert (marker["source"], marker["utm_campaign"]) == MARKERS["river-alliance"]
        assert "bot-0@signers.example" not in csv  # flagged ones only when asked
        async with page.expect_download() as jsonl_download:
            await page.click("#export-jsonl")
        jsonl_path = Path(await (await jsonl_download.value).path())
        jsonl = await asyncio.to_thread(jsonl_path.read_text, "utf-8")
        first = json.loads(jsonl.splitlines()[0])
        assert "email" in first
        await page.wait_for_selector("#export-result:has-text('audit log')")
        await dash.go("audit")
        rows = page.locator("table.audit tbody tr")
        assert await rows.count() >= 2
        first_row = await rows.first.inner_text()
        assert "contacts.export" in first_row
        assert demo.logins["river-alliance"].email in first_row
        assert "format: jsonl" in first_row
        await page.select_option("#audit-filter", "partner.")
        await page.wait_for_function(
            "() => [...document.querySelectorAll('table.audit tbody tr')]"
            ".every((r) => !r.textContent.includes('contacts.export'))"
        )
        assert await dash.problems() == []


class TestPartner:
    async def test_a_partner_sees_totals_and_only_its_own_breakdowns(
        self,
        open_dashboard: Opener,
        demo: Demo,
        dashboard_artifacts: Path,
        axe_source: str,
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        login = demo.logins["anglers-united"]
        await log_in(dash, login)
        # the campaign's totals, the same as the lead's
        assert digits(await page.inner_text("#total-supporters")) == await demo.supporters()
        texts = []
        for view in VIEWS:
            await dash.go(view)
            await shot(dash, dashboard_artifacts, f"partner-{view}")
            opened = await dash.open_tables()
            texts.append(await dash.text())
            assert await dash.axe(axe_source) == [], view
            if view in ("sources", "partners", "audience"):
                assert opened > 0, view
        everything = "\n".join(texts)
        # its own page, never another partner's page, sources or UTM campaigns
        assert demo.pages["anglers-united"][1] in everything
        assert "Per-partner figures are for the campaign's lead and coordinators" in everything
        # (the lead's page is named like the campaign, "river-alliance/clean-rivers": that
        # name is public, so the coordinator's page name is the one to look for)
        forbidden = [
            demo.pages["friends-of-the-delta"][1],
            *(value for pair in MARKERS.values() for value in pair),
        ]
        for value in forbidden:
            assert value not in everything, value
            assert not any(value in answer for answer in dash.api_answers), value
        # no personal data: the only addresses on the page are its own staff's
        assert set(EMAIL.findall(everything)) <= {login.email}
        for email in demo.signer_emails:
            assert email not in everything
        assert only_first_party(dash, demo.hub) == []
        assert await dash.problems() == []

    async def test_retry_the_failing_connector(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["anglers-united"])
        await dash.go("delivery")
        card = page.locator(f"li.connector[data-connector='{demo.crm_name}']")
        assert "failing" in (await card.get_attribute("class") or "")
        assert digits(await card.locator(".stat.failed dd").inner_text()) == 2
        assert "connection refused" in await card.locator(".last-error").inner_text()
        await shot(dash, dashboard_artifacts, "partner-delivery-failing")
        await card.locator("button.retry").click()
        await page.wait_for_selector("#status:has-text('2 deliveries')")
        card = page.locator(f"li.connector[data-connector='{demo.crm_name}']")
        await page.wait_for_function(
            """(name) => document.querySelector(`li.connector[data-connector="${name}"]
                 .stat.failed dd`).textContent === '0'""",
            arg=demo.crm_name,
        )
        assert await card.locator("button.retry").is_disabled()
        assert await dash.problems() == []


PAUSE = """
mutation($c: String!) { pauseMailToTarget(input: {campaign: $c}) { __typename } }
"""
RESUME = """
mutation($c: String!) { resumeMailToTarget(input: {campaign: $c}) { __typename } }
"""


async def table_rows(dash: Dashboard, title: str) -> dict[str, list[str]]:
    """The rows of a figure's table (opened), by their first cell."""
    found: dict[str, list[str]] = await dash.page.evaluate(
        """(title) => {
          const figure = [...document.querySelectorAll('#view-body figure.chart')]
            .find((f) => f.querySelector('h3').textContent === title);
          return Object.fromEntries([...figure.querySelectorAll('.table-box tbody tr')]
            .map((r) => [r.querySelector('th').textContent,
                         [...r.querySelectorAll('td')].map((c) => c.textContent)]));
        }""",
        title,
    )
    return found


class TestMailToTarget:
    async def test_the_lead_sees_targets_areas_held_messages_and_the_pause(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path, axe_source: str
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        # when
        await dash.go("targets")
        assert await dash.open_tables() == 2  # per area, per target: each chart's table
        await shot(dash, dashboard_artifacts, "lead-targets-open")
        # then: per area (3 written: 2 queued for Riverside's pair, 1 awaiting moderation)
        areas = await table_rows(dash, "Messages per area")
        # Area | Targets, Written, Sent, Queued, Awaiting moderation, Held by the pause, ...
        assert areas["Riverside"][:6] == ["2", "3", "0", "3", "0", "0"]
        assert areas["Capital"][:6] == ["1", "1", "0", "0", "1", "0"]
        per_target = await table_rows(dash, "Messages per target")
        assert per_target["Mayor of Riverside"][:4] == ["Riverside", "2", "0", "2"]
        assert per_target["Minister for the Environment"][4] == "1"
        assert await page.inner_text("#mtt-moderation-count") == "1"
        assert "every message waits" in await page.inner_text("#mtt-moderation")
        assert "Sending" in await page.inner_text("#mtt-paused")
        # the details are the lead's: addresses with their state, a bounce's error
        text = await dash.text()
        for address in demo.target_addresses:
            assert address in text
        assert "550 5.1.1 mailbox unavailable" in text
        assert await dash.axe(axe_source) == []
        # when the lead pauses the campaign (through the API) and comes back to the view
        access, _ = await demo.token("river-alliance")
        body = await demo.gql(PAUSE, {"c": CAMPAIGN}, access)
        assert body["data"]["pauseMailToTarget"]["__typename"] == "PauseMailToTargetSuccess"
        try:
            await dash.go("overview")
            await dash.go("targets")
            # then the queued messages are held by the pause, and the view says so
            assert "Paused" in await page.inner_text("#mtt-paused")
            assert await page.inner_text("#mtt-held-paused") == "3"
            assert await page.inner_text("#mtt-queued") == "0"
            await shot(dash, dashboard_artifacts, "lead-targets-paused")
            assert await dash.axe(axe_source) == []
        finally:
            await demo.gql(RESUME, {"c": CAMPAIGN}, access)
        assert await dash.problems() == []

    async def test_a_partner_sees_the_public_counters_and_no_address(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path, axe_source: str
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        login = demo.logins["anglers-united"]
        await log_in(dash, login)
        await dash.go("targets")
        assert await dash.open_tables() == 2
        await shot(dash, dashboard_artifacts, "partner-targets")
        # the public counters, per area and per target
        areas = await table_rows(dash, "Messages per area")
        # Area | Sent, Still to go, Failed, Mail app (still to go: held ones too)
        assert areas == {"Capital": ["0", "1", "0", "0"], "Riverside": ["0", "3", "0", "0"]}
        per_target = await table_rows(dash, "Messages per target")
        assert set(per_target) == {
            "Mayor of Riverside",
            "Chair of the Water Board",
            "Minister for the Environment",
        }
        text = await dash.text()
        assert "The campaign's lead and coordinators manage the targets" in text
        # never an address, nor what only managers see
        assert set(EMAIL.findall(text)) <= {login.email}
        for hidden in ("Target addresses", "Awaiting moderation", "mailbox unavailable"):
            assert hidden not in text
        for address in demo.target_addresses:
            assert not any(address in answer for answer in dash.api_answers), address
        assert not any("campaignTargets" in answer for answer in dash.api_answers)
        assert await page.locator("#mtt-moderation-count").count() == 0
        assert await dash.axe(axe_source) == []
        assert await dash.problems() == []

    async def test_a_campaign_without_targets_offers_no_such_view(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        # given an org of its own running a petition only
        async with demo.hub.session() as session:
            org = await f.make_org(session)
            await f.make_campaign(session, org)
            user = await f.make_user(session, f"petition-{secrets.token_hex(3)}@staff.example")
            await f.make_staffer(session, org, user, StaffRole.OWNER)
            await session.commit()
        dash = await open_dashboard()
        # when its owner logs in
        await log_in(dash, Login(user.email, "correct horse battery"))
        # then there is no Mail to target view, even asked for by its address
        assert await dash.page.locator("li[data-view=targets]").is_hidden()
        await dash.page.evaluate("window.location.hash = '#targets'")
        await dash.page.wait_for_function(
            "() => !document.querySelector('#view').hasAttribute('aria-busy')"
        )
        assert await dash.page.inner_text("#view-title") == "Overview"
        assert await dash.problems() == []


class TestLive:
    async def test_a_new_signature_appears_without_reloading(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["anglers-united"])
        before = digits(await page.inner_text("#total-supporters"))
        # when someone signs (through the API, as a widget does) on another partner's page
        body = await demo.gql(
            SIGN,
            {
                "page": demo.pages["friends-of-the-delta"][0],
                "email": f"live.{secrets.token_hex(4)}@example.org",
            },
        )
        assert body["data"]["addActionContact"]["contactRef"]
        # then the campaign total rises on the open page: polled every 5 s, so within 5 s and
        # the poll's answer (the wait allows that answer 3 s on a busy machine)
        await page.wait_for_function(
            "(n) => Number(document.querySelector('#total-supporters').textContent"
            ".replace(/\\D/g, '')) === n",
            arg=before + 1,
            timeout=8_000,
        )
        assert digits(await page.inner_text("#headline-supporters")) == before + 1
        assert await dash.problems() == []

    async def test_polling_pauses_while_the_tab_is_hidden(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        polls: list[str] = []
        page.on(
            "request",
            lambda r: (
                polls.append(r.url)
                if r.url.endswith("/graphql") and "query Live" in (r.post_data or "")
                else None
            ),
        )
        await page.evaluate(
            """() => {
              Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
              document.dispatchEvent(new Event('visibilitychange'));
            }"""
        )
        await page.wait_for_timeout(1_000)  # a poll sent just before is seen here
        count = len(polls)
        await page.wait_for_timeout(6_000)  # longer than one polling interval
        assert len(polls) == count
        async with page.expect_request(lambda r: "query Live" in (r.post_data or "")):
            await page.evaluate(
                """() => {
                  Object.defineProperty(document, 'hidden', {configurable: true,
                                                             get: () => false});
                  document.dispatchEvent(new Event('visibilitychange'));
                }"""
            )


class TestSession:
    async def test_logout_forgets_the_tokens_and_ends_the_session(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        tokens: list[dict[str, str]] = []

        async def remember(response: Any) -> None:
            if response.url.endswith("/graphql") and "LoginSuccess" in (
                response.request.post_data or ""
            ):
                tokens.append((await response.json())["data"]["login"]["tokens"])

        page.on("response", remember)
        await log_in(dash, demo.logins["river-alliance"])
        # held in memory only: nothing in storage or cookies
        assert await page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert await dash.context.cookies() == []
        await page.click("#logout")
        await page.wait_for_selector("#login-form", state="visible")
        assert "You have logged out." in await page.inner_text("#login-message")
        assert await page.evaluate("document.querySelector('#app').childElementCount") == 0
        assert "Clean rivers" not in await page.evaluate("document.body.innerText")
        await shot(dash, dashboard_artifacts, "logged-out-after-logout")
        # the refresh token no longer works
        [pair] = tokens
        refresh = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { __typename } }"
        body = await demo.gql(refresh, {"t": pair["refreshToken"]})
        assert body["data"]["refreshToken"]["__typename"] == "RefreshTokenErrors"
        assert await dash.problems() == []

    async def test_an_expired_access_token_is_renewed_with_the_refresh_rotation(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["river-alliance"])
        refused: list[str] = []

        async def expire_once(route: Any) -> None:
            if not refused and "query Partners" in (route.request.post_data or ""):
                refused.append(route.request.headers.get("authorization", ""))
                await route.fulfill(
                    status=200,
                    content_type="application/json",
                    body=json.dumps(
                        {
                            "data": None,
                            "errors": [
                                {
                                    "message": "Invalid, expired or revoked credentials",
                                    "extensions": {"code": "UNAUTHENTICATED"},
                                }
                            ],
                        }
                    ),
                )
            else:
                await route.continue_()

        sent: list[str] = []
        page.on(
            "request",
            lambda r: (
                sent.append(r.headers.get("authorization", ""))
                if "query Partners" in (r.post_data or "")
                else None
            ),
        )
        await page.route("**/graphql", expire_once)
        async with page.expect_request(lambda r: "mutation Refresh" in (r.post_data or "")):
            await page.click("#nav-partners")
        await page.wait_for_selector("#view-body figure.chart")
        # the view was asked again with the new access token, and the app goes on with it
        assert len(refused) == 1
        assert len(sent) == 2
        assert sent[0] == refused[0]
        assert sent[1].startswith("Bearer ")
        assert sent[1] != sent[0]
        await dash.go("sources")
        assert await page.locator("#view-body figure.chart").count() == 3
        assert await dash.problems() == []

    async def test_org_switcher_for_staff_of_several_orgs(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path
    ) -> None:
        dash = await open_dashboard()
        page = dash.page
        await log_in(dash, demo.logins["multi"])
        options = await page.eval_on_selector_all(
            "#org-select option", "(os) => os.map((o) => o.textContent)"
        )
        assert sorted(options) == ["Anglers United", "Friends of the Delta"]
        assert await page.locator("#campaign-select option").count() == 1
        # a viewer is no owner: no audit log
        assert await page.locator("li[data-view=audit]").is_hidden()
        first = await page.input_value("#org-select")
        other = "friends-of-the-delta" if first == "anglers-united" else "anglers-united"
        await page.select_option("#org-select", other)
        await page.wait_for_selector("#status:has-text('Showing')")
        await dash.go("partners")
        text = await dash.text()
        # the coordinator sees every partner; the partner only its own pages
        if other == "friends-of-the-delta":
            assert "Signatures by partner" in text
        else:
            assert "Signatures by partner" not in text
        await shot(dash, dashboard_artifacts, "multi-org-switched")
        assert await dash.problems() == []


class TestPhone:
    async def test_every_view_fits_375_px(
        self,
        open_dashboard: Opener,
        demo: Demo,
        dashboard_artifacts: Path,
        axe_source: str,
    ) -> None:
        dash = await open_dashboard(viewport=PHONE)
        page = dash.page
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert await dash.axe(axe_source) == []
        await shot(dash, dashboard_artifacts, "phone-login")
        await log_in(dash, demo.logins["river-alliance"])
        for view in VIEWS:
            await dash.go(view)
            await shot(dash, dashboard_artifacts, f"phone-{view}")
            await dash.open_tables()
            await page.wait_for_timeout(100)  # one frame for the chart to take its width
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (view, width)
            assert await dash.axe(axe_source) == [], view
        assert await dash.problems() == []


class TestWeight:
    async def test_everything_the_page_loads_is_within_150_kb_gzip(
        self, open_dashboard: Opener, demo: Demo
    ) -> None:
        dash = await open_dashboard()
        await log_in(dash, demo.logins["river-alliance"])
        for view in VIEWS:
            await dash.go(view)
        total = 0
        for response in dash.loaded:
            assert response.url.startswith(demo.hub.url), response.url
            total += len(gzip.compress(await response.body(), 9))
        assert len(dash.loaded) >= 10  # the page, the modules, the styles, the library
        assert total <= 150 * 1024, total
        assert only_first_party(dash, demo.hub) == []


class TestSingleSignOn:
    async def test_the_org_offers_its_sso_and_the_login_returns_to_the_dashboard(
        self, open_dashboard: Opener, demo: Demo, dashboard_artifacts: Path
    ) -> None:
        from tests.auth.fake_idp import FakeIdp
        from tests.servers import serve_in_thread

        idp = FakeIdp(email=demo.logins["river-alliance"].email)
        with serve_in_thread(idp.app(), name="fake-idp") as issuer:
            idp.issuer = issuer
            access, _ = await demo.token("river-alliance")
            configure = """
            mutation($input: ConfigureSsoInput!) {
              configureSso(input: $input) { __typename }
            }
            """
            sso = {
                "org": "river-alliance",
                "issuer": issuer,
                "clientId": idp.client_id,
                "clientSecret": idp.client_secret,
            }
            body = await demo.gql(configure, {"input": sso}, access)
            assert body["data"]["configureSso"]["__typename"] == "ConfigureSsoSuccess", body
            try:
                dash = await open_dashboard("/dashboard?org=river-alliance")
                page = dash.page
                link = page.locator("#sso-link")
                await link.wait_for(state="visible")
                assert await link.inner_text() == "Log in with River Alliance's single sign-on"
                await shot(dash, dashboard_artifacts, "login-with-sso")
                await link.click()
                # provider -> hub callback -> /dashboard#login_code=... -> logged in
                await page.wait_for_selector("#total-supporters")
                assert "login_code" not in page.url
                assert await page.inner_text("#user-email") == (demo.logins["river-alliance"].email)
                # an org without single sign-on offers none
                other = await open_dashboard("/dashboard?org=anglers-united")
                await other.page.wait_for_selector("#sso-box[data-checked]", state="attached")
                assert await other.page.locator("#sso-box").is_hidden()
            finally:
                remove = 'mutation { removeSso(input: {org: "river-alliance"}) { __typename } }'
                await demo.gql(remove, {}, access)
