"""Fast checks of the widget: size budget, config schema and examples, strings, routes, docs."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from hub.widget_routes import IMMUTABLE_CACHE, routes, widget_asset
from orgs.models import CampaignStatus, PageStatus
from orgs.pages.config import config_schema
from tests.factories import make_campaign, make_org, make_page

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "widget" / "widget.js"
EXAMPLES = sorted((ROOT / "widget" / "examples").glob("*.json"))
GZIP_BUDGET = 20 * 1024
LOCALES = ["en", "fr", "de", "es", "it", "nl", "pl", "pt"]
# Strings that may be empty in a table: no heading/intro by default; plural forms a language lacks.
OPTIONAL_STRINGS = {"heading", "intro", "count_few", "count_many"}


def _widget_keys() -> list[str]:
    match = re.search(r"const KEYS = \((.*?)\)\.split", WIDGET.read_text("utf-8"), re.S)
    assert match
    return "".join(re.findall(r"'([^']*)'", match.group(1))).split()


def _widget_tables() -> dict[str, list[str]]:
    source = WIDGET.read_text("utf-8")
    start = source.index("const TABLES = {")
    block = source[start : source.index("};", start)]
    return {lang: text.split("|") for lang, text in re.findall(r"(\w\w): '([^']*)'", block)}


class TestSize:
    def test_gzip_under_budget(self) -> None:
        size = len(gzip.compress(WIDGET.read_bytes(), compresslevel=9))
        assert size < GZIP_BUDGET, f"widget.js is {size} bytes gzip, budget {GZIP_BUDGET}"

    def test_no_third_party_urls_but_share_targets(self) -> None:
        # The only absolute URLs are the share intents a supporter navigates to on purpose.
        urls = set(re.findall(r"https?://[^/'\"\s{]+", WIDGET.read_text("utf-8")))
        assert urls <= {
            "https://wa.me",
            "https://www.facebook.com",
            "https://bsky.app",
            "https://t.me",
            "https://www.linkedin.com",
            "https://x.com",
            "https://",  # the Mastodon server the supporter types
        }
        assert "document.cookie" not in WIDGET.read_text("utf-8")
        assert "localStorage" not in WIDGET.read_text("utf-8")


class TestConfigSchema:
    def test_schema_is_valid_draft_2020_12(self) -> None:
        schema = config_schema()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)

    @pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
    def test_examples_are_valid(self, example: Path) -> None:
        jsonschema.Draft202012Validator(config_schema()).validate(json.loads(example.read_text()))

    @pytest.mark.parametrize(
        "config",
        [
            {"unknown": 1},
            {"fields": {"email": "hidden"}},
            {"fields": {"firstName": "sometimes"}},
            {"fields": {"middleName": "optional"}},
            {"theme": {"primary": "red"}},
            {"theme": {"primary": "#123456", "shadow": "big"}},
            {"theme": {"font": "x; background: url(https://tracker.example)"}},
            {"customFields": [{"name": "email", "label": "Email again"}]},
            {"customFields": [{"name": "has space", "label": "x"}]},
            {"customFields": [{"name": "ok"}]},
            {"share": {"networks": ["myspace"]}},
            {"share": {"networks": ["x", "x"]}},
            {"counter": {"min": -1}},
            {"redirectUrl": "javascript:alert(1)"},
            {"text": {"fr": {"notAString": "x"}}},
            {"text": {"French": {"sign": "Signer"}}},
        ],
    )
    def test_bad_configs_are_rejected(self, config: dict[str, Any]) -> None:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(config_schema()).validate(config)

    def test_text_names_match_the_widget_strings(self) -> None:
        names = config_schema()["properties"]["text"]["additionalProperties"]["properties"]
        assert list(names) == _widget_keys()

    def test_share_networks_match_the_widget(self) -> None:
        schema = config_schema()["properties"]["share"]["properties"]["networks"]
        source = WIDGET.read_text("utf-8")
        block = source[source.index("const NETS = {") : source.index("};", source.index("NETS"))]
        assert schema["items"]["enum"] == [*re.findall(r"^\s+(\w+): \[", block, re.M), "native"]


class TestStrings:
    def test_every_language_is_complete(self) -> None:
        keys = _widget_keys()
        tables = _widget_tables()
        assert sorted(tables) == sorted(LOCALES)
        for lang, values in tables.items():
            assert len(values) == len(keys), f"{lang}: {len(values)} strings for {len(keys)} keys"
            missing = [k for k, v in zip(keys, values, strict=True) if not v]
            assert set(missing) <= OPTIONAL_STRINGS, f"{lang} lacks {missing}"

    def test_placeholders_survive_translation(self) -> None:
        keys = _widget_keys()
        tables = _widget_tables()
        for lang, values in tables.items():
            for key, en, text in zip(keys, tables["en"], values, strict=True):
                if text:
                    wanted = set(re.findall(r"\{\w+\}", en or text))
                    assert set(re.findall(r"\{\w+\}", text)) == wanted, (lang, key)


@pytest.fixture
async def assets() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=routes))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


class TestScriptRoutes:
    async def test_alias_is_short_cached_with_etag(self, assets: httpx.AsyncClient) -> None:
        response = await assets.get("/widget.js", headers={"accept-encoding": "identity"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "max-age=300" in response.headers["cache-control"]
        assert response.content == WIDGET.read_bytes()
        asset = widget_asset()
        assert response.headers["etag"] == asset.etag
        assert response.headers["link"] == f"<{asset.hashed_path}>; rel=canonical"
        again = await assets.get("/widget.js", headers={"if-none-match": asset.etag})
        assert again.status_code == 304
        assert again.content == b""

    async def test_gzip_when_accepted(self, assets: httpx.AsyncClient) -> None:
        response = await assets.get("/widget.js", headers={"accept-encoding": "gzip, br"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.content == WIDGET.read_bytes()  # httpx decodes it
        assert int(response.headers["content-length"]) < GZIP_BUDGET

    async def test_hashed_url_is_immutable(self, assets: httpx.AsyncClient) -> None:
        asset = widget_asset()
        response = await assets.get(asset.hashed_path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == IMMUTABLE_CACHE
        assert response.content == WIDGET.read_bytes()

    async def test_unknown_hash_is_not_found(self, assets: httpx.AsyncClient) -> None:
        response = await assets.get("/widget.0123456789ab.js")
        assert response.status_code == 404
        assert "immutable" not in response.headers.get("cache-control", "")

    async def test_schema_is_served(self, assets: httpx.AsyncClient) -> None:
        response = await assets.get("/widget.schema.json")
        assert response.status_code == 200
        assert response.json() == config_schema()


class TestDemoPage:
    async def test_embeds_the_snippet_and_the_no_js_form(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        # given a partner page in a coalition
        lead = await make_org(session, title="River Alliance")
        partner = await make_org(session, title="Friends of the Delta")
        campaign = await make_campaign(session, lead, title="Clean rivers")
        page = await make_page(session, partner, campaign, locale="fr")
        await session.flush()
        # when
        by_id = await client.get(f"/demo/{page.id}")
        by_name = await client.get(f"/demo/{page.name}")
        # then
        assert by_id.status_code == by_name.status_code == 200
        html = by_id.text
        assert by_name.text.replace(f"/demo/{page.name}", f"/demo/{page.id}") == html
        assert (
            f'<script src="http://hub.test/widget.js" data-page="{page.id}" async></script>' in html
        )
        assert '<html lang="fr" dir="ltr">' in html
        assert "<div data-coalition-widget>" in html
        assert f'<form method="post" action="http://hub.test/act/{page.id}">' in html
        assert "Email me, Friends of the Delta" in html  # the page org's opt-in wording
        assert 'name="leadOptIn"' in html  # the lead differs from the page org
        assert 'name="consentVersion" value="v1"' in html
        assert 'name="website"' in html  # honeypot

    async def test_unpublished_or_unknown_page_is_not_found(
        self, session: AsyncSession, client: httpx.AsyncClient
    ) -> None:
        org = await make_org(session)
        draft = await make_page(
            session, org, await make_campaign(session, org), status=PageStatus.DRAFT
        )
        # a live page of a draft campaign is not public either (ids are sequential)
        unlaunched = await make_page(
            session, org, await make_campaign(session, org, status=CampaignStatus.DRAFT.value)
        )
        await session.flush()
        assert (await client.get(f"/demo/{draft.id}")).status_code == 404
        assert (await client.get(f"/demo/{unlaunched.id}")).status_code == 404
        assert (await client.get("/demo/no-such-page")).status_code == 404


class TestDocs:
    def test_config_reference_is_up_to_date(self) -> None:
        spec = importlib.util.spec_from_file_location(
            "gen_widget_docs", ROOT / "scripts" / "gen_widget_docs.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        docs = (ROOT / "docs" / "widget.md").read_text("utf-8")
        assert module.updated(docs, module.render()) == docs, (
            "run: uv run python scripts/gen_widget_docs.py"
        )
