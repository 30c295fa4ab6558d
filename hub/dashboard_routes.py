"""The staff dashboard (``/dashboard``): a small bundle of plain ES modules, served by the hub.

No build step: ``dashboard/`` holds the files as written (and the vendored chart library as
published on npm). At load time each file's relative references (``import ... from
"./x.js"``, CSS ``url(./x.svg)``, the index page's ``src``/``href``) are rewritten to the
referenced file's content-hashed URL, children first, so a file's hash covers everything it
pulls in: a changed module changes the URL of every module that imports it, and each URL can
be cached for a year. Only the index page (``/dashboard``) is fetched on every visit.

Every answer carries a strict Content-Security-Policy: scripts, styles and requests only
from this origin, no inline script or style, no frames, DOM sinks locked by Trusted Types.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.db import UnitOfWork
from hub.settings import Settings
from orgs.identity import sso
from orgs.organisations import repository as organisations

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
INDEX = "index.html"
ASSET_PREFIX = "/dashboard/assets/"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    "": "text/plain; charset=utf-8",  # the vendored LICENSE
}
# Never served: npm's files for vendoring, and what npm installs.
NOT_SERVED = {"package.json", "package-lock.json", "README.md"}

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

# Relative references, the only ones rewritten (anything else is left as written).
_JS_REF = re.compile(r"""(\b(?:from|import)\s*\(?\s*)(["'])(\.{1,2}/[^"'\s]+)\2""")
_CSS_REF = re.compile(r"""(url\(\s*)(["']?)(\.{1,2}/[^"')\s]+)\2""")
_HTML_REF = re.compile(r"""(\b(?:src|href)=)(")(\.{1,2}/[^"]+)\2""")


class BundleError(Exception):
    """A reference to a missing file, or modules importing each other in a cycle."""


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes (references rewritten), gzip bytes and hashed URL."""

    source: str  # path under dashboard/, e.g. "views/overview.js"
    url: str  # e.g. "/dashboard/assets/views/overview.3f2a1b9c0d1e.js"
    body: bytes
    gzipped: bytes
    media_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Bundle:
    index: Asset
    assets: dict[str, Asset]  # by URL
    stamp: tuple[tuple[str, int], ...]  # (file, mtime) of every source: rebuilt when one changes

    def by_source(self, source: str) -> Asset:
        return next(a for a in self.assets.values() if a.source == source)


def _served(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or "node_modules" in relative.parts or path.name in NOT_SERVED:
            continue
        if path.suffix in MEDIA_TYPES or path.name == INDEX:
            found[relative.as_posix()] = path
    return found


def _hashed_url(source: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()[:12]
    path = PurePosixPath(source)
    name = f"{path.stem}.{digest}{path.suffix}" if path.suffix else f"{path.name}.{digest}"
    return ASSET_PREFIX + str(path.with_name(name))


def build_bundle(root: Path = DASHBOARD_DIR) -> Bundle:
    """Read ``root`` and give every file its hashed URL (see the module docstring)."""
    sources = _served(root)
    if INDEX not in sources:
        raise BundleError(f"{root / INDEX} is missing")
    raw = {name: path.read_bytes() for name, path in sources.items()}
    built: dict[str, Asset] = {}
    visiting: list[str] = []

    def build(name: str) -> Asset:
        if name in built:
            return built[name]
        if name in visiting:
            raise BundleError("modules import each other in a cycle: " + " -> ".join(visiting))
        visiting.append(name)
        body = raw[name]
        pattern = (
            None
            if name.startswith("vendor/")  # vendored verbatim: compared with npm's bytes
            else _HTML_REF
            if name == INDEX
            else _JS_REF
            if name.endswith(".js")
            else _CSS_REF
            if name.endswith(".css")
            else None
        )
        if pattern is not None:
            here = PurePosixPath(name).parent

            def replace(match: re.Match[str]) -> str:
                target = _normalise(here / match.group(3))
                if target not in raw or target == INDEX:
                    raise BundleError(f"{name} refers to {match.group(3)}, which is not served")
                return f"{match.group(1)}{match.group(2)}{build(target).url}{match.group(2)}"

            body = pattern.sub(replace, body.decode("utf-8")).encode("utf-8")
        suffix = PurePosixPath(name).suffix
        asset = Asset(
            source=name,
            url="/dashboard" if name == INDEX else _hashed_url(name, body),
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            media_type="text/html; charset=utf-8" if name == INDEX else MEDIA_TYPES[suffix],
        )
        visiting.pop()
        built[name] = asset
        return asset

    index = build(INDEX)
    for name in raw:
        build(name)
    assets = {a.url: a for a in built.values() if a.source != INDEX}
    stamp = tuple((name, path.stat().st_mtime_ns) for name, path in sources.items())
    return Bundle(index, assets, stamp)


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return "../"  # outside dashboard/: never served
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


_bundle: Bundle | None = None


def bundle() -> Bundle:
    """The current bundle, rebuilt only when a file under dashboard/ changes."""
    global _bundle
    sources = _served(DASHBOARD_DIR)
    stamp = tuple((name, path.stat().st_mtime_ns) for name, path in sources.items())
    if _bundle is None or _bundle.stamp != stamp:
        _bundle = build_bundle(DASHBOARD_DIR)
    return _bundle


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {**SECURITY_HEADERS, "cache-control": cache_control, "vary": "accept-encoding"}
    if cache_control != "no-store":
        headers["etag"] = asset.etag
        if asset.etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _not_found(text: str) -> Response:
    return Response(
        text,
        status_code=404,
        media_type="text/plain; charset=utf-8",
        headers={**SECURITY_HEADERS, "cache-control": "no-store"},
    )


async def index(request: Request) -> Response:
    # Never cached: a deploy's new asset URLs are seen on the next visit.
    return _respond(request, bundle().index, "no-store")


async def asset(request: Request) -> Response:
    found = bundle().assets.get(request.url.path)
    if found is None:
        # An old hash after a deploy: never serve other content under an immutable URL.
        return _not_found("Unknown dashboard file or version")
    return _respond(request, found, IMMUTABLE_CACHE)


def dashboard_url(settings: Settings) -> str:
    """The dashboard's address: a return URL every org's single sign-on accepts."""
    return settings.public_url.rstrip("/") + "/dashboard"


async def sso_of_org(request: Request) -> Response:
    """Whether an org offers single sign-on, and where the dashboard's login starts.

    Says no more than ``/auth/sso/{org}/start`` does (it redirects or refuses), and org
    names are public (every action page shows its org's).
    """
    name = request.path_params["org"]
    uow: UnitOfWork = request.app.state.uow
    settings: Settings = request.app.state.settings
    async with uow.session() as session:
        org = await organisations.org_by_name(session, name)
    headers = {**SECURITY_HEADERS, "cache-control": "no-store"}
    if org is None or sso.provider_of(org) is None:
        return JSONResponse({"org": name, "sso": False}, status_code=404, headers=headers)
    start = f"/auth/sso/{org.name}/start"
    return JSONResponse(
        {
            "org": org.name,
            "title": org.title,
            "sso": True,
            "loginUrl": start,
            "returnTo": dashboard_url(settings),
        },
        headers=headers,
    )


async def elsewhere(request: Request) -> Response:
    return _not_found("Not found")


routes: list[BaseRoute] = [
    Route("/dashboard", index, methods=["GET", "HEAD"]),
    Route("/dashboard/", index, methods=["GET", "HEAD"]),
    Route(ASSET_PREFIX + "{path:path}", asset, methods=["GET", "HEAD"]),
    Route("/dashboard/sso/{org}", sso_of_org, methods=["GET"]),
    Route("/dashboard/{path:path}", elsewhere, methods=["GET", "HEAD"]),
]
