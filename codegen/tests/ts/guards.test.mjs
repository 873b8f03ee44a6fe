// The guards against the schemas: on the agreement corpus (`cargo xtask corpus`, whose `valid`
// is the Rust `jsonschema` verdict), a union's decoder accepts exactly the valid instances. Also
// the documents' examples, and what errors say.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { parseJsonc } from "./lib/jsonc.mjs";
import { importProtocol, protocolIds } from "./lib/package.mjs";
import { paths } from "./lib/paths.mjs";

const ids = protocolIds();

// The corpus is required: build.mjs writes it with `cargo xtask corpus`, unless told not to.
const noCorpus = process.env.AGENTWIRE_SKIP_CORPUS === "1" ? "AGENTWIRE_SKIP_CORPUS=1: build.mjs wrote no corpus" : false;

/** Decodes every instance of a corpus file with a protocol's bindings; asserts agreement. */
function agree(id, bindings, file) {
  assert.ok(existsSync(file), `no corpus for ${id} at ${file}: run \`node codegen/tests/ts/build.mjs\` (it runs \`cargo xtask corpus\`)`);
  const decoders = { client: bindings.decodeClientMessage, server: bindings.decodeServerMessage };
  let total = 0;
  let agreed = 0;
  const disagreements = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const { direction, valid, instance, how } = JSON.parse(line);
    const decoded = decoders[direction](instance);
    total++;
    if (decoded.ok === valid) {
      agreed++;
    } else if (disagreements.length < 10) {
      const said = decoded.ok ? `accepted as ${decoded.name}` : `rejected: ${decoded.error.message}`;
      disagreements.push(`${direction} ${how ?? ""}: schema says ${valid ? "valid" : "invalid"}, guard ${said}\n    ${JSON.stringify(instance)}`);
    }
  }
  const figure = ((100 * agreed) / total).toFixed(2);
  console.log(`agreement ${id}: ${agreed}/${total} (${figure}%)`);
  assert.ok(total >= 1000, `${id}: the corpus has only ${total} instances`);
  assert.equal(agreed, total, `${id}: ${total - agreed} disagreements, e.g.\n  ${disagreements.join("\n  ")}`);
}

for (const id of ids) {
  test(`${id}: the guards agree with the schemas on the corpus`, { skip: noCorpus }, async () => {
    agree(id, await importProtocol(id), join(paths.corpus, `${id}.jsonl`));
  });
}

// The synthetic protocol (codegen/tests/synthetic) uses every construct the generator supports,
// some of which no real protocol has (unions of kinds, maps, closed and typed extra properties).
const noSynthetic = existsSync(join(paths.root, "codegen", "tests", "synthetic", "schema")) ? noCorpus : "no codegen/tests/synthetic in this checkout";
const importSynthetic = () => import(pathToFileURL(join(paths.synthetic, "dist", "esm", "synthetic", "index.js")).href);
test("synthetic: the guards agree with the schemas on the corpus", { skip: noSynthetic }, async () => {
  agree("synthetic", await importSynthetic(), join(paths.syntheticCorpus, "synthetic.jsonl"));
});

test("synthetic: a `__proto__` key (an own property once JSON.parse made it) is read as one", { skip: noSynthetic }, async () => {
  const synthetic = await importSynthetic();
  assert.ok(synthetic.parseServerMessage('{"kind": "stats", "total": 1, "__proto__": 2}').ok);
  const text = synthetic.parseServerMessage('{"kind": "stats", "total": 1, "__proto__": "x"}');
  assert.equal(text.ok, false);
  assert.equal(text.error.pointer, "/__proto__");
  const second = (lookup) => `{"kind": "nest", "body": {"variant": "second", "lookup": ${lookup}, "strict": {"a": "x"}}}`;
  assert.ok(synthetic.parseClientMessage(second('{"__proto__": 3}')).ok);
  assert.equal(synthetic.parseClientMessage(second('{"__proto__": null}')).error.pointer, "/body/lookup/__proto__");
});

for (const id of ids) {
  test(`${id}: every example decodes as its message; every invalid one fails at the documented place`, async () => {
    const bindings = await importProtocol(id);
    const decoders = { client: bindings.decodeClientMessage, server: bindings.decodeServerMessage };
    const dir = join(paths.root, "schema", id, "examples");
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    for (const example of index.valid) {
      const frame = parseJsonc(readFileSync(join(dir, example.file), "utf8"));
      const decoded = decoders[example.direction](frame);
      assert.ok(decoded.ok, `${example.file}: ${decoded.ok ? "" : decoded.error.message}`);
      assert.equal(decoded.name, example.message, `${example.file} decodes as the wrong message`);
    }
    for (const example of index.invalid ?? []) {
      const frame = parseJsonc(readFileSync(join(dir, example.file), "utf8"));
      const decoded = decoders[example.direction](frame);
      assert.equal(decoded.ok, false, `${example.file} decodes as ${decoded.name}`);
      // The guard names the offending value: the documented one, or (for a missing property)
      // the property below it; and the documented keyword.
      const at = decoded.error.pointer;
      assert.ok(
        at === example.pointer || at.startsWith(`${example.pointer}/`),
        `${example.file}: the guard says ${at} (${decoded.error.reason}), the example ${example.pointer} (${example.keyword})`,
      );
      assert.equal(decoded.error.keyword, example.keyword, `${example.file}: ${decoded.error.message}`);
    }
  });
}

