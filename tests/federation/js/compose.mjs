// Compose subgraphs with Apollo's composer and The Guild's, as an org's supergraph would.
//
// stdin: {"subgraphs": [{"name": "...", "url": "http://...", "sdl": "..."}]}
// stdout: {"apollo": {"errors": [...], "supergraph": "..."}, "guild": {...}}
// Each composer's messages are reported as they come; the caller decides what passes.
import { composeServices as apolloCompose } from "@apollo/composition";
import {
  composeServices as guildCompose,
  compositionHasErrors,
} from "@theguild/federation-composition";
import { parse } from "graphql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { subgraphs } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const services = () =>
  subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));

const messages = errors => (errors || []).map(e => String(e.message));

const apollo = apolloCompose(services());
const guild = guildCompose(services());

process.stdout.write(
  JSON.stringify({
    apollo: {
      errors: messages(apollo.errors),
      supergraph: apollo.supergraphSdl ?? null,
    },
    guild: {
      errors: compositionHasErrors(guild) ? messages(guild.errors) : [],
      supergraph: guild.supergraphSdl ?? null,
    },
  }),
);
