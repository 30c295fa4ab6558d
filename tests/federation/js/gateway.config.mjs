// Hive Gateway over the hub and a partner subgraph (tests/federation/test_gateway.py).
// The supergraph file comes from $SUPERGRAPH; a member's Authorization header goes on to
// the subgraphs, so the hub applies that member's scope to what the gateway asks of it.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  supergraph: process.env.SUPERGRAPH,
  polling: undefined,
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const authorization = request.headers.get("authorization");
      return authorization ? { authorization } : {};
    },
  },
});