test("errors name the message and the JSON Pointer that failed", async () => {
  const datagram = await importProtocol("datagram");
  const missing = datagram.decodeServerMessage({ msg: "session", cid: "a", content: { success: true } });
  assert.equal(missing.ok, false);
  assert.equal(missing.error.messageName, "session_response");
  assert.equal(missing.error.pointer, "/content/error");
  assert.match(missing.error.message, /ServerMessage session_response at \/content\/error/);

  const wrongType = datagram.decodeClientMessage({
    msg: "session",
    cid: "a",
    content: { request: "create", settings: { model: "m", temperature: 0.5, seed: 1.5 } },
  });
  assert.equal(wrongType.ok, false);
  assert.equal(wrongType.error.pointer, "/content/settings/seed");
  assert.match(wrongType.error.reason, /integer/);

  const unknown = datagram.parseClientMessage('{"msg": "launch"}');
  assert.equal(unknown.ok, false);
  assert.equal(unknown.error.messageName, undefined);
  assert.match(unknown.error.message, /\/msg = the string "launch"/);

  const notJson = datagram.parseServerMessage("{nope");
  assert.equal(notJson.ok, false);
  assert.match(notJson.error.message, /not JSON/);
  assert.equal(notJson.error.keyword, "json");

  // A rejected frame is data, not an Error with a stack: it serializes whole.
  assert.ok(!(missing.error instanceof Error));
  assert.equal(missing.error.name, "FrameError");
  assert.deepEqual(JSON.parse(JSON.stringify(missing.error)), {
    name: "FrameError",
    union: "ServerMessage",
    messageName: "session_response",
    pointer: "/content/error",
    keyword: "required",
    reason: "the required property is missing",
    message: "invalid ServerMessage session_response at /content/error: the required property is missing",
  });
  assert.equal(wrongType.error.keyword, "type");
  assert.equal(unknown.error.keyword, "enum");
  assert.equal(unknown.error.pointer, "/msg");
});

test("the JSON Schema semantics the guards must match", async () => {
  const datagram = await importProtocol("datagram");
  const generalbots = await importProtocol("generalbots");
  const rixa = await importProtocol("rixa");
  const socializer = await importProtocol("socializer");
  const create = (seed) => ({
    msg: "session",
    cid: "a",
    content: { request: "create", settings: { model: "m", temperature: 1, seed } },
  });
  // An integer may be written with a zero fraction (JSON.parse reads `2.0` as 2).
  assert.ok(datagram.parseClientMessage(JSON.stringify(create(2)).replace('"seed":2', '"seed":2.0')).ok);
  assert.ok(!datagram.decodeClientMessage(create(2.5)).ok);
  // Absent and null are kept apart.
  assert.ok(rixa.decodeServerMessage({ role: "x", content: null }).ok);
  assert.ok(rixa.decodeClientMessage({ type: "bug_report", report: "r" }).ok);
  assert.ok(!rixa.decodeClientMessage({ type: "bug_report", report: "r", image: null }).ok);
  // `pattern` searches; the execute_plugin_code pattern is anchored by the schema itself.
  assert.ok(rixa.decodeClientMessage({ type: "execute_plugin_code", content: "#x\n#" }).ok);
  assert.ok(!rixa.decodeClientMessage({ type: "execute_plugin_code", content: "x#" }).ok);
  // RFC 3339 date-times: lower-case t and z, leap seconds at 23:59:60 UTC only.
  const pong = (timestamp) => generalbots.decodeServerMessage({ type: "pong", timestamp });
  assert.ok(pong("2024-02-29t10:00:00.5z").ok);
  assert.ok(pong("1990-12-31T15:59:60-08:00").ok);
  assert.ok(!pong("2024-01-01T10:00:60Z").ok);
  assert.ok(!pong("2023-02-29T10:00:00Z").ok);
  assert.ok(!pong("2024-01-01T10:00:00").ok);
  // The server's pong never decodes as the client's ping, nor the reverse.
  assert.ok(!generalbots.decodeClientMessage({ type: "pong", timestamp: "2024-01-01T10:00:00Z" }).ok);
  assert.ok(!generalbots.decodeServerMessage({ type: "ping" }).ok);
  // An untagged union (socializer's client) checks its only message.
  assert.ok(socializer.decodeClientMessage({ content: "hi" }).ok);
  assert.ok(!socializer.decodeClientMessage({ content: 1 }).ok);
  // Values JSON cannot carry are refused where any JSON value is allowed.
  assert.ok(!rixa.decodeClientMessage({ type: "change_setting", setting: "selected_chat_mode", value: () => 1 }).ok);
  assert.ok(!rixa.decodeClientMessage({ type: "change_setting", setting: "selected_chat_mode", value: Number.NaN }).ok);
});

test("per-message guards narrow and check", async () => {
  const generalbots = await importProtocol("generalbots");
  assert.ok(generalbots.isPong({ type: "pong", timestamp: "2024-01-01T10:00:00Z" }));
  assert.ok(!generalbots.isPong({ type: "pong" }));
  const failure = generalbots.checkPong({ type: "pong" });
  const expected = { pointer: "/timestamp", keyword: "required", reason: "the required property is missing" };
  assert.deepEqual({ pointer: failure.pointer, keyword: failure.keyword, reason: failure.reason }, expected);
  assert.deepEqual(JSON.parse(JSON.stringify(failure)), expected, "a failure serializes as plain data");
  // A check called below the frame reports the full pointer.
  assert.equal(generalbots.checkPong({ type: "pong", timestamp: 5 }, "/frames/3").pointer, "/frames/3/timestamp");
  assert.deepEqual(generalbots.errorCodeValues.slice(0, 2), ["AUTH_FAILED", "SESSION_NOT_FOUND"]);
});
