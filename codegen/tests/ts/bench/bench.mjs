// The generated guards against Ajv (`ajv/dist/2020` + `ajv-formats`, compiled once from the same
// schemas), in one Node process: ns per frame for each protocol and direction, on valid and on
// invalid frames, side by side in the same rounds.
//
// Frames: the agreement corpus (`cargo xtask corpus`, written by ../build.mjs; its verdicts are
// the Rust `jsonschema` validator's) and the documents' examples with mutations of every value
// (dropped, nulled, of another kind, emptied, out of range, an extra property), whose verdict is
// Ajv's. Each side is timed decoding every frame of a set, as a server or client would: the
// guards' `decode<Union>(value)` (the message, or where and why not as plain data) and Ajv's
// `validate(value)` (a boolean, its first error in `validate.errors`).
//
//   npm ci --prefix codegen/tests/ts/bench      (Ajv: a dependency of this benchmark only)
//   node codegen/tests/ts/build.mjs             (the package and the corpus, as the tests use them)
//   node codegen/tests/ts/bench/bench.mjs [--rounds 9] [--min-ms 40] [--markdown] [--protocol ID]...
//
// It prints the medians over the rounds (and of each round's ratio), the machine's load, and the
// size of the package's dist/. Figures, not a test, and not run by CI (timings on a shared machine
// are no verdict): it fails only when the guards and Ajv disagree on a frame or a set is empty.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

import { parseJsonc } from "../lib/jsonc.mjs";
import { importProtocol, protocolIds } from "../lib/package.mjs";
import { paths } from "../lib/paths.mjs";

const options = parseArgs(process.argv.slice(2));

/** Command-line options: `--rounds N`, `--min-ms N`, `--markdown`, `--protocol ID`. */
function parseArgs(args) {
  const parsed = { rounds: 9, minMs: 40, markdown: false, protocols: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--markdown") parsed.markdown = true;
    else if (arg === "--protocol") parsed.protocols.push(args[++i]);
    else if (arg === "--rounds") parsed.rounds = positive(arg, args[++i]);
    else if (arg === "--min-ms") parsed.minMs = positive(arg, args[++i]);
    else throw new Error(`bench.mjs: unknown argument ${arg} (--rounds N, --min-ms N, --markdown, --protocol ID)`);
  }
  return parsed;
}

function positive(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench.mjs: ${flag} takes a positive integer, not ${text}`);
  return n;
}

/** Every `*.schema.json` under a folder. */
function schemaFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "examples" ? [] : schemaFiles(path);
    return entry.name.endsWith(".schema.json") ? [path] : [];
  });
}

/** Ajv with every schema of the repository (a protocol may refer to another's). */
function loadAjv() {
  const ajv = new Ajv2020({ allErrors: false, strict: false });
  addFormats(ajv);
  for (const file of schemaFiles(join(paths.root, "schema"))) ajv.addSchema(JSON.parse(readFileSync(file, "utf8")));
  return ajv;
}

/** Ajv's validators of a protocol's two entry points, compiled from their `$id`. */
function ajvFor(ajv, id) {
  const entry = (file) => JSON.parse(readFileSync(join(paths.root, "schema", id, file), "utf8")).$id;
  return { client: ajv.getSchema(entry("client.schema.json")), server: ajv.getSchema(entry("server.schema.json")) };
}

/** The corpus of a protocol: `{ direction, valid, instance }` per line. */
function corpus(id) {
  const file = join(paths.corpus, `${id}.jsonl`);
  if (!existsSync(file)) {
    throw new Error(`bench.mjs: no corpus at ${file}: run \`node ${relative(process.cwd(), join(paths.project, "build.mjs"))}\``);
  }
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

/** The documents' examples (valid and invalid) with their direction. */
function examples(id) {
  const dir = join(paths.root, "schema", id, "examples");
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  return [...index.valid, ...(index.invalid ?? [])].map((example) => ({
    direction: example.direction,
    frame: parseJsonc(readFileSync(join(dir, example.file), "utf8")),
  }));
}

/** A value of another JSON kind than `value`. */
function otherKind(value) {
  if (typeof value === "string") return 42;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return "true";
  if (Array.isArray(value)) return {};
  if (value === null) return 0;
  return [];
}

