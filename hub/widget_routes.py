"""Routes serving the action widget: the script (stable alias and immutable hashed URL), a
demo host page that embeds it exactly as a campaigner would, and a page's targets as the
list file Proca's widget loads for its Email step (``component.email.listUrl``)."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.email_step import (
    POSTCODE,
    EmailStep,
    email_step_of,
    head_fields,
    is_mail_to_target,
    postcode_form,
    tail_fields,
)
from orgs.i18n import catalog
from orgs.pages.config import SCHEMA_PATH

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
SCRIPT = WIDGET_DIR / "widget.js"

# The alias may change on every deploy, so browsers and CDNs revalidate it often (cheaply, with
# the ETag); the hashed URL never changes content, so it is cached for a year.
ALIAS_CACHE = "public, max-age=300, stale-while-revalidate=3600"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
JS_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class WidgetAsset:
    """The script as served: raw and gzip bytes, content hash and ETag."""

    body: bytes
    gzipped: bytes
    digest: str  # first 12 hex digits of the SHA-256 of the body
    mtime_ns: int

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def hashed_path(self) -> str:
        return f"/widget.{self.digest}.js"


_asset: WidgetAsset | None = None


def widget_asset() -> WidgetAsset:
    """The current script, re-read only when the file changes on disk."""
    global _asset
    mtime = SCRIPT.stat().st_mtime_ns
    if _asset is None or _asset.mtime_ns != mtime:
        body = SCRIPT.read_bytes()
        _asset = WidgetAsset(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            digest=hashlib.sha256(body).hexdigest()[:12],
            mtime_ns=mtime,
        )
    return _asset


def _script_response(request: Request, asset: WidgetAsset, cache_control: str) -> Response:
    headers = {
        "cache-control": cache_control,
        "etag": asset.etag,
        "vary": "accept-encoding",
        "x-content-type-options": "nosniff",
        # Lets a page use Subresource Integrity or crossorigin="anonymous" on the tag.
        "access-control-allow-origin": "*",
        "cross-origin-resource-policy": "cross-origin",
    }
    if asset.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["content-encoding"] = "gzip"
        return Response(asset.gzipped, media_type=JS_TYPE, headers=headers)
    return Response(asset.body, media_type=JS_TYPE, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


async def widget_alias(request: Request) -> Response:
    asset = widget_asset()
    response = _script_response(request, asset, ALIAS_CACHE)
    response.headers["link"] = f"<{asset.hashed_path}>; rel=canonical"
    return response


async def widget_hashed(request: Request) -> Response:
    asset = widget_asset()
    if request.path_params["digest"] != asset.digest:
        # An old hash after a deploy: never serve other content under an immutable URL.
        return Response("Unknown widget version", status_code=404, media_type="text/plain")
    return _script_response(request, asset, IMMUTABLE_CACHE)


_DEMO_QUERY = (
    "query($id:Int,$name:String){actionPage(id:$id,name:$name){id name locale status config "
    "org{name title privacyPolicyUrl} campaign{title leadOrg{name title} "
    "consent{version optInText leadOptInText}}}}"
)


async def public_page_of(request: Request, page: str) -> dict[str, Any] | None:
    """The page as the widget sees it, through the hub's own public GraphQL endpoint."""
    variables: dict[str, Any] = {"id": int(page)} if page.isdigit() else {"name": page}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        response = await client.post(
            "/graphql", json={"query": _DEMO_QUERY, "variables": variables}
        )
    if response.status_code != 200:
        return None
    found: dict[str, Any] | None = (response.json().get("data") or {}).get("actionPage")
    return found


def page_texts(page: dict[str, Any] | None) -> dict[str, str]:
    """The no-JS form's strings for a page: its locale's language (orgs/i18n) with the page's
    own ``text`` overrides from its widget config, as the widget uses them."""
    if page is None:
        return catalog.form_texts(None)
    config = page.get("config")
    overrides = config.get("text") if isinstance(config, dict) else None
    if is_mail_to_target(page):
        return catalog.mtt_form_texts(page.get("locale"), overrides)
    return catalog.form_texts(page.get("locale"), overrides)


def html_attributes(page: dict[str, Any] | None) -> str:
    """``lang`` and ``dir`` of an HTML page about ``page`` (the widget's rule: the page's
    locale and its direction)."""
    locale = page.get("locale") if page is not None else None
    return f'lang="{escape(catalog.language_tag(locale))}" dir="{catalog.direction(locale)}"'


