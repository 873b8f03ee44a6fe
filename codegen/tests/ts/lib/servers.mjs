// Small scripted WebSocket servers on the loopback interface, and the reference servers.

import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
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

const binaries = new Map();

/**
 * An executable of the workspace: `cargo build -p <crate> --bin <bin>` (a no-op when
 * `cargo xtask test` has built it), located by cargo's own report of what it built, so that
 * CARGO_TARGET_DIR and build settings are honoured.
 */
function workspaceBinary(crate, bin) {
  if (binaries.has(bin)) return binaries.get(bin);
  const out = execFileSync("cargo", ["build", "--quiet", "-p", crate, "--bin", bin, "--message-format=json"], {
    cwd: paths.root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
  });
  let found;
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const message = JSON.parse(line);
    if (message.reason === "compiler-artifact" && message.target?.name === bin && message.executable) {
      found = message.executable;
    }
  }
  if (found === undefined || !existsSync(found)) {
    throw new Error(`cargo build -p ${crate} reported no \`${bin}\` executable`);
  }
  binaries.set(bin, found);
  return found;
}

/** The reference server's executable. */
export function referenceBinary() {
  return workspaceBinary("agentwire-reference", "reference");
}

/** The conformance suite's executable. */
export function conformanceBinary() {
  return workspaceBinary("agentwire-conformance", "conformance");
}

/**
 * Starts `reference --protocol <id> --listen 127.0.0.1:0 [...args]` and resolves with the URL of
 * its first stdout line, `listening on ws://ADDR/PATH`, split into origin and path. What it says
 * on stderr (a valid token, the shutdown) is kept in `stderr()`, and shown when it fails to start.
 */
export async function startReference(id, args = [], timeoutMs = 60_000) {
  const child = spawn(referenceBinary(), ["--protocol", id, "--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    stderr += text;
  });
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`reference --protocol ${id} printed nothing within ${timeoutMs} ms\n${stderr}`)),
      timeoutMs,
    );
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (first) => {
      clearTimeout(timer);
      resolve(first);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`reference --protocol ${id} exited with ${code} before listening\n${stderr}`));
    });
  });
  const match = /^listening on (wss?:\/\/[^/\s]+)(\/\S*)?$/.exec(line);
  if (!match) {
    child.kill();
    throw new Error(`reference --protocol ${id}: unexpected first line ${JSON.stringify(line)}\n${stderr}`);
  }
  return {
    origin: match[1],
    path: match[2] ?? "/",
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGINT");
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

/**
 * Starts `conformance proxy --protocol <id> --listen 127.0.0.1:0 --upstream <upstream> --format
 * json` and resolves, once its first line (`proxying ws://ADDR -> UPSTREAM`) is out, with the
 * origin clients connect to. `stop()` interrupts it (Ctrl-C) and resolves with its exit code and
 * every JSON line it printed: frames, findings, connection events and the summary.
 */
export async function startProxy(id, upstream, args = [], timeoutMs = 60_000) {
  const child = spawn(conformanceBinary(), ["proxy", "--protocol", id, "--listen", "127.0.0.1:0", "--upstream", upstream, "--format", "json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    stderr += text;
  });
  const lines = createInterface({ input: child.stdout });
  const printed = [];
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`conformance proxy --protocol ${id} printed nothing within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    lines.on("line", (line) => {
      if (printed.length === 0 && !line.startsWith("{")) {
        clearTimeout(timer);
        resolve(line);
        printed.push(null);
        return;
      }
      printed.push(JSON.parse(line));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`conformance proxy --protocol ${id} exited with ${code} before listening\n${stderr}`));
    });
  });
  const match = /^proxying (ws:\/\/\S+) -> (\S+)$/.exec(first);
  if (!match || match[2] !== upstream) {
    child.kill();
    throw new Error(`conformance proxy: unexpected first line ${JSON.stringify(first)}\n${stderr}`);
  }
  const closed = new Promise((resolve) => lines.once("close", resolve));
  return {
    origin: match[1],
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        const done = (code) => closed.then(() => resolve({ code, lines: printed.slice(1), stderr }));
        if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.once("exit", (code) => {
          clearTimeout(timer);
          done(code);
        });
        child.kill("SIGINT");
      }),
  };
}
