"""The widget in real headless Chromium, embedded in a host page, against a running hub."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select

from orgs.models import Action, ActionPage, Campaign, Consent, Org, PageStatus
from tests.factories import make_campaign, make_org, make_page, make_partnership
from tests.widget.conftest import HostSite, LiveHub

pytestmark = pytest.mark.browser

EXAMPLES = {
    path.stem: json.loads(path.read_text("utf-8"))
    for path in sorted((Path(__file__).resolve().parents[2] / "widget" / "examples").glob("*.json"))
}

T = TypeVar("T")
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 390, "height": 844}
RECORD_EVENTS = """
window.__coalitionEvents = [];
for (const name of ['loaded', 'signed', 'shared']) {
  document.addEventListener('coalition:' + name,
    (event) => window.__coalitionEvents.push({type: name, detail: event.detail}));
}
"""
HOSTILE_CSS = """
<style>
  * { all: unset !important; }
  div { display: none !important; }
  [data-coalition-widget] { visibility: hidden !important; height: 0 !important;
                            overflow: hidden !important; opacity: 0 !important; }
  button, input, label { color: red !important; font-size: 2px !important; }
  html { font-family: monospace !important; }
</style>
"""


def host_html(hub: str, page_ref: int | str, *, head: str = "", lang: str = "en") -> str:
    """A partner's page embedding the widget with the documented snippet."""
    return f"""<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Friends of the Delta</title>{head}</head>
<body>
<header><p>Friends of the Delta</p></header>
<main>
  <h1>Clean rivers</h1>
  <p>Our rivers need you.</p>
  <div data-coalition-widget><p>Sign on our petition page.</p></div>
  <script src="{hub}/widget.js" data-page="{page_ref}" async></script>
</main>
</body>
</html>"""


@dataclass
class Coalition:
    lead: Org
    partner: Org
    campaign: Campaign
    page: ActionPage


