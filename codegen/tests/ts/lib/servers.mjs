// Small scripted WebSocket servers on the loopback interface, and the reference server.

import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { WebSocketServer } from "ws";

import { paths } from "./paths.mjs";

/**
 * Starts a server that calls `script(socket, request, server)` for each connection; `socket.json`
 * sends a value. Resolves with `{ origin, connections, close }` once it listens.
 */
export async function scripted(script) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  const connections = [];
  server.on("connection", (socket, request) => {
    connections.push({ socket, request });
    socket.json = (value) => socket.send(JSON.stringify(value));
    script(socket, request, server);
  });
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address();
  return {
    origin: `ws://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** The next message a server-side socket receives, parsed. */
export function nextFrame(socket, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
    socket.once("message", (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)));
    });
  });
}

/** Whether this checkout has the reference server crate. */
export function hasReference() {
  return existsSync(join(paths.root, "reference", "Cargo.toml"));
}

let built = false;

/**
 * Starts `reference --protocol <id> --listen 127.0.0.1:0 [...args]` and resolves with the URL of
 * its first stdout line, `listening on ws://ADDR/PATH`, split into origin and path.
 */
export async function startReference(id, args = [], timeoutMs = 60_000) {
  if (!built) {
    execFileSync("cargo", ["build", "--quiet", "-p", "agentwire-reference"], {
      cwd: paths.root,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 900_000,
    });
    built = true;
  }
  const binary = join(process.env.CARGO_TARGET_DIR ?? join(paths.root, "target"), "debug", "reference");
  const child = spawn(binary, ["--protocol", id, "--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reference --protocol ${id} printed nothing within ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (first) => {
      clearTimeout(timer);
      resolve(first);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`reference --protocol ${id} exited with ${code} before listening`));
    });
  });
  const match = /^listening on (wss?:\/\/[^/\s]+)(\/\S*)?$/.exec(line);
  if (!match) {
    child.kill();
    throw new Error(`reference --protocol ${id}: unexpected first line ${JSON.stringify(line)}`);
  }
  return {
    origin: match[1],
    path: match[2] ?? "/",
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** An HS256 JSON Web Token, for the protocols that authenticate with one. */
export async function jwt(secret, claims) {
  const { createHmac } = await import("node:crypto");
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
