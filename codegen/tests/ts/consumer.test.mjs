// Consumer projects in temporary folders install the packed tarball, as a user's would:
//
// - an ES module project ("type": "module") type-checks, with `tsc --strict`, a program that uses
//   every protocol's client (consumer/esm/program.ts) and the package README's TypeScript
//   examples, and runs the README's first example as written (`node example.mjs`) against
//   `reference --protocol generalbots`;
// - a CommonJS project (no "type") type-checks a program whose imports compile to `require`
//   (consumer/cjs/program.ts), and runs the README's CommonJS example as written (`node
//   example.cjs`) against the same server.
//
// Also: every subpath export loads both ways and exports every error class, and the public
// declarations contain no `any`.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import ts from "typescript";

import { protocolIds } from "./lib/package.mjs";
import { paths } from "./lib/paths.mjs";
import { startReference } from "./lib/servers.mjs";
import { JWT_SECRET, token } from "./lib/targets.mjs";

const ERRORS = ["ConnectionError", "FrameError", "ServerError", "SessionError", "TimeoutError"];

const projects = {};
let readme = "";
let server;

/** A project that installed the tarball, with this test project's `ws` and Node types. */
function consumer(kind) {
  const dir = mkdtempSync(join(tmpdir(), `agentwire-consumer-${kind}-`));
  const tarball = readFileSync(paths.tarballRecord, "utf8").trim();
  const manifest = { name: `consumer-${kind}`, private: true, dependencies: { "@agentwire/protocols": `file:${tarball}` } };
  if (kind === "esm") manifest.type = "module";
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  // The package has no dependencies, so the install needs no network.
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 120_000,
  });
  mkdirSync(join(dir, "node_modules", "@types"), { recursive: true });
  for (const name of ["ws", "@types/ws", "@types/node"]) {
    symlinkSync(join(paths.project, "node_modules", name), join(dir, "node_modules", name), "dir");
  }
  cpSync(join(paths.project, "consumer", kind), dir, { recursive: true });
  return dir;
}

/** The fenced blocks of a language in the README. */
function blocks(language) {
  return [...readme.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map((match) => match[1]);
}

function typeCheck(dir) {
  try {
    execFileSync(process.execPath, [paths.tsc, "-p", join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8", timeout: 180_000 });
  } catch (error) {
    assert.fail(`tsc --strict failed in ${dir}:\n${error.stdout}${error.stderr}`);
  }
}

/** Runs a file with Node in a project, with the server's URL and token; its stdout. */
function runNode(dir, file, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (data) => (out += data));
    child.stderr.on("data", (data) => (err += data));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`node ${file} exited with ${code}:\n${out}\n${err}`));
    });
  });
}

before(async () => {
  projects.esm = consumer("esm");
  projects.cjs = consumer("cjs");
  readme = readFileSync(join(projects.esm, "node_modules", "@agentwire", "protocols", "README.md"), "utf8");
  // The README's TypeScript examples, one module each, type-checked with the program.
  blocks("ts").forEach((code, i) => writeFileSync(join(projects.esm, `readme-${i + 1}.ts`), `${code}\nexport {};\n`));
  server = await startReference("generalbots", ["--jwt-secret", JWT_SECRET]);
});

after(async () => {
  await server?.stop();
  for (const dir of Object.values(projects)) rmSync(dir, { recursive: true, force: true });
});

test("ES modules: a program using every protocol's client, and the README's examples, type-check with tsc --strict", () => {
  const program = readFileSync(join(projects.esm, "program.ts"), "utf8");
  for (const id of protocolIds()) {
    assert.ok(program.includes(`@agentwire/protocols/${id}"`), `consumer/esm/program.ts does not use ${id}`);
  }
  assert.ok(blocks("ts").length > 0, "the package README has no ```ts example");
  typeCheck(projects.esm);
});

test("CommonJS: a program requiring every subpath type-checks with tsc --strict against the CommonJS declarations", () => {
  const program = readFileSync(join(projects.cjs, "program.ts"), "utf8");
  for (const id of protocolIds()) {
    assert.ok(program.includes(`@agentwire/protocols/${id}"`), `consumer/cjs/program.ts does not use ${id}`);
  }
  typeCheck(projects.cjs);
});

test("the README's first example runs as written against reference --protocol generalbots, as an ES module", async () => {
  const [first] = blocks("ts");
  assert.match(first, /@agentwire\/protocols\/generalbots"/, "the first example is General Bots'");
  writeFileSync(join(projects.esm, "example.mjs"), first);
  // The server's URL as it prints it, with the endpoint's path.
  const out = await runNode(projects.esm, "example.mjs", {
    AGENTWIRE_URL: `${server.origin}${server.path}`,
    AGENTWIRE_TOKEN: await token(),
  });
  assert.match(out, /type: 'pong'/, out);
  assert.match(out, /full text: Echo: Hello, I need help with my order/, out);
});

test("the README's CommonJS example runs as written against reference --protocol generalbots", async () => {
  const [example] = blocks("js");
  assert.ok(example?.includes("require("), "the README has a CommonJS example");
  writeFileSync(join(projects.cjs, "example.cjs"), example);
  // The server's origin: the client appends the endpoint's path.
  const out = await runNode(projects.cjs, "example.cjs", { AGENTWIRE_URL: server.origin, AGENTWIRE_TOKEN: await token() });
  assert.match(out, /Echo: Hello, I need help with my order/, out);
});

test("every subpath loads with import and require, and exports every error class, the root's own", () => {
  const specifiers = ["@agentwire/protocols", "@agentwire/protocols/runtime", ...protocolIds().map((id) => `@agentwire/protocols/${id}`)];
  const probe = (load) => `
    const root = ${load("@agentwire/protocols")};
    const out = {};
    for (const specifier of ${JSON.stringify(specifiers)}) {
      const m = ${load("specifier")};
      out[specifier] = { exports: Object.keys(m).length, errors: ${JSON.stringify(ERRORS)}.filter((name) => m[name] !== root[name] || typeof m[name] !== "function") };
    }
    console.log(JSON.stringify(out));`;
  const ways = {
    import: ["--input-type=module", "-e", probe((s) => `await import(${s.startsWith("@") ? JSON.stringify(s) : s})`)],
    require: ["-e", probe((s) => `require(${s.startsWith("@") ? JSON.stringify(s) : s})`)],
  };
  for (const [way, args] of Object.entries(ways)) {
    const report = JSON.parse(execFileSync(process.execPath, args, { cwd: projects.cjs, encoding: "utf8", timeout: 30_000 }));
    for (const specifier of specifiers) {
      assert.ok(report[specifier].exports > 0, `${way} ${specifier} exports nothing`);
      assert.deepEqual(report[specifier].errors, [], `${way} ${specifier} lacks these error classes (or has others than the root's)`);
    }
  }
});

test("the public declarations contain no `any`", () => {
  const found = [];
  const visit = (file, source, node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push(`${file}:${line + 1}`);
    }
    ts.forEachChild(node, (child) => visit(file, source, child));
  };
  const dist = join(projects.esm, "node_modules", "@agentwire", "protocols", "dist");
  let count = 0;
  for (const file of readdirSync(dist, { recursive: true })) {
    if (!String(file).endsWith(".d.ts")) continue;
    count++;
    const text = readFileSync(join(dist, file), "utf8");
    const source = ts.createSourceFile(String(file), text, ts.ScriptTarget.Latest, true);
    visit(String(file), source, source);
  }
  assert.ok(count >= 10, `only ${count} declaration files`);
  assert.deepEqual(found, [], `\`any\` in the public API at ${found.join(", ")}`);
});