/** Values near `value` that a constraint may refuse. */
function nearMisses(value) {
  if (typeof value === "string") return ["", `${value}~`, `~${value}`, "x".repeat(300)];
  if (typeof value === "number") return [-1, 0.5, 1e9, value + 1];
  if (Array.isArray(value)) return [[], [...value, ...value, ...value]];
  return [];
}

/** Copies `frame` with `change` applied to the value at `path` (an array of keys). */
function edit(frame, path, change) {
  const copy = structuredClone(frame);
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  change(parent, path[path.length - 1]);
  return copy;
}

/** Every mutation of a frame: each value dropped, nulled, of another kind or a near miss; an extra property on each object. */
function mutations(frame) {
  const out = [];
  const visit = (value, path) => {
    if (path.length > 0) {
      out.push(edit(frame, path, (parent, key) => (Array.isArray(parent) ? parent.splice(key, 1) : delete parent[key])));
      for (const replacement of [null, otherKind(value), ...nearMisses(value)]) {
        out.push(edit(frame, path, (parent, key) => (parent[key] = replacement)));
      }
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      out.push(path.length === 0 ? { ...frame, extra_property: true } : edit(frame, path, (parent, key) => (parent[key] = { ...parent[key], extra_property: true })));
      for (const key of Object.keys(value)) visit(value[key], [...path, key]);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(frame, []);
  return out;
}

/** The frames of a protocol, by direction and verdict, without duplicates. */
function frameSets(id, ajv) {
  const sets = {};
  const seen = new Set();
  const add = (direction, valid, frame) => {
    const key = `${direction} ${JSON.stringify(frame)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const name = `${direction} ${valid ? "valid" : "invalid"}`;
    (sets[name] ??= []).push(frame);
  };
  for (const { direction, valid, instance } of corpus(id)) add(direction, valid, instance);
  let documentFrames = 0;
  for (const { direction, frame } of examples(id)) {
    for (const candidate of [frame, ...mutations(frame)]) {
      add(direction, ajv[direction](candidate), candidate);
      documentFrames++;
    }
  }
  return { sets, documentFrames };
}

/** How many frames two validators disagree on, with an example. */
function disagreements(frames, guard, ajv) {
  let count = 0;
  let example;
  for (const frame of frames) {
    if (guard(frame).ok !== ajv(frame)) {
      count++;
      example ??= JSON.stringify(frame);
    }
  }
  return { count, example };
}

/**
 * A timer of its own for one side of one set: ns per frame of passes over `frames`, repeated until
 * `minMs` have passed. Each is compiled apart (`new Function`), so that its call of `validate`
 * sees that one function, as a call site in an application does, and neither side's timings
 * depend on the other's calls.
 */
function timer() {
  return new Function(
    "validate",
    "frames",
    "minMs",
    `const budget = BigInt(minMs) * 1000000n;
    const started = process.hrtime.bigint();
    let passes = 0;
    let valid = 0;
    let elapsed = 0n;
    do {
      for (let i = 0; i < frames.length; i++) if (validate(frames[i]) === true) valid++;
      passes++;
      elapsed = process.hrtime.bigint() - started;
    } while (elapsed < budget);
    return { ns: Number(elapsed) / (passes * frames.length), valid };`,
  );
}

let sink = 0;

/** ns per frame of one side on one set, with its own timer. */
function time(timer, validate, frames, minMs) {
  const { ns, valid } = timer(validate, frames, minMs);
  sink += valid;
  return ns;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The size of the installed package's ES modules (dist/esm/): all files and the JavaScript alone, raw and gzipped. */
function distSize() {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const files = walk(join(paths.installed, "dist", "esm"));
  const measure = (filter) => {
    let bytes = 0;
    let gzip = 0;
    for (const file of files.filter(filter)) {
      const data = readFileSync(file);
      bytes += data.length;
      gzip += gzipSync(data, { level: 9 }).length;
    }
    return { bytes, gzip };
  };
  return { all: measure(() => true), js: measure((f) => f.endsWith(".js")) };
}

const rows = [];
const allSchemas = loadAjv();
let failed = false;
const loadBefore = os.loadavg();
const ids = protocolIds().filter((id) => options.protocols.length === 0 || options.protocols.includes(id));
if (ids.length === 0) throw new Error(`bench.mjs: no protocol ${options.protocols.join(", ")} (there are ${protocolIds().join(", ")})`);
for (const id of ids) {
  const bindings = await importProtocol(id);
  // Both sides are called the same way: a closure over the function, returning whether the frame
  // is valid.
  const { decodeClientMessage, decodeServerMessage } = bindings;
  const guards = {
    client: (frame) => decodeClientMessage(frame).ok,
    server: (frame) => decodeServerMessage(frame).ok,
  };
  const decoders = { client: decodeClientMessage, server: decodeServerMessage };
  const validators = ajvFor(allSchemas, id);
  const { client: validateClient, server: validateServer } = validators;
  const ajv = {
    client: (frame) => validateClient(frame),
    server: (frame) => validateServer(frame),
  };
  const { sets, documentFrames } = frameSets(id, ajv);
  console.error(`${id}: ${documentFrames} document frames and their mutations, ${corpus(id).length} corpus frames`);
  for (const direction of ["client", "server"]) {
    for (const verdict of ["valid", "invalid"]) {
      const frames = sets[`${direction} ${verdict}`] ?? [];
      if (frames.length === 0) {
        console.error(`${id} ${direction} ${verdict}: no frames`);
        failed = true;
        continue;
      }
      const differ = disagreements(frames, decoders[direction], ajv[direction]);
      if (differ.count > 0) {
        console.error(`${id} ${direction} ${verdict}: the guards and Ajv disagree on ${differ.count} frames, e.g. ${differ.example}`);
        failed = true;
      }
      // The two sides alternate within each round, so that both meet the same load.
      const ours = [];
      const theirs = [];
      const ratios = [];
      const ajvTimer = timer();
      const guardsTimer = timer();
      for (let round = 0; round < options.rounds; round++) {
        let a;
        let g;
        if (round % 2 === 0) {
          a = time(ajvTimer, ajv[direction], frames, options.minMs);
          g = time(guardsTimer, guards[direction], frames, options.minMs);
        } else {
          g = time(guardsTimer, guards[direction], frames, options.minMs);
          a = time(ajvTimer, ajv[direction], frames, options.minMs);
        }
        theirs.push(a);
        ours.push(g);
        ratios.push(g / a);
      }
      rows.push({ id, direction, verdict, frames: frames.length, ajv: median(theirs), guards: median(ours), ratio: median(ratios) });
    }
  }
}
const loadAfter = os.loadavg();

const fmt = (n) => Math.round(n).toLocaleString("en-US");
console.log(
  `Node ${process.version}, ${os.cpus().length} cores; medians of ${options.rounds} rounds of at least ${options.minMs} ms each; ` +
    `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")} before, ${loadAfter.map((l) => l.toFixed(2)).join(" ")} after`,
);
if (options.markdown) {
  console.log("\n| protocol | direction | frames | count | Ajv ns/frame | guards ns/frame | guards / Ajv |");
  console.log("|---|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.id} | ${r.direction} | ${r.verdict} | ${fmt(r.frames)} | ${fmt(r.ajv)} | ${fmt(r.guards)} | ${r.ratio.toFixed(2)} |`);
  }
} else {
  console.log(`\n${"protocol".padEnd(18)}${"direction".padEnd(10)}${"frames".padEnd(9)}${"count".padStart(7)}${"Ajv ns".padStart(10)}${"guards ns".padStart(11)}${"ratio".padStart(8)}`);
  for (const r of rows) {
    console.log(
      `${r.id.padEnd(18)}${r.direction.padEnd(10)}${r.verdict.padEnd(9)}${fmt(r.frames).padStart(7)}${fmt(r.ajv).padStart(10)}${fmt(r.guards).padStart(11)}${r.ratio.toFixed(2).padStart(8)}`,
    );
  }
}
const slower = rows.filter((r) => r.ratio > 1);
console.log(`\nguards at or below Ajv in ${rows.length - slower.length} of ${rows.length} sets${slower.length ? `; slower: ${slower.map((r) => `${r.id} ${r.direction} ${r.verdict}`).join(", ")}` : ""}`);
const size = distSize();
console.log(
  `dist/esm/: ${fmt(size.all.bytes)} bytes (${fmt(size.all.gzip)} gzipped, file by file); its JavaScript ${fmt(size.js.bytes)} bytes (${fmt(size.js.gzip)} gzipped)`,
);
if (sink < 0) console.log(sink);
if (failed) process.exitCode = 1;
