"""The Email step of a mail-to-target page in the no-JavaScript form (docs/mail-to-target.md).

The widget's Email step, server-rendered: the targets as ticked boxes (all of them, the
signer's choice, or those of the postcode the signer gave in a first small form), the
campaign's subject and message (editable only where the campaign allows), the sentence that
the signer's name goes with the message, and the Reply-To and mail-app boxes where the
campaign offers them. Everything comes from the public GraphQL read (no address, ever); the
post goes through the same intake service as the widget's, which checks every target again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request

MAIL_TO_TARGET = "mail2target"
POSTCODE = "POSTCODE"
CHOOSE = "CHOOSE"
MAX_POSTCODE = 16  # as the public read takes it (resolvers/targets.normalise_postcode)

# every target, and (with a postcode) those of the postcode: which list is shown depends on
# the campaign's selection, known with the same answer
_QUERY = (
    "query($id:Int!,$postcode:String,$near:Boolean!){actionPage(id:$id){campaign{"
    "mailToTarget{mode editable askReplyTo selection subject body} "
    "targets{id name area} near:targets(postcode:$postcode) @include(if:$near){id name area}}}}"
)


@dataclass(frozen=True)
class EmailStep:
    """What the form shows of a page's Email step (public data only)."""

    mode: str  # SERVER, MAILTO, BOTH
    editable: bool
    ask_reply_to: bool
    selection: str  # CHOOSE, POSTCODE, ALL
    subject: str
    body: str
    targets: tuple[dict[str, Any], ...]  # {id, name, area}; POSTCODE: the postcode's only
    postcode: str | None  # POSTCODE: the signer's, once given

    @property
    def needs_postcode(self) -> bool:
        """A postcode campaign whose signer has not given one yet, or one nobody answers
        for: ask it (again) first."""
        return self.selection == POSTCODE and not (self.postcode and self.targets)


def is_mail_to_target(page: Mapping[str, Any] | None) -> bool:
    config = page.get("config") if page else None
    return isinstance(config, dict) and config.get("actionType") == MAIL_TO_TARGET


def clean_postcode(value: str | None) -> str | None:
    kept = " ".join((value or "").split())[:MAX_POSTCODE]
    return kept or None


async def email_step_of(
    request: Request, page: Mapping[str, Any], postcode: str | None
) -> EmailStep | None:
    """The page's Email step (None for any other page), through the public GraphQL read."""
    if not is_mail_to_target(page):
        return None
    postcode = clean_postcode(postcode)
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=str(request.base_url)) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": _QUERY,
                "variables": {"id": page["id"], "postcode": postcode, "near": bool(postcode)},
            },
        )
    found = (response.json().get("data") or {}).get("actionPage") if response.is_success else None
    if found is None:
        return None
    settings = found["campaign"]["mailToTarget"]
    selection = settings["selection"]
    targets = tuple(found["campaign"]["targets"])
    if selection == POSTCODE:  # never the whole list: the postcode picks them
        targets = tuple(found["campaign"].get("near") or ())
    return EmailStep(
        mode=settings["mode"],
        editable=bool(settings["editable"]),
        ask_reply_to=bool(settings["askReplyTo"]),
        selection=selection,
        subject=settings["subject"] or "",
        body=settings["body"] or "",
        targets=targets,
        postcode=postcode if selection == POSTCODE else None,
    )


def form_url(hub: str, page_id: Any, return_url: str, postcode: str | None = None) -> str:
    query = {k: v for k, v in (("postcode", postcode), ("returnUrl", return_url)) if v}
    return f"{hub}/act/{page_id}" + (f"?{urlencode(query)}" if query else "")


def postcode_form(
    hub: str, page: Mapping[str, Any], return_url: str, s: Mapping[str, str], step: EmailStep
) -> str:
    """The first step on a postcode campaign: the signer's postcode, sent to the hub's form
    page (GET), which answers the form with that postcode's targets."""
    none = ""
    if step.postcode is not None:  # given, and nobody answers for it
        none = f'\n      <p role="status">{escape(s["mttNone"])}</p>'
    return f"""<form method="get" action="{escape(hub)}/act/{escape(str(page["id"]))}">{none}
      <p><label>{escape(s["postcode"])}
        <input name="postcode" autocomplete="postal-code" required maxlength="100"
               value="{escape(step.postcode or "")}"></label></p>
      <input type="hidden" name="returnUrl" value="{escape(return_url)}">
      <p><button type="submit">{escape(s["mttFind"])}</button></p>
    </form>"""


def _checked(on: bool) -> str:
    return " checked" if on else ""


def head_fields(
    hub: str,
    page: Mapping[str, Any],
    return_url: str,
    s: Mapping[str, str],
    step: EmailStep,
    values: Mapping[str, str] | None,
    chosen: Collection[str] | None,
) -> str:
    """Above the contact fields: to whom (the boxes), the subject and the message.

    ``values``/``chosen``: what the signer sent, when the form comes back with errors.
    """
    boxes = []
    for target in step.targets:
        label = target["name"] + (f" ({target['area']})" if target.get("area") else "")
        ticked = (
            target["id"] in chosen
            if chosen is not None
            else step.selection != CHOOSE or len(step.targets) == 1
        )
        boxes.append(
            f'\n        <p><label><input type="checkbox" name="target" '
            f'value="{escape(target["id"])}"{_checked(ticked)}> {escape(label)}</label></p>'
        )
    where = ""
    if step.selection == POSTCODE and step.postcode:
        change = form_url(hub, page["id"], return_url)
        where = (
            f'\n        <input type="hidden" name="postcode" value="{escape(step.postcode)}">'
            f"\n        <p>{escape(s['postcode'])}: <strong>{escape(step.postcode)}</strong> "
            f'<a href="{escape(change)}">{escape(s["mttChange"])}</a></p>'
        )
    subject, body = step.subject, step.body
    if values is not None and step.editable:
        subject = values.get("subject", subject)
        body = values.get("body", body)
    fixed = "" if step.editable else " readonly"
    text = escape(body)
    wide = 'style="width: 100%; box-sizing: border-box"'
    return f"""<fieldset>
        <legend>{escape(s["mttTo"])}</legend>{where}{"".join(boxes)}
      </fieldset>
      <p><label>{escape(s["mttSubject"])}<br>
        <input name="subject" maxlength="200" required{fixed} {wide}
               value="{escape(subject)}"></label></p>
      <p><label>{escape(s["mttBody"])}<br>
        <textarea name="body" rows="10" maxlength="10000" required{fixed} {wide}>{text}</textarea>
      </label></p>"""


def tail_fields(s: Mapping[str, str], step: EmailStep, values: Mapping[str, str] | None) -> str:
    """Below the contact fields: what goes to the targets with the message."""
    sent = values or {}
    out = [f"<p>{escape(s['mttNotice'])}</p>"]
    if step.ask_reply_to:
        out.append(
            f'<p><label><input type="checkbox" name="replyTo" value="1"'
            f"{_checked(sent.get('replyTo') == '1')}> {escape(s['mttReply'])}</label></p>"
        )
    if step.mode == "BOTH":
        out.append(
            f'<p><label><input type="checkbox" name="mailto" value="1"'
            f"{_checked(sent.get('mailto') == '1')}> {escape(s['mttOwn'])}</label></p>"
        )
    return "\n      ".join(out)
