// SARIF reports validate against the SARIF 2.1.0 JSON Schema as Microsoft ships it (in
// @microsoft/jest-sarif), not a copy of ours: with failures, with a baseline's suppressions, and
// with several protocols at once; and each result points at the document line of its sentence.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";

import { hostileServer, report, root } from "./lib.mjs";

const require = createRequire(import.meta.url);
const schemaFile = require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");

let validate;
let server;

before(async () => {
  const schema = JSON.parse(readFileSync(schemaFile, "utf8"));
  assert.match(schema.title, /SARIF\) Version 2\.1\.0/);
  // The schema's `language` pattern is no valid Unicode regular expression (a stray `]`).
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  validate = ajv.compile(schema);
  server = await hostileServer();
});

after(async () => {
  await server?.close();
});

/** Asserts that a SARIF log validates, listing every error. */
function assertValid(log, what) {
  const valid = validate(log);
  assert.ok(valid, `${what}: ${JSON.stringify(validate.errors, null, 2)}`);
}

test("the schema check can fail", () => {
  assert.equal(validate({ version: "2.1.0", runs: [{ tool: {} }] }), false);
  assert.equal(validate({ version: "2.0.0", runs: [] }), false);
});

test("a failing run's SARIF validates, one result per failed check at its sentence", async () => {
  const run = await report("sarif", ["run", "--protocol", "datagram", "--url", server.url, "--format", "json"]);
  assert.equal(run.code, 1, run.stderr);
  const log = JSON.parse(run.text);
  assertValid(log, "failing run");
  const json = JSON.parse(run.stdout);
  const failed = json.checks.filter((c) => c.status === "fail").map((c) => c.id);
  assert.ok(failed.length > 0);
  const [sarifRun] = log.runs;
  assert.deepEqual(
    sarifRun.tool.driver.rules.map((r) => r.id),
    json.checks.map((c) => c.id),
    "one rule per check",
  );
  assert.deepEqual(
    sarifRun.results.map((r) => r.ruleId),
    failed,
    "one result per failed check",
  );
  for (const result of sarifRun.results) {
    const { artifactLocation, region } = result.locations[0].physicalLocation;
    assert.equal(artifactLocation.uri, "schema/datagram/document.md");
    const line = readFileSync(join(root, artifactLocation.uri), "utf8").split("\n")[region.startLine - 1];
    const firstWord = region.snippet.text.split(/\s+/)[0];
    assert.ok(line.includes(firstWord), `${result.ruleId}: line ${region.startLine} is ${JSON.stringify(line)}`);
    assert.match(result.message.text, /Rests on: /);
  }
});

test("a baseline's accepted failures are suppressed results, and still valid", async () => {
  const plain = await report("json", ["run", "--protocol", "datagram", "--url", server.url]);
  const failed = JSON.parse(plain.text).checks.filter((c) => c.status === "fail");
  const file = join(mkdtempSync(join(tmpdir(), "agentwire-baseline-")), "baseline.json");
  writeFileSync(
    file,
    JSON.stringify({
      expected_failures: [{ check: failed[0].id, protocol: "datagram", reason: "accepted until the next release" }],
    }),
  );
  const run = await report("sarif", ["run", "--protocol", "datagram", "--url", server.url, "--baseline", file]);
  const log = JSON.parse(run.text);
  assertValid(log, "with a baseline");
  const suppressed = log.runs[0].results.filter((r) => r.suppressions);
  assert.equal(suppressed.length, 1);
  assert.equal(suppressed[0].ruleId, failed[0].id);
  assert.equal(suppressed[0].suppressions[0].justification, "accepted until the next release");
});

test("every protocol's run against its reference server validates", { timeout: 300_000 }, async () => {
  const run = await report("sarif", ["run", "--all", "--format", "json"]);
  assert.equal(run.code, 0, run.stderr);
  const log = JSON.parse(run.text);
  assertValid(log, "--all");
  assert.equal(log.runs.length, 5);
  assert.equal(new Set(log.runs.map((r) => r.automationDetails.id)).size, 5, "one category per protocol");
});
