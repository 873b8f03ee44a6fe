// Headless Chromium (Debian's, driven by playwright-core) loads a page served from localhost
// that imports the packed package through its subpath exports (an import map) and holds
// conversations with the reference servers of General Bots (the query token, a streamed reply, a
// tool call), Socializer (cookie authentication, which only a browser page can do that way) and
// datagram (a session, base64 chat). Then the same page again with `conformance proxy` between it
// and each server, as the README's "find out who breaks the protocol" shows: the conversations
// pass unchanged and the proxy finds no fault on either side.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { paths } from "./lib/paths.mjs";
import { startProxy } from "./lib/servers.mjs";
import { conversationServers, token } from "./lib/targets.mjs";

const CHROMIUM = process.env.AGENTWIRE_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TYPES = { ".js": "text/javascript", ".html": "text/html", ".map": "application/json", ".json": "application/json" };

let http;
let origin;
let servers;
let profile;
let context;

/** The import map of the installed package: each subpath export to its file. */
function importMap() {
  const manifest = JSON.parse(readFileSync(join(paths.installed, "package.json"), "utf8"));
  const imports = {};
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target !== "object") continue;
    // A browser loads the ES modules.
    imports[`${manifest.name}${subpath.slice(1)}`] = `/pkg/${target.import.default.replace(/^\.\//, "")}`;
  }
  return JSON.stringify({ imports });
}

/** Serves the page, its script and the installed package (under /pkg/). */
function serve(request, response) {
  const url = new URL(request.url, "http://localhost");
  let file;
  if (url.pathname === "/") {
    const page = readFileSync(join(paths.project, "browser", "page.html"), "utf8");
    const body = page.replace("<!--IMPORTMAP-->", `<script type="importmap">${importMap()}</script>`);
    response.writeHead(200, { "content-type": "text/html" }).end(body);
    return;
  }
  if (url.pathname === "/favicon.ico") {
    response.writeHead(204).end();
    return;
  }
  if (url.pathname === "/page.js") file = join(paths.project, "browser", "page.js");
  else if (url.pathname.startsWith("/pkg/")) {
    file = normalize(join(paths.installed, url.pathname.slice(5)));
    if (!file.startsWith(paths.installed)) file = undefined;
  }
  if (file === undefined || !existsSync(file)) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  response.end(readFileSync(file));
}

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); cargo xtask test does`,
  );
  http = createServer(serve);
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  // `localhost` for the page as for the WebSocket servers, so the page's cookie goes with the handshake.
  origin = `http://localhost:${http.address().port}`;
  servers = await conversationServers(["generalbots", "socializer", "datagram"]);
  profile = mkdtempSync(join(tmpdir(), "agentwire-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    timeout: 60_000,
  });
});

after(async () => {
  await context?.close().catch(() => undefined);
  if (profile) rmSync(profile, { recursive: true, force: true });
  await servers?.stop();
  await new Promise((resolve) => (http ? http.close(() => resolve()) : resolve()));
});

/** Loads the page against these servers (id to `ws://` origin); the page's result. */
async function converse(urls) {
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  page.on("console", (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => logs.push(`pageerror: ${error.message}`));
  const query = new URLSearchParams({
    generalbots: urls.generalbots.replace("127.0.0.1", "localhost"),
    socializer: urls.socializer.replace("127.0.0.1", "localhost"),
    datagram: urls.datagram.replace("127.0.0.1", "localhost"),
    token: await token("browser"),
  });
  await page.goto(`${origin}/?${query}`, { timeout: 30_000 });
  await page
    .waitForFunction(() => window.agentwireResult !== undefined, null, { timeout: 60_000 })
    .catch((error) => assert.fail(`the page did not finish: ${error.message}\n${logs.join("\n")}`));
  const result = await page.evaluate(() => window.agentwireResult);
  assert.ok(result.ok, `${result.error}\n${logs.join("\n")}`);
  const { bots, chat, datagram } = result;
  assert.equal(bots.pong, "pong");
  assert.match(bots.session, /\S/, "a session was announced");
  assert.equal(bots.full, "Echo: hello from the browser, streamed in chunks");
  assert.ok(bots.chunks.length > 1, "the answer came in several chunks");
  assert.equal(bots.chunks.join(""), bots.full, "the chunks add up to the full text");
  assert.deepEqual(bots.tools, ["lookup"]);
  assert.equal(bots.tool, "stream");
  assert.deepEqual(bots.errors, [], "every frame passed the guards");
  assert.ok(chat.cookie, "the page holds the access_token cookie");
  assert.match(chat.greeting, /Welcome to AI Chat, browser!/, "the cookie's token was accepted");
  assert.match(chat.reply, /hi from the browser/);
  assert.match(datagram.session, /\S/);
  assert.equal(datagram.echo, "Echo: from the page");
  return result;
}

const IDS = ["generalbots", "socializer", "datagram"];

test("a page using the packed clients completes its conversations in Chromium", { timeout: 120_000 }, async () => {
  const result = await converse(Object.fromEntries(IDS.map((id) => [id, servers[id].url])));
  console.log(`browser: ${JSON.stringify(result)}`);
});

test("through conformance proxy, the page's conversations pass unchanged and nobody breaks the protocol", { timeout: 120_000 }, async () => {
  const proxies = {};
  try {
    for (const id of IDS) proxies[id] = await startProxy(id, servers[id].url);
    await converse(Object.fromEntries(IDS.map((id) => [id, proxies[id].origin])));
  } finally {
    for (const [id, proxy] of Object.entries(proxies)) {
      const { code, lines, stderr } = await proxy.stop();
      const problems = lines.filter((l) => l.kind === "finding" && l.severity !== "info");
      assert.deepEqual(problems, [], `${id}: the proxy found a fault`);
      assert.equal(code, 0, `${id}: ${stderr}`);
      const opened = lines.filter((l) => l.kind === "open");
      assert.ok(opened.length > 0, `${id}: the page's connections went through the proxy`);
      assert.ok(lines.some((l) => l.kind === "frame" && l.direction === "client"), `${id}: frames both ways`);
    }
  }
});
