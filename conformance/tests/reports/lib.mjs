// What the report tests share: the conformance binary, a hostile server to run it against, and a
// run that writes a report.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository. */
export const root = resolve(here, "../../..");
/** The binary `cargo xtask test` builds before these tests. */
export const binary =
  process.env.AGENTWIRE_CONFORMANCE ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "debug", "conformance");

/** Markup a page must show as text, never run: each tries to set `window.pwned`. */
export const HOSTILE = [
  "</pre></code><script>window.pwned = 1</script>",
  "<img src=x onerror=\"window.pwned = 2\">",
  "\"'><svg onload=window.pwned=3>",
  "<a href=\"javascript:window.pwned=4\">x</a>",
].join(" ");

/**
 * A datagram server that answers every frame with a frame the schema rejects, full of markup,
 * and greets every connection with text that is no JSON: every exchange fails. Resolves with
 * `{ url, close }`.
 */
export async function hostileServer() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  server.on("connection", (socket) => {
    socket.send(HOSTILE);
    socket.on("message", (data) => {
      let cid = "x";
      try {
        cid = JSON.parse(String(data)).cid ?? cid;
      } catch {
        // Not JSON: answered all the same.
      }
      socket.send(JSON.stringify({ msg: HOSTILE, cid, content: { [HOSTILE]: HOSTILE } }));
    });
  });
  await new Promise((done, fail) => {
    server.once("listening", done);
    server.once("error", fail);
  });
  return {
    url: `ws://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((done) => {
        for (const client of server.clients) client.terminate();
        server.close(() => done());
      }),
  };
}

/** Runs the binary; resolves with `{ code, stdout, stderr }` (a failing run is no error here). */
export function conformance(args) {
  if (!existsSync(binary)) {
    throw new Error(`no conformance binary at ${binary}: cargo build -p agentwire-conformance (cargo xtask test does)`);
  }
  return new Promise((done) => {
    execFile(binary, args, { maxBuffer: 64 << 20, timeout: 300_000 }, (error, stdout, stderr) => {
      done({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** Runs the binary writing one report to a fresh file; resolves with the file's path and text. */
export async function report(format, args) {
  const file = join(mkdtempSync(join(tmpdir(), "agentwire-report-")), `report.${format}`);
  const run = await conformance([...args, "--report", `${format}=${file}`]);
  if (!existsSync(file)) throw new Error(`no ${format} report (exit ${run.code}): ${run.stderr}`);
  return { ...run, file, text: readFileSync(file, "utf8") };
}
