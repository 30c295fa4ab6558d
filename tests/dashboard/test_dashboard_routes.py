"""The dashboard's routes: the index page, content-hashed immutable assets, the security
headers, 404s, the page's weight, and the vendored chart library against its npm package."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub import dashboard_routes
from hub.dashboard_routes import BundleError, build_bundle
from tests.factories import make_org
from tests.widget.conftest import unavailable

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
HASHED = re.compile(r"^/dashboard/assets/(?:[\w-]+/)*[\w.-]+\.([0-9a-f]{12})(?:\.\w+)?$")
REFERENCE = re.compile(
    r"""\b(?:src|href)="([^"]+)"|(?:^|[\s;}])(?:from|import)\s*\(?\s*"([^"]+)"|url\(([^)]+)\)""",
    re.M,
)
PAGE_BUDGET = 150 * 1024  # gzip bytes: the whole-page limit
VENDORED = {
    "vendor/uplot/uPlot.iife.min.js": "node_modules/uplot/dist/uPlot.iife.min.js",
    "vendor/uplot/uPlot.min.css": "node_modules/uplot/dist/uPlot.min.css",
    "vendor/uplot/LICENSE": "node_modules/uplot/LICENSE",
}


def references(body: str) -> list[str]:
    return [next(g for g in match.groups() if g) for match in REFERENCE.finditer(body)]


async def page_graph(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    """Every URL the page loads from its HTML, following imports and CSS urls."""
    index = await client.get("/dashboard")
    found: dict[str, httpx.Response] = {"/dashboard": index}
    todo = [u for u in references(index.text) if u.startswith("/dashboard/assets/")]
    while todo:
        url = todo.pop()
        if url in found:
            continue
        response = await client.get(url)
        found[url] = response
        if url.endswith((".js", ".css")) and "/vendor/" not in url:
            todo.extend(u for u in references(response.text) if u.startswith("/dashboard/"))
    return found


class TestIndex:
    async def test_served_uncached_with_a_strict_policy(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/dashboard")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers
        policy = dict(
            [*part.split(" ", 1), ""][:2]
            for part in response.headers["content-security-policy"].split("; ")
        )
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["base-uri"] == "'none'"
        assert policy["require-trusted-types-for"] == "'script'"
        assert not any("unsafe" in value or "http" in value for value in policy.values())
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        # the trailing-slash address is the same page
        assert (await client.get("/dashboard/")).text == response.text

    async def test_no_inline_script_or_style(self, client: httpx.AsyncClient) -> None:
        html = (await client.get("/dashboard")).text
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        assert scripts
        assert all('src="/dashboard/assets/' in attrs and body == "" for attrs, body in scripts)
        assert "<style" not in html
        assert " style=" not in html
        assert not re.search(r"\son\w+=", html)

    async def test_every_file_it_loads_is_first_party_and_hashed(
        self, client: httpx.AsyncClient
    ) -> None:
        graph = await page_graph(client)
        assets = {url: r for url, r in graph.items() if url != "/dashboard"}
        # the page, the app's modules, its styles and the chart library
        assert len(assets) >= 10
        for url, response in assets.items():
            assert response.status_code == 200, url
            match = HASHED.match(url)
            assert match, url
            assert match.group(1) == hashlib.sha256(response.content).hexdigest()[:12], url
        for url, response in graph.items():
            if "/vendor/" in url:
                continue
            text = response.text
            assert not re.search(r"https?://", text), f"{url} names another site"
            # every reference is to another hashed file of the bundle (or a data: icon)
            for ref in references(text):
                assert ref in graph or ref.startswith(("data:", "#")) or ref == "/dashboard", (
                    url,
                    ref,
                )

    async def test_the_whole_page_is_within_150_kb_gzip(self, client: httpx.AsyncClient) -> None:
        graph = await page_graph(client)
        total = sum(len(gzip.compress(r.content, 9)) for r in graph.values())
        assert total <= PAGE_BUDGET, f"{total} bytes gzip"


class TestAssets:
    async def test_immutable_gzip_etag(self, client: httpx.AsyncClient) -> None:
        asset = dashboard_routes.bundle().by_source("app.js")
        response = await client.get(asset.url, headers={"accept-encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == asset.body  # httpx undoes the gzip
        again = await client.get(asset.url, headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        css = await client.get(dashboard_routes.bundle().by_source("dashboard.css").url)
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        head = await client.head(asset.url)
        assert head.status_code == 200

    @pytest.mark.parametrize(
        "path",
        [
            "/dashboard/assets/app.js",  # unhashed
            "/dashboard/assets/app.000000000000.js",  # an old or made-up hash
            "/dashboard/assets/package.json",
            "/dashboard/assets/package-lock.json",
            "/dashboard/assets/node_modules/uplot/package.json",
            "/dashboard/assets/../hub/app.py",
            "/dashboard/assets/%2e%2e/hub/app.py",
            "/dashboard/assets/index.html",
            "/dashboard/app.js",
            "/dashboard/settings",
        ],
    )
    async def test_anything_else_is_not_found(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        assert response.status_code == 404
        assert "immutable" not in response.headers.get("cache-control", "")

    async def test_module_imports_are_rewritten_to_hashed_urls(self) -> None:
        bundle = dashboard_routes.bundle()
        app = bundle.by_source("app.js").body.decode()
        imports = re.findall(r'from "([^"]+)"', app)
        assert imports
        assert all(HASHED.match(url) and url in bundle.assets for url in imports)
        # the vendored files are served as published
        for source in VENDORED:
            assert bundle.by_source(source).body == (DASHBOARD / source).read_bytes()


def copy_dashboard(tmp_path: Path) -> Path:
    copy = tmp_path / "dashboard"
    shutil.copytree(DASHBOARD, copy, ignore=shutil.ignore_patterns("node_modules"))
    return copy


class TestHashes:
    def test_a_change_renames_the_file_and_those_that_import_it(self, tmp_path: Path) -> None:
        root = copy_dashboard(tmp_path)
        before = build_bundle(root)
        dom = root / "dom.js"
        dom.write_text(dom.read_text() + "\n// changed\n")
        after = build_bundle(root)

        def url(bundle: dashboard_routes.Bundle, source: str) -> str:
            return bundle.by_source(source).url

        # dom.js and every module importing it, directly or not, get new URLs
        for source in ("dom.js", "charts.js", "views/overview.js", "app.js"):
            assert url(before, source) != url(after, source), source
        # the rest keeps its URL (and its cached copy)
        for source in ("queries.js", "api.js", "dashboard.css", "vendor/uplot/uPlot.iife.min.js"):
            assert url(before, source) == url(after, source), source
        assert before.index.body != after.index.body

    def test_a_missing_file_or_a_cycle_is_refused(self, tmp_path: Path) -> None:
        root = copy_dashboard(tmp_path)
        (root / "views" / "common.js").write_text('import { x } from "./nowhere.js";\n')
        with pytest.raises(BundleError, match=r"nowhere\.js"):
            build_bundle(root)
        (root / "views" / "common.js").write_text('import { h } from "../charts.js";\n')
        (root / "dom.js").write_text('import { x } from "./views/common.js";\n')
        with pytest.raises(BundleError, match="cycle"):
            build_bundle(root)
        (root / "dom.js").write_text('import { x } from "../hub/app.py";\n')
        with pytest.raises(BundleError, match="not served"):
            build_bundle(root)


class TestSsoOffer:
    async def test_an_org_with_single_sign_on_says_where_to_start(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        sso = {"issuer": "https://idp.example", "clientId": "hub", "returnUrls": []}
        org = await make_org(session, title="River SSO", settings={"sso": sso})
        await session.flush()
        response = await client.get(f"/dashboard/sso/{org.name}")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.json() == {
            "org": org.name,
            "title": "River SSO",
            "sso": True,
            "loginUrl": f"/auth/sso/{org.name}/start",
            "returnTo": "http://hub.test/dashboard",
        }

    async def test_others_do_not(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        org = await make_org(session)
        await session.flush()
        for name in (org.name, "no-such-org"):
            response = await client.get(f"/dashboard/sso/{name}")
            assert response.status_code == 404
            assert response.json() == {"org": name, "sso": False}


@pytest.fixture(scope="module")
def installed() -> Path:
    """dashboard/node_modules as npm ci makes it from the lock (installed when missing)."""
    modules = DASHBOARD / "node_modules"
    if not (modules / "uplot" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm not found: cannot check the vendored chart library")
        else:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=DASHBOARD,
                check=True,
            )
    return modules


class TestSsoReturnsToTheDashboard:
    async def test_the_dashboard_is_a_return_url_of_every_org(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        from tests.auth.fake_idp import FakeIdp
        from tests.servers import serve_in_thread

        idp = FakeIdp()
        with serve_in_thread(idp.app(), name="fake-idp") as issuer:
            idp.issuer = issuer
            # an org whose provider lists no return URL of its own
            sso = {"issuer": issuer, "clientId": idp.client_id, "returnUrls": []}
            org = await make_org(session, settings={"sso": sso})
            await session.flush()
            start = f"/auth/sso/{org.name}/start"
            response = await client.get(start, params={"returnTo": "http://hub.test/dashboard"})
            assert response.status_code == 303
            assert response.headers["location"].startswith(issuer)
            # only the dashboard itself: not another path, host or scheme
            for other in (
                "http://hub.test/dashboard/elsewhere",
                "http://hub.test/dashboard?x=1",
                "http://evil.example/dashboard",
                "https://hub.test/dashboard",
            ):
                refused = await client.get(start, params={"returnTo": other})
                assert refused.status_code == 400, other


class TestVendoredChartLibrary:
    """dashboard/vendor holds uPlot exactly as the version pinned in dashboard/package-lock."""

    def test_vendored_files_match_the_pinned_package(self, installed: Path) -> None:
        lock = json.loads((DASHBOARD / "package-lock.json").read_text())
        pinned = lock["packages"]["node_modules/uplot"]["version"]
        manifest = json.loads((DASHBOARD / "package.json").read_text())
        assert manifest["dependencies"]["uplot"] == pinned  # an exact pin, no range
        installed_version = json.loads((installed / "uplot" / "package.json").read_text())
        assert installed_version["version"] == pinned
        for vendored, published in VENDORED.items():
            assert (DASHBOARD / vendored).read_bytes() == (DASHBOARD / published).read_bytes(), (
                vendored
            )
        assert f"(v{pinned})" in (DASHBOARD / "vendor/uplot/uPlot.iife.min.js").read_text()[:200]
        assert "MIT License" in (DASHBOARD / "vendor/uplot/LICENSE").read_text()
