"""``coalition-hub page pull|push``: a page's settings as one JSON file, for campaigners who
prefer files (as Proca's CLI does for widgets).

Both talk to a hub's GraphQL API with an org API token (``--token`` or ``HUB_TOKEN``, scope
``pages:write``), like any other client: ``pull`` writes the page's config, locale, mail
templates, double opt-in and thank-you mail choice; ``push`` checks the file against the
widget's own schema (the one ``/widget.schema.json`` serves) before sending it, so a typo is
reported with its path and nothing is sent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from orgs.pages.config import config_problems, template_problems

PAGE_FIELDS = "name locale config templates doubleOptIn thankYouMail"
PULL = (
    "query($org: String!, $page: String!) { org(name: $org) { actionPage(name: $page) { "
    + PAGE_FIELDS
    + " } } }"
)
PUSH = (
    "mutation($input: UpdateActionPageInput!) { updateActionPage(input: $input) { __typename "
    "... on UpdateActionPageSuccess { page { " + PAGE_FIELDS + " } } "
    "... on UpdateActionPageErrors { errors { field code message } } } }"
)
KEYS = ("locale", "config", "templates", "doubleOptIn", "thankYouMail")


class PageCommandError(click.ClickException):
    exit_code = 2


def file_problems(document: Any) -> list[str]:
    """What is wrong with a page file, each with its path; empty when it can be sent."""
    if not isinstance(document, dict):
        return ["the file must hold a JSON object"]
    problems = []
    unknown = sorted(set(document) - {"name", *KEYS})
    problems += [f"{key}: unknown key" for key in unknown]
    if not isinstance(document.get("name"), str):
        problems.append("name: the page's name is required")
    if "config" in document:
        problems += [
            f"config.{'.'.join(path)}: {message}" if path else f"config: {message}"
            for path, message in config_problems(document["config"])
        ]
    if "templates" in document:
        problems += [
            f"templates.{'.'.join(path)}: {message}" if path else f"templates: {message}"
            for path, message in template_problems(document["templates"])
        ]
    for key in ("doubleOptIn", "thankYouMail"):
        if key in document and not isinstance(document[key], bool | None):
            problems.append(f"{key}: true or false")
    return problems


def _call(url: str, token: str | None, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    if not token:
        raise PageCommandError("an org API token is needed: --token or HUB_TOKEN")
    try:
        response = httpx.post(
            url.rstrip("/") + "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise PageCommandError(f"the hub at {url} is not reachable ({type(exc).__name__})") from exc
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        raise PageCommandError(f"the hub answered HTTP {response.status_code}") from None
    if body.get("errors"):
        messages = "; ".join(str(e.get("message")) for e in body["errors"])
        raise PageCommandError(messages)
    data: dict[str, Any] = body["data"]
    return data


def _options(func: Any) -> Any:
    func = click.option(
        "--token", envvar="HUB_TOKEN", default=None, help="Org API token (or HUB_TOKEN)."
    )(func)
    return click.option(
        "--url",
        envvar="HUB_API_URL",
        default=None,
        help="The hub (default: the `serve` running here, else HUB_PUBLIC_URL).",
    )(func)


@click.group()
def page() -> None:
    """A page's settings as a JSON file: pull, edit, push."""


@page.command()
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_options
def pull(name: str, output: Path | None, url: str | None, token: str | None) -> None:
    """Write the settings of page NAME (org/page) as JSON (to stdout, or -o FILE)."""
    found = _call(_url(url), token, PULL, {"org": name.split("/", 1)[0], "page": name})
    settings = (found.get("org") or {}).get("actionPage")
    if settings is None:
        raise PageCommandError(f"no page {name!r} of your org")
    text = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, "utf-8")
        click.echo(f"wrote {output}")


@page.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_options
def push(file: Path, url: str | None, token: str | None) -> None:
    """Check FILE against the widget's schema, then save it as its page's settings."""
    try:
        document = json.loads(file.read_text("utf-8"))
    except ValueError as exc:
        raise PageCommandError(f"{file} is not JSON ({exc.args[0]})") from exc
    problems = file_problems(document)
    if problems:
        raise PageCommandError(f"{file}: nothing sent\n  " + "\n  ".join(problems))
    update = {"page": document["name"], **{k: document[k] for k in KEYS if k in document}}
    answer = _call(_url(url), token, PUSH, {"input": update})["updateActionPage"]
    if answer["__typename"] != "UpdateActionPageSuccess":
        lines = [f"{'.'.join(e['field'])}: {e['code']} {e['message']}" for e in answer["errors"]]
        raise PageCommandError("the hub refused it:\n  " + "\n  ".join(lines))
    click.echo(f"saved {document['name']}")


def _url(given: str | None) -> str:
    if given:
        return given
    from hub.cli import _running_public_url, _settings

    settings = _settings()
    return _running_public_url(settings) or settings.public_url
