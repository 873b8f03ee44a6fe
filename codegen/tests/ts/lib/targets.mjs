// The servers the conversation tests talk to: the reference servers when this checkout has
// them (AGENTWIRE_TS_SCRIPTED=1 forces the scripted ones), scripted servers otherwise.

import * as fakes from "./fakes.mjs";
import { hasReference, jwt, scripted, startReference } from "./servers.mjs";

/** The secret the reference servers sign JSON Web Tokens with in these tests. */
export const JWT_SECRET = "agentwire-ts-tests";

/** Whether the tests use the reference servers. */
export function usesReference() {
  return hasReference() && process.env.AGENTWIRE_TS_SCRIPTED !== "1";
}

/**
 * Starts a server per protocol; each is `{ url, query }` where `url` is the client's base URL and
 * `query` holds the credentials a page needs. `stop()` stops them all.
 */
export async function conversationServers(ids) {
  const out = {};
  const stops = [];
  const token = await jwt(JWT_SECRET, { sub: "browser", username: "browser", exp: Math.floor(Date.now() / 1000) + 3600 });
  for (const id of ids) {
    if (usesReference()) {
      const server = await startReference(id, ["--jwt-secret", JWT_SECRET]);
      stops.push(server.stop);
      out[id] = { url: server.origin, query: { jwt: token, token: "browser-token" } };
    } else {
      const server = await scripted(fakes[id]);
      stops.push(server.close);
      out[id] = { url: server.origin, query: { jwt: token, token: "browser-token" } };
    }
  }
  out.stop = () => Promise.all(stops.map((stop) => stop()));
  return out;
}