def no_js_form(
    hub: str,
    page: dict[str, Any],
    return_url: str,
    step: EmailStep | None = None,
    *,
    values: Mapping[str, str] | None = None,
    chosen: Collection[str] | None = None,
    render_time: str | None = None,
) -> str:
    """The plain HTML form a campaigner puts inside the placeholder; it works without JS.
    Its labels are in the page's language (see :func:`page_texts`).

    ``step``: a mail-to-target page's Email step (hub/email_step.py); on a postcode campaign
    whose signer gave no postcode yet, the form is the small postcode form. ``values`` and
    ``chosen`` (the ticked targets) fill it again when it comes back with errors;
    ``render_time`` is the signed time the hub's own form page adds.
    """
    if step is not None and step.needs_postcode:
        return postcode_form(hub, page, return_url, page_texts(page), step)
    s = {key: escape(value) for key, value in page_texts(page).items()}
    sent = values or {}

    def value(name: str) -> str:
        return f' value="{escape(sent[name])}"' if sent.get(name) else ""

    def ticked(name: str) -> str:
        return " checked" if sent.get(name) == "1" else ""

    org, campaign = page["org"], page["campaign"]
    lead, consent = campaign["leadOrg"], campaign["consent"]
    names = {"org": org["title"], "lead": lead["title"]}
    opt_in = catalog.fill(consent["optInText"], **names)
    privacy = (
        f' <a href="{escape(org["privacyPolicyUrl"])}">{s["privacy"]}</a>'
        if org.get("privacyPolicyUrl")
        else ""
    )
    lead_box = ""
    if lead["name"] != org["name"] and consent.get("leadOptInText"):
        lead_text = catalog.fill(consent["leadOptInText"], **names)
        lead_box = (
            f'\n      <input type="hidden" name="leadOptInShown" value="1">'
            f'\n      <p><label><input type="checkbox" name="leadOptIn" value="1"'
            f"{ticked('leadOptIn')}> {escape(lead_text)}</label></p>"
        )
    texts = page_texts(page)
    head = tail = ""
    postcode = f"""
      <p><label>{s["postcode"]} {s["optional"]}
        <input name="postcode" autocomplete="postal-code"{value("postcode")}></label></p>"""
    if step is not None:
        head = "\n      " + head_fields(hub, page, return_url, texts, step, values, chosen)
        tail = "\n      " + tail_fields(texts, step, values)
        if step.selection == POSTCODE:
            postcode = ""  # given in the first step, carried in the Email step's fieldset
    stamp = (
        f'\n      <input type="hidden" name="_t" value="{escape(render_time)}">'
        if render_time
        else ""
    )
    contact = f"""
      <p><label>{s["firstName"]}
        <input name="firstName" autocomplete="given-name" required{value("firstName")}></label></p>
      <p><label>{s["email"]}
        <input type="email" name="email" autocomplete="email" required{value("email")}>
        </label></p>"""
    opt_in_box = (
        f'<p><label><input type="checkbox" name="optIn" value="1"{ticked("optIn")}> '
        f"{escape(opt_in)}</label>{privacy}</p>"
    )
    fields = head + contact + postcode + tail
    return f"""<form method="post" action="{escape(hub)}/act/{page["id"]}">{fields}
      <input type="hidden" name="optInShown" value="1">
      {opt_in_box}
      {lead_box}
      <input type="hidden" name="consentVersion" value="{escape(consent["version"])}">
      <input type="hidden" name="returnUrl" value="{escape(return_url)}">
      <p style="position:absolute;left:-9999px" aria-hidden="true"><label>{s["honeypot"]}
        <input name="website" tabindex="-1" autocomplete="off"></label></p>{stamp}
      <p><button type="submit">{s["sign"]}</button></p>
    </form>"""


async def demo_page(request: Request) -> Response:
    """A host page embedding the widget with the snippet from docs/widget.md."""
    page_ref = request.path_params["page"]
    page = await public_page_of(request, page_ref)
    if page is None:
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>No live action page with that id or name.",
            status_code=404,
        )
    hub = str(request.base_url).rstrip("/")
    title = escape(page["campaign"]["title"])
    step = await email_step_of(request, page, None)
    form = no_js_form(hub, page, str(request.url), step)
    snippet_page = escape(str(page["id"]))
    html = f"""<!doctype html>
<html {html_attributes(page)}>
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="strict-origin-when-cross-origin">
  <title>{title} · demo host page</title>
  <style>
    body {{ font-family: Georgia, serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
           color: #222; line-height: 1.6; }}
    header {{ border-bottom: 1px solid #ccc; margin-bottom: 1.5rem; }}
  </style>
</head>
<body>
  <header><p>{escape(page["org"]["title"])}</p></header>
  <main>
    <h1>{title}</h1>
    <p>This is a demo host page: the widget below is embedded exactly as a campaigner would
       paste it into a WordPress post or a static site.</p>
    <div data-coalition-widget>
    {form}
    </div>
    <script src="{escape(hub)}/widget.js" data-page="{snippet_page}" async></script>
  </main>
</body>
</html>
"""
    return HTMLResponse(html, headers={"cache-control": "no-store"})


_TARGETS_QUERY = (
    "query($id: Int, $name: String) { actionPage(id: $id, name: $name) { "
    "campaign { targets { id name area locale fields } } } }"
)


async def target_list(request: Request) -> Response:
    """A live page's targets in the shape of Proca's target files (``procaid`` is what its
    widget sends back in ``mtt.targets``), read through the public GraphQL read: public
    fields only, never an address."""
    page = request.path_params["page"]
    variables: dict[str, Any] = {"id": int(page)} if page.isdigit() else {"name": page}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        response = await client.post(
            "/graphql", json={"query": _TARGETS_QUERY, "variables": variables}
        )
    found = (response.json().get("data") or {}).get("actionPage") if response.is_success else None
    if found is None:
        return JSONResponse({"error": "no live action page with that id or name"}, 404)
    listed = [
        {"procaid": t["id"], **t, "externalId": t["id"]} for t in found["campaign"]["targets"]
    ]
    return JSONResponse(
        listed, headers={"cache-control": ALIAS_CACHE, "access-control-allow-origin": "*"}
    )


async def widget_schema(request: Request) -> Response:
    return Response(
        SCHEMA_PATH.read_bytes(),
        media_type="application/schema+json",
        headers={"cache-control": ALIAS_CACHE, "access-control-allow-origin": "*"},
    )


routes: list[BaseRoute] = [
    Route("/widget.js", widget_alias, methods=["GET", "HEAD"]),
    Route("/widget.{digest:str}.js", widget_hashed, methods=["GET", "HEAD"]),
    Route("/widget.schema.json", widget_schema, methods=["GET", "HEAD"]),
    Route("/demo/{page:path}", demo_page, methods=["GET"]),
    Route("/targets/{page:path}.json", target_list, methods=["GET"]),
]
