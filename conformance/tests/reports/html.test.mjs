// The HTML report in headless Chromium (Debian's, driven by playwright-core): it opens from a
// file, fetches nothing, logs no error, shows the failing check, and runs none of the markup a
// hostile server put in its frames.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { hostileServer, report } from "./lib.mjs";

const CHROMIUM = process.env.AGENTWIRE_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];

let server;
let profile;
let context;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); cargo xtask test does`,
  );
  server = await hostileServer();
  profile = mkdtempSync(join(tmpdir(), "agentwire-report-chromium-"));
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
  await server?.close();
});

test("the HTML report opens, shows the failing check and runs nothing from the server", { timeout: 120_000 }, async () => {
  const run = await report("html", ["run", "--protocol", "datagram", "--url", server.url, "--format", "json"]);
  assert.equal(run.code, 1, run.stderr);
  const failed = JSON.parse(run.stdout).checks.filter((c) => c.status === "fail").map((c) => c.id);
  assert.ok(failed.includes("exchange.ping"), failed.join(", "));

  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  const requests = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("request", (request) => requests.push(request.url()));
  const url = pathToFileURL(run.file).href;
  await page.goto(url, { timeout: 30_000 });

  assert.match(await page.title(), /Conformance report: datagram/);
  const check = page.locator('details[data-check="exchange.ping"]');
  assert.equal(await check.getAttribute("data-status"), "fail");
  assert.ok(await check.locator("summary").isVisible(), "the failing check is visible");
  assert.match(await check.locator("summary").innerText(), /FAIL\s+exchange\.ping/);
  assert.ok(await check.locator("blockquote").isVisible(), "open: its sentence shows");
  assert.ok(await check.locator("ol.timeline li").first().isVisible(), "and its timeline");
  // Failures come first: the first check of the page failed.
  assert.equal(await page.locator("details.check").first().getAttribute("data-status"), "fail");
  // What the server sent is shown as text.
  assert.match(await check.innerText(), /<script>window\.pwned = 1<\/script>/);
  const injected = await page.evaluate(() => ({
    pwned: window.pwned,
    scripts: document.scripts.length,
    images: document.images.length,
    svgs: document.querySelectorAll("svg").length,
    links: [...document.links].map((a) => a.href).filter((h) => !h.startsWith("file:")),
  }));
  assert.deepEqual(injected, { pwned: undefined, scripts: 0, images: 0, svgs: 0, links: [] });
  assert.deepEqual(problems, [], "no console errors");
  assert.deepEqual(requests, [url], "nothing fetched but the page");
});
