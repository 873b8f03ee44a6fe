// A consumer project in a temporary folder installs the packed tarball and type-checks, with
// `tsc --strict`, a program that uses every protocol's client (consumer/program.ts) and the
// package README's TypeScript examples. Also: the public declarations contain no `any`, and every
// subpath export loads.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import ts from "typescript";

import { protocolIds } from "./lib/package.mjs";
import { paths } from "./lib/paths.mjs";

let project;
let readmeExamples = [];

before(() => {
  project = mkdtempSync(join(tmpdir(), "agentwire-consumer-"));
  const tarball = readFileSync(paths.tarballRecord, "utf8").trim();
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify(
      { name: "consumer", private: true, type: "module", dependencies: { "@agentwire/protocols": `file:${tarball}` } },
      null,
      2,
    ),
  );
  // The package has no dependencies, so the install needs no network.
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], {
    cwd: project,
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 120_000,
  });
  // What the program itself uses (ws and the types of ws and Node) comes from this test project.
  mkdirSync(join(project, "node_modules", "@types"), { recursive: true });
  for (const name of ["ws", "@types/ws", "@types/node"]) {
    symlinkSync(join(paths.project, "node_modules", name), join(project, "node_modules", name), "dir");
  }
  cpSync(join(paths.project, "consumer"), project, { recursive: true });
  // The README's examples, as the package ships it, one module each.
  const readme = readFileSync(join(project, "node_modules", "@agentwire", "protocols", "README.md"), "utf8");
  readmeExamples = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  readmeExamples.forEach((code, i) => writeFileSync(join(project, `readme-${i + 1}.ts`), `${code}\nexport {};\n`));
});

after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test("a program using every protocol's client, and the README's examples, type-check with tsc --strict", () => {
  const program = readFileSync(join(project, "program.ts"), "utf8");
  for (const id of protocolIds()) {
    assert.ok(program.includes(`@agentwire/protocols/${id}"`), `consumer/program.ts does not use ${id}`);
  }
  assert.ok(readmeExamples.length > 0, "the package README has no ```ts example");
  try {
    execFileSync(process.execPath, [paths.tsc, "-p", join(project, "tsconfig.json")], {
      cwd: project,
      encoding: "utf8",
      timeout: 180_000,
    });
  } catch (error) {
    assert.fail(`tsc --strict failed on the consumer program or the README's examples:\n${error.stdout}${error.stderr}`);
  }
});

test("every subpath export loads in Node", () => {
  for (const specifier of ["@agentwire/protocols", "@agentwire/protocols/runtime", ...protocolIds().map((id) => `@agentwire/protocols/${id}`)]) {
    const out = execFileSync(
      process.execPath,
      ["--input-type=module", "-e", `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length);`],
      { cwd: project, encoding: "utf8", timeout: 30_000 },
    );
    assert.ok(Number(out) > 0, `${specifier} exports nothing`);
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
  const dist = join(project, "node_modules", "@agentwire", "protocols", "dist");
  let count = 0;
  for (const file of readdirSync(dist, { recursive: true })) {
    if (!String(file).endsWith(".d.ts")) continue;
    count++;
    const text = readFileSync(join(dist, file), "utf8");
    const source = ts.createSourceFile(String(file), text, ts.ScriptTarget.Latest, true);
    visit(String(file), source, source);
  }
  assert.ok(count >= 5, `only ${count} declaration files`);
  assert.deepEqual(found, [], `\`any\` in the public API at ${found.join(", ")}`);
});