async def make_coalition(
    hub: LiveHub, *, goal: int = 10, org_settings: dict[str, Any] | None = None, **page_kw: Any
) -> Coalition:
    """A lead, a partner and the partner's page in a live campaign, committed."""
    async with hub.session() as session:
        lead = await make_org(session, title="River Alliance")
        settings = {"privacy_policy_url": "https://delta.example.org/privacy"}
        partner = await make_org(
            session, title="Friends of the Delta", settings={**settings, **(org_settings or {})}
        )
        campaign = await make_campaign(session, lead, title="Clean rivers for everyone", goal=goal)
        await make_partnership(session, campaign, partner)
        page_kw.setdefault("locale", "en")
        page = await make_page(session, partner, campaign, **page_kw)
        await session.commit()
        return Coalition(lead, partner, campaign, page)


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T:
    """Poll until ``probe`` returns something truthy (writes land after the response)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the expected state")
        await asyncio.sleep(0.1)


async def actions_of(hub: LiveHub, page_id: int, action_type: str | None = None) -> list[Action]:
    async with hub.session() as session:
        query = select(Action).where(Action.action_page_id == page_id).order_by(Action.id)
        if action_type:
            query = query.where(Action.action_type == action_type)
        return list((await session.execute(query)).scalars())


@dataclass
class Opened:
    context: Any
    page: Any
    requests: list[str]

    async def events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.page.evaluate("window.__coalitionEvents")
        return found


Opener = Callable[..., Awaitable[Opened]]


@pytest.fixture
async def open_widget(
    browser: Any, host_site: HostSite, live_hub: LiveHub
) -> AsyncIterator[Opener]:
    contexts: list[Any] = []

    async def opener(
        page_ref: int | str,
        *,
        query: str = "",
        head: str = "",
        lang: str = "en",
        viewport: dict[str, int] | None = None,
        wait_for: str | None = ".w form",
        **context_kw: Any,
    ) -> Opened:
        context = await browser.new_context(viewport=viewport or DESKTOP, **context_kw)
        contexts.append(context)
        context.set_default_timeout(10_000)
        # Nothing may leave the two origins; share targets a test opens are answered locally.
        await context.route(
            "https://mastodon.example/**", lambda route: route.fulfill(body="shared")
        )
        page = await context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.add_init_script(RECORD_EVENTS)
        url = host_site.publish(host_html(live_hub.url, page_ref, head=head, lang=lang))
        await page.goto(url + query)
        if wait_for:
            await page.wait_for_selector(wait_for)
        return Opened(context, page, requests)

    yield opener
    for context in contexts:
        await context.close()


async def fill_and_sign(page: Any, *, email: str | None = None, opt_in: bool = True) -> str:
    email = email or f"ana.{secrets.token_hex(4)}@example.org"
    await page.fill("#c-firstName", "Ana")
    await page.fill("#c-email", email)
    if opt_in:
        await page.check("#c-optIn")
    await page.click("button.go")
    return email


def assert_only_first_party(opened: Opened, hub: LiveHub, site: HostSite) -> None:
    strangers = [
        url
        for url in opened.requests
        if not (url.startswith(hub.url) or url.startswith(site.url) or url.startswith("data:"))
    ]
    assert strangers == []


class TestSigning:
    async def test_sign_and_see_the_counter_rise(
        self, live_hub: LiveHub, host_site: HostSite, open_widget: Opener
    ) -> None:
        # given a live partner page and a visitor coming from a newsletter
        coalition = await make_coalition(live_hub, goal=10)
        opened = await open_widget(
            coalition.page.id, query="?utm_source=newsletter&utm_medium=email&utm_campaign=autumn"
        )
        page = opened.page
        counter = page.locator(".counter .n")
        assert await counter.inner_text() == "0 people have signed. Help us reach 10!"
        # consent boxes are never pre-ticked; the lead's is a separate choice
        assert not await page.is_checked("#c-optIn")
        assert not await page.is_checked("#c-leadOptIn")
        assert "Friends of the Delta" in await page.inner_text("label[for=c-optIn]")
        assert "River Alliance" in await page.inner_text("label[for=c-leadOptIn]")
        # when
        email = await fill_and_sign(page)
        # then the thank-you step shows, focused, and the counter has risen
        await page.wait_for_selector("h3:has-text('Thank you for signing!')")
        focused = "document.activeElement.shadowRoot?.activeElement?.tagName"
        assert await page.evaluate(focused) == "H3"
        await page.wait_for_function(
            """() => document.querySelector('[data-coalition-widget]').shadowRoot
                 .querySelector('.counter .n').textContent.startsWith('1 person')"""
        )
        assert await page.get_attribute(".bar", "aria-valuenow") == "1"
        # and the signature is stored with the tracking, consent and no query in location
        [signature] = await eventually(lambda: actions_of(live_hub, coalition.page.id))
        assert signature.action_type == "signature"
        assert (signature.source, signature.medium, signature.tracking_campaign) == (
            "newsletter",
            "email",
            "autumn",
        )
        assert signature.location is not None
        assert "?" not in signature.location
        assert signature.testing is False
        async with live_hub.session() as session:
            consents = (
                await session.execute(
                    select(Consent).where(Consent.supporter_id == signature.supporter_id)
                )
            ).scalars()
            given = {(c.org_id, c.given) for c in consents}
        assert (coalition.partner.id, True) in given
        assert (coalition.lead.id, True) not in given
        # events carry no personal data; no cookies; no third-party request
        events = await opened.events()
        assert [e["type"] for e in events] == ["loaded", "signed"]
        assert email not in json.dumps(events)
        assert "Ana" not in json.dumps(events)
        assert events[1]["detail"] == {
            "page": coalition.page.id,
            "actionType": "signature",
            "doubleOptIn": False,
            "testing": False,
        }
        assert await opened.context.cookies() == []
        assert_only_first_party(opened, live_hub, host_site)

    async def test_page_by_name_and_test_mode(self, live_hub: LiveHub, open_widget: Opener) -> None:
        coalition = await make_coalition(live_hub)
        opened = await open_widget(coalition.page.name, query="?coalition_test=1")
        assert await opened.page.is_visible(".test")
        await fill_and_sign(opened.page)
        [signature] = await eventually(lambda: actions_of(live_hub, coalition.page.id))
        assert signature.testing is True

    async def test_a_page_asking_for_proof_of_work_gets_it(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        # given a page that enables ALTCHA
        coalition = await make_coalition(live_hub, config={"altcha": True})
        opened = await open_widget(coalition.page.id)
        # when a person signs
        await fill_and_sign(opened.page)
        await opened.page.wait_for_selector(".sh")
        # then the browser solved the challenge: the signature counts
        [signature] = await eventually(lambda: actions_of(live_hub, coalition.page.id))
        assert signature.flagged is None

    async def test_returning_supporter_only_when_remembered(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        coalition = await make_coalition(live_hub)
        forgetful = await open_widget(coalition.page.id)
        await fill_and_sign(forgetful.page)
        await forgetful.page.wait_for_selector(".sh")
        await forgetful.page.reload()
        await forgetful.page.wait_for_selector(".w form")  # not remembered: the form again
        remembered = await open_widget(coalition.page.id)
        await remembered.page.check("#c-remember")
        await fill_and_sign(remembered.page)
        await remembered.page.wait_for_selector(".sh")
        await remembered.page.reload()
        await remembered.page.wait_for_selector(".sh")  # the share step, not the form
        assert await remembered.page.locator(".w form:not(.row)").count() == 0  # no petition form
        stored = await remembered.page.evaluate("JSON.stringify(sessionStorage)")
        assert "@" not in stored
        assert "Ana" not in stored
        assert await remembered.context.cookies() == []

    async def test_server_validation_error_under_the_field(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        # given a page asking for a phone number
        coalition = await make_coalition(live_hub, config={"fields": {"phone": "optional"}})
        opened = await open_widget(coalition.page.id)
        page = opened.page
        # when the hub rejects the phone number (the browser cannot tell it is wrong)
        await page.fill("#c-phone", "12")
        await fill_and_sign(page)
        # then the error shows under the phone field, linked and announced, and focus is there
        error = page.locator("#c-phone-e")
        await error.wait_for()
        assert await error.inner_text() == "Please check this field."
        assert await page.get_attribute("#c-phone", "aria-invalid") == "true"
        assert await page.get_attribute("#c-phone", "aria-describedby") == "c-phone-e"
        assert await page.inner_text("#c-email-e") == ""
        assert await page.get_attribute(".alert", "role") == "alert"
        assert (
            await page.evaluate(
                "document.querySelector('[data-coalition-widget]').shadowRoot.activeElement.id"
            )
            == "c-phone"
        )
        assert await actions_of(live_hub, coalition.page.id) == []

    async def test_client_validation_before_sending(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        coalition = await make_coalition(live_hub)
        opened = await open_widget(coalition.page.id)
        page = opened.page
        await page.fill("#c-email", "not-an-email")
        await page.click("button.go")
        assert await page.inner_text("#c-firstName-e") == "Please fill in this field."
        assert await page.inner_text("#c-email-e") == "Please enter a valid email address."
        assert await page.inner_text(".alert") == "Please correct the fields marked below."
        assert not any("/graphql" in url and "mutation" in url for url in opened.requests)


class TestShare:
    async def test_shares_are_recorded_with_the_medium(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        # given a supporter who arrived with their own UTM values and signed
        coalition = await make_coalition(live_hub)
        opened = await open_widget(
            coalition.page.id,
            query="?utm_source=newsletter&utm_medium=email",
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = opened.page
        await fill_and_sign(page)
        await page.wait_for_selector(".sh")
        # then the shared link carries the referral code and replaces the sharer's UTM
        href = await page.get_attribute("[data-network=whatsapp]", "href")
        assert href is not None
        shared = unquote(href).split(" ")[-1]
        parts = urlsplit(shared)
        query = parse_qs(parts.query)
        assert query["utm_source"] == ["share"]
        assert query["utm_medium"] == ["whatsapp"]
        assert query["utm_campaign"] == [coalition.campaign.name]
        assert len(query["coalition_ref"][0]) > 4
        assert "newsletter" not in shared
        # when the supporter copies the link and shares on Mastodon
        await page.click("[data-network=copy]")
        await page.wait_for_selector("text=Link copied.")
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert "coalition_ref=" in copied
        assert "utm_medium=copy" in copied
        await page.click("[data-network=mastodon]")
        await page.fill("#c-mastodon", "mastodon.example")
        async with opened.context.expect_page() as popup_info:
            await page.press("#c-mastodon", "Enter")
        popup = await popup_info.value
        assert popup.url.startswith("https://mastodon.example/share?text=")
        # then each share is stored as a follow-up action of the same supporter
        shares = await eventually(
            lambda: _at_least(actions_of(live_hub, coalition.page.id, "share"), 2)
        )
        assert sorted(a.custom_fields.get("medium") for a in shares) == ["copy", "mastodon"]
        [signature] = await actions_of(live_hub, coalition.page.id, "signature")
        assert {a.supporter_id for a in shares} == {signature.supporter_id}
        events = await opened.events()
        assert [e["detail"] for e in events if e["type"] == "shared"] == [
            {"page": coalition.page.id, "medium": "copy"},
            {"page": coalition.page.id, "medium": "mastodon"},
        ]

    async def test_referral_code_is_sent_by_the_next_signer(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        coalition = await make_coalition(live_hub)
        sharer = await open_widget(coalition.page.id)
        await fill_and_sign(sharer.page)
        await sharer.page.wait_for_selector(".sh")
        href = await sharer.page.get_attribute("[data-network=telegram]", "href")
        assert href is not None
        ref = parse_qs(urlsplit(parse_qs(urlsplit(href).query)["url"][0]).query)["coalition_ref"]
        friend = await open_widget(
            coalition.page.id, query=f"?coalition_ref={ref[0]}&utm_source=share"
        )
        await fill_and_sign(friend.page)
        signatures = await eventually(
            lambda: _at_least(actions_of(live_hub, coalition.page.id, "signature"), 2)
        )
        assert signatures[1].referred_by_supporter_id == signatures[0].supporter_id
        assert signatures[1].source == "share"


async def _at_least(found: Awaitable[list[T]], count: int) -> list[T] | None:
    rows = await found
    return rows if len(rows) >= count else None


class TestPageStates:
    async def test_double_opt_in_notice(self, live_hub: LiveHub, open_widget: Opener) -> None:
        coalition = await make_coalition(live_hub, double_opt_in=True)
        opened = await open_widget(coalition.page.id)
        await fill_and_sign(opened.page)
        notice = opened.page.locator(".doi")
        await notice.wait_for()
        assert "check your inbox" in await notice.inner_text()
        events = await opened.events()
        assert events[-1]["detail"]["doubleOptIn"] is True

    async def test_banner_after_the_confirmation_link(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        coalition = await make_coalition(live_hub, double_opt_in=True)
        opened = await open_widget(coalition.page.id, query="?coalition_confirmed=1")
        assert "Your signature is confirmed" in await opened.page.inner_text(".w")

    async def test_closed_page_says_so_with_the_final_count(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        # given a page that collected a signature and then closed
        coalition = await make_coalition(live_hub, goal=100)
        opened = await open_widget(coalition.page.id)
        await fill_and_sign(opened.page)
        await eventually(lambda: actions_of(live_hub, coalition.page.id))
        async with live_hub.session() as session:
            page = await session.get(ActionPage, coalition.page.id)
            assert page is not None
            page.status = PageStatus.CLOSED.value
            await session.commit()
        # when
        closed = await open_widget(coalition.page.id, wait_for=".closed")
        # then
        text = await closed.page.inner_text(".w")
        assert "This petition has closed." in text
        assert "1 person has signed." in text
        assert await closed.page.locator("form").count() == 0
        assert [e["detail"]["status"] for e in await closed.events()] == ["closed"]

    async def test_bad_config_shows_a_message(self, live_hub: LiveHub, open_widget: Opener) -> None:
        coalition = await make_coalition(live_hub, config={"fields": {"email": "sometimes"}})
        opened = await open_widget(coalition.page.id, wait_for="[role=alert]")
        text = await opened.page.inner_text(".w")
        assert "This petition cannot be shown because its settings are invalid." in text
        assert "(fields.email)" in text
        assert [e["detail"]["status"] for e in await opened.events()] == ["invalid"]

    @pytest.mark.parametrize("example", sorted(EXAMPLES))
    async def test_example_configs_render_the_form(
        self, live_hub: LiveHub, open_widget: Opener, example: str
    ) -> None:
        # The widget's own config check must accept whatever the JSON Schema accepts.
        config = EXAMPLES[example]
        coalition = await make_coalition(live_hub, config=config, locale="de")
        opened = await open_widget(coalition.page.id)
        assert await opened.page.locator("button.go").count() == 1
        for custom in config.get("customFields", []):
            assert await opened.page.locator(f"#c-{custom['name']}").count() == 1
        if "primary" in config.get("theme", {}):
            color = await opened.page.locator("button.go").evaluate(
                "(el) => getComputedStyle(el).backgroundColor"
            )
            hex_color = config["theme"]["primary"].lstrip("#")
            assert color == "rgb({}, {}, {})".format(
                *(int(hex_color[i : i + 2], 16) for i in (0, 2, 4))
            )

    async def test_unknown_page_shows_a_message(self, open_widget: Opener) -> None:
        opened = await open_widget("no-such-org/no-such-page", wait_for="[role=alert]")
        assert "could not be found" in await opened.page.inner_text(".w")
        assert [e["detail"]["status"] for e in await opened.events()] == ["unavailable"]

    async def test_french_page_and_right_to_left_locale(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        french = await make_coalition(live_hub, locale="fr")
        opened = await open_widget(french.page.id)
        assert await opened.page.inner_text("button.go") == "Signer la pétition"
        assert await opened.page.get_attribute(".w", "lang") == "fr"
        assert await opened.page.input_value("#c-country") == "FR"
        arabic = await make_coalition(live_hub, locale="ar")
        opened = await open_widget(arabic.page.id)
        assert await opened.page.get_attribute(".w", "dir") == "rtl"


class TestWithoutJavaScript:
    async def test_the_demo_page_form_posts_to_the_hub(
        self, live_hub: LiveHub, browser: Any
    ) -> None:
        coalition = await make_coalition(live_hub)
        context = await browser.new_context(java_script_enabled=False)
        try:
            page = await context.new_page()
            await page.goto(f"{live_hub.url}/demo/{coalition.page.id}")
            await page.fill("input[name=firstName]", "Noor")
            await page.fill("input[name=email]", f"noor.{secrets.token_hex(3)}@example.org")
            await page.check("input[name=optIn]")
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert page.url.startswith(f"{live_hub.url}/act/{coalition.page.id}")
            # a link back to where the supporter came from
            assert await page.locator(f"a[href='{live_hub.url}/demo/{coalition.page.id}']").count()
        finally:
            await context.close()
        [signature] = await eventually(lambda: actions_of(live_hub, coalition.page.id))
        assert signature.action_type == "signature"


class TestHostileHost:
    async def test_host_css_cannot_break_the_widget(
        self, live_hub: LiveHub, open_widget: Opener, artifacts: Path
    ) -> None:
        coalition = await make_coalition(live_hub)
        opened = await open_widget(coalition.page.id, head=HOSTILE_CSS)
        page = opened.page
        host = page.locator("[data-coalition-widget]")
        host_style = await host.evaluate(
            """(el) => { const s = getComputedStyle(el);
                 return {display: s.display, visibility: s.visibility, opacity: s.opacity,
                         height: el.getBoundingClientRect().height}; }"""
        )
        assert host_style["display"] == "block"
        assert host_style["visibility"] == "visible"
        assert host_style["opacity"] == "1"
        assert host_style["height"] > 300
        button = await page.locator("button.go").evaluate(
            """(el) => { const s = getComputedStyle(el);
                 return {bg: s.backgroundColor, color: s.color, size: s.fontSize,
                         display: s.display, width: el.getBoundingClientRect().width}; }"""
        )
        assert button == {
            "bg": "rgb(29, 78, 216)",
            "color": "rgb(255, 255, 255)",
            "size": "17.6px",
            "display": "inline-flex",
            "width": button["width"],
        }
        assert button["width"] > 200
        for selector in ("#c-firstName", "#c-email", "label[for=c-email]", "#c-optIn"):
            assert await page.is_visible(selector), selector
        label_color = await page.locator("label[for=c-email]").evaluate(
            "(el) => getComputedStyle(el).color"
        )
        assert label_color == "rgb(31, 41, 55)"
        await host.screenshot(path=str(artifacts / "widget-hostile-host.png"))
        # and it still works
        await fill_and_sign(page)
        await page.wait_for_selector(".sh")


class TestAccessibility:
    async def _audit(self, page: Any, axe_source: str) -> list[dict[str, Any]]:
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(content=axe_source)
        violations: list[dict[str, Any]] = await page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.map((n) => n.target.join(' '))}))"""
        )
        return violations

    @pytest.mark.parametrize("viewport", ["mobile", "desktop"])
    async def test_axe_finds_no_violation_and_screenshots(
        self,
        live_hub: LiveHub,
        open_widget: Opener,
        axe_source: str,
        artifacts: Path,
        viewport: str,
    ) -> None:
        coalition = await make_coalition(
            live_hub,
            config={
                "fields": {"phone": "optional", "comment": "optional"},
                "customFields": [
                    {"name": "member", "type": "checkbox", "label": "I am a member"},
                    {
                        "name": "river",
                        "type": "select",
                        "label": "Nearest river",
                        "options": [{"value": "rhine", "label": "Rhine"}],
                    },
                ],
            },
        )
        opened = await open_widget(
            coalition.page.id, viewport=MOBILE if viewport == "mobile" else DESKTOP
        )
        page = opened.page
        # the form
        assert await self._audit(page, axe_source) == []
        await page.locator("[data-coalition-widget]").screenshot(
            path=str(artifacts / f"widget-{viewport}.png")
        )
        # with errors shown
        await page.click("button.go")
        await page.wait_for_selector("#c-firstName[aria-invalid=true]")
        assert await self._audit(page, axe_source) == []
        # the thank-you and share step
        await fill_and_sign(page)
        await page.wait_for_selector(".sh")
        assert await self._audit(page, axe_source) == []
        await page.locator("[data-coalition-widget]").screenshot(
            path=str(artifacts / f"widget-thanks-{viewport}.png")
        )

    async def test_keyboard_only_with_visible_focus(
        self, live_hub: LiveHub, open_widget: Opener
    ) -> None:
        coalition = await make_coalition(live_hub)
        opened = await open_widget(coalition.page.id)
        page = opened.page
        focused_id = (
            "document.querySelector('[data-coalition-widget]').shadowRoot.activeElement?.id"
        )
        await page.keyboard.press("Tab")  # the first focusable thing on the page
        assert await page.evaluate(focused_id) == "c-firstName"
        outline = await page.evaluate(
            """() => { const el = document.querySelector('[data-coalition-widget]')
                 .shadowRoot.activeElement; const s = getComputedStyle(el);
                 return [s.outlineStyle, s.outlineWidth]; }"""
        )
        assert outline == ["solid", "3px"]
        await page.keyboard.type("Ana")
        await page.keyboard.press("Tab")  # last name
        await page.keyboard.press("Tab")  # email
        assert await page.evaluate(focused_id) == "c-email"
        await page.keyboard.type(f"kb.{secrets.token_hex(3)}@example.org")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".sh")
        await eventually(lambda: actions_of(live_hub, coalition.page.id))
