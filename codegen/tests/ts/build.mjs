// Builds the generated package the way `npm pack` does, with this project's pinned TypeScript,
// and installs the tarball where the tests import it from:
//
//   target/ts-bindings/package/    a copy of generated/ts, built by its own `build` script with `tsc
//                                  --strict` into dist/esm/ (ES modules) and dist/cjs/ (CommonJS)
//   target/ts-bindings/*.tgz       the packed package
//   target/ts-bindings/install/    a project that installed the tarball (what the tests import)
//   target/ts-bindings/corpus/     the agreement corpus, `cargo xtask corpus --out`
//
// Nothing here needs the network: the package has no dependencies.

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { paths } from "./lib/paths.mjs";

const here = dirname(fileURLToPath(import.meta.url));

function step(name, action) {
  const started = Date.now();
  try {
    action();
  } catch (error) {
    console.error(`build.mjs: ${name} failed`);
    throw error;
  }
  console.log(`build.mjs: ${name} (${Date.now() - started} ms)`);
}

function run(command, args, cwd, timeout = 300_000) {
  execFileSync(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"], timeout });
}

const generated = readFileSync(join(paths.generated, "package.json"), "utf8");
const manifest = JSON.parse(generated);
const ownTypescript = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).devDependencies.typescript;
if (manifest.devDependencies.typescript !== ownTypescript) {
  throw new Error(
    `generated/ts pins typescript ${manifest.devDependencies.typescript} but the tests use ${ownTypescript}: pin the same version`,
  );
}

step("copy generated/ts", () => {
  for (const stale of [paths.package, paths.install, paths.tarballRecord]) {
    rmSync(stale, { recursive: true, force: true });
  }
  mkdirSync(paths.package, { recursive: true });
  for (const entry of readdirSync(paths.generated)) {
    if (entry === "node_modules" || entry === "dist") continue;
    cpSync(join(paths.generated, entry), join(paths.package, entry), { recursive: true });
  }
});

step("build (tsc --strict, ES modules and CommonJS)", () => {
  // The package's own build script, with this project's pinned compiler on the PATH.
  const bin = join(paths.project, "node_modules", ".bin");
  execFileSync("npm", ["run", "build"], {
    cwd: paths.package,
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` },
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 300_000,
  });
});

// Every construct the generator supports, in the synthetic protocol (when the checkout has it):
// its package must compile as strictly as the real one.
const syntheticSchema = join(paths.root, "codegen", "tests", "synthetic", "schema");
if (existsSync(syntheticSchema)) {
  step("synthetic protocol compiles with tsc --strict", () => {
    const out = paths.synthetic;
    rmSync(out, { recursive: true, force: true });
    execFileSync(
      "cargo",
      ["test", "--quiet", "-p", "agentwire-codegen", "--test", "ts_emit", "the_synthetic_protocol_emits"],
      { cwd: paths.root, env: { ...process.env, AGENTWIRE_TS_OUT: out }, stdio: ["ignore", "ignore", "inherit"], timeout: 900_000 },
    );
    run(process.execPath, [paths.tsc, "-p", join(out, "tsconfig.json")], out);
  });
}

let tarball;
step("npm pack", () => {
  const out = execFileSync(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", paths.work],
    { cwd: paths.package, encoding: "utf8", timeout: 120_000 },
  );
  tarball = join(paths.work, JSON.parse(out)[0].filename);
});

step("install the tarball", () => {
  mkdirSync(paths.install, { recursive: true });
  writeFileSync(
    join(paths.install, "package.json"),
    JSON.stringify({ name: "agentwire-ts-install", private: true, type: "module" }, null, 2),
  );
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", tarball], paths.install, 120_000);
  writeFileSync(paths.tarballRecord, tarball);
});

// AGENTWIRE_SKIP_CORPUS=1 saves the corpus for a quicker rebuild while working on the clients;
// the guards test then skips its agreement cases, saying why.
if (process.env.AGENTWIRE_SKIP_CORPUS === "1") {
  console.warn("build.mjs: AGENTWIRE_SKIP_CORPUS=1: the agreement corpus is not written");
} else {
  step("agreement corpus (cargo xtask corpus)", () => {
    rmSync(paths.corpus, { recursive: true, force: true });
    run("cargo", ["xtask", "corpus", "--out", paths.corpus], paths.root, 900_000);
  });
  if (existsSync(syntheticSchema)) {
    step("synthetic protocol's agreement corpus", () => {
      rmSync(paths.syntheticCorpus, { recursive: true, force: true });
      run("cargo", ["xtask", "corpus", "--schema", syntheticSchema, "--out", paths.syntheticCorpus], paths.root, 900_000);
    });
  }
}

for (const entry of ["dist/esm/index.js", "dist/cjs/index.js", "dist/cjs/package.json"]) {
  if (!existsSync(join(paths.installed, entry))) {
    throw new Error(`build.mjs: the installed package has no ${entry} under ${paths.installed}`);
  }
}
