"""The hub composes into an org's supergraph with Apollo's and The Guild's composers."""

from __future__ import annotations

import re

from strawberry.federation.schema_directives import FederationDirective
from strawberry.federation.versions import format_version, parse_version

from schema.schema import FEDERATION_VERSION, print_sdl, schema
from tests.federation import partner_subgraph
from tests.federation.conftest import Compose

HUB = "http://127.0.0.1:9/graphql"  # composition only records the URLs
PARTNER = "http://127.0.0.1:10/graphql"


def subgraphs(hub_sdl: str | None = None) -> list[dict[str, str]]:
    return [
        {"name": "hub", "url": HUB, "sdl": hub_sdl or print_sdl()},
        {"name": "partner", "url": PARTNER, "sdl": partner_subgraph.sdl()},
    ]


def object_type(supergraph: str, name: str) -> str:
    found = re.search(r"\ntype " + name + r"\b[^{]*\{(.*?)\n\}", supergraph, re.S)
    assert found, f"no type {name} in the supergraph"
    return found.group(1)


class TestFederationVersion:
    def test_the_link_is_the_lowest_version_the_directives_in_use_need(self) -> None:
        # given every federation directive the schema applies
        needed = max(
            (
                type(directive).minimum_version
                for directive in schema.schema_directives_in_use
                if isinstance(directive, FederationDirective)
            ),
            default=(2, 0),
        )
        # then
        assert parse_version(FEDERATION_VERSION) == needed
        url = f"https://specs.apollo.dev/federation/{format_version(needed)}"
        assert print_sdl().startswith(f'schema @link(url: "{url}", import: ["@key"])')

    def test_entities_are_org_campaign_and_the_pages(self) -> None:
        keyed = dict(re.findall(r"^type (\w+) @key\(fields: \"(\w+)\"\)", print_sdl(), re.M))
        assert keyed == {
            "ActionPage": "id",
            "Campaign": "id",
            "Org": "name",
            "OrgActionPage": "id",
        }


class TestComposition:
    def test_both_composers_compose_the_hub_with_a_partner_subgraph(self, compose: Compose) -> None:
        # when
        result = compose(subgraphs())
        # then
        for composer in ("apollo", "guild"):
            assert result[composer]["errors"] == [], composer
            supergraph = result[composer]["supergraph"]
            # the partner's fields join the hub's entities
            assert "partnerNote: String!" in object_type(supergraph, "ActionPage")
            assert "partnerBudget: Int!" in object_type(supergraph, "Campaign")
            assert "crmSegment: String!" in object_type(supergraph, "Org")
            # the hub's own fields are there too, resolved by the hub
            assert "stats: PublicStats!" in object_type(supergraph, "ActionPage")
            assert f'url: "{HUB}"' in supergraph
            assert f'url: "{PARTNER}"' in supergraph

    def test_the_guild_refused_the_newest_link_the_hub_had(self, compose: Compose) -> None:
        # given the hub's SDL as it was (federation v2.11, though it used only @key)
        old = print_sdl().replace(f"federation/v{FEDERATION_VERSION}", "federation/v2.11", 1)
        # when
        result = compose(subgraphs(old))
        # then: Apollo's accepts it, The Guild's (Hive Gateway's) does not
        assert result["apollo"]["errors"] == []
        assert any("Invalid version v2.11" in e for e in result["guild"]["errors"])
