// Headless Chromium (Debian's, driven by playwright-core) loads a page served from localhost
// that imports the packed package through its subpath exports (an import map) and holds
// conversations with the reference servers of General Bots (the query token, a streamed reply, a
// tool call), Socializer (cookie authentication, which only a browser page can do that way) and
// datagram (a session, base64 chat).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { paths } from "./lib/paths.mjs";
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

test("a page using the packed clients completes its conversations in Chromium", { timeout: 120_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  page.on("console", (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => logs.push(`pageerror: ${error.message}`));
  const query = new URLSearchParams({
    generalbots: servers.generalbots.url.replace("127.0.0.1", "localhost"),
    socializer: servers.socializer.url.replace("127.0.0.1", "localhost"),
    datagram: servers.datagram.url.replace("127.0.0.1", "localhost"),
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
  console.log(`browser: ${JSON.stringify(result)}`);
});
