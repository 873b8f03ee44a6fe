// The reference servers the conversation tests talk to, and the credentials they accept.

import { jwt, startReference } from "./servers.mjs";

/** The secret the reference servers sign JSON Web Tokens with in these tests. */
export const JWT_SECRET = "agentwire-ts-tests";

/** A token the reference servers accept (HS256, claims sub/username/exp), valid for an hour. */
export function token(user = "ts-tests", secret = JWT_SECRET) {
  return jwt(secret, { sub: user, username: user, exp: Math.floor(Date.now() / 1000) + 3600 });
}

/**
 * Starts the reference server of each protocol; each is `{ url, path, stderr }`, `url` being the
 * client's base URL. `stop()` stops them all.
 */
export async function conversationServers(ids) {
  const out = {};
  const stops = [];
  try {
    for (const id of ids) {
      const server = await startReference(id, ["--jwt-secret", JWT_SECRET]);
      stops.push(server.stop);
      out[id] = { url: server.origin, path: server.path, stderr: server.stderr };
    }
  } catch (error) {
    await Promise.all(stops.map((stop) => stop()));
    throw error;
  }
  out.stop = () => Promise.all(stops.map((stop) => stop()));
  return out;
}
