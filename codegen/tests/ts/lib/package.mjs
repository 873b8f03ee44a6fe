// Imports the installed package (see build.mjs) by its subpath exports, as a consumer would.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { paths } from "./paths.mjs";

/** The protocol ids of the installed package, from its subpath exports. */
export function protocolIds() {
  const manifest = join(paths.installed, "package.json");
  if (!existsSync(manifest)) {
    throw new Error(`the package is not built: run \`node ${join(paths.project, "build.mjs")}\` first`);
  }
  const exports = JSON.parse(readFileSync(manifest, "utf8")).exports;
  return Object.keys(exports)
    .filter((key) => key.startsWith("./") && !["./runtime", "./package.json"].includes(key))
    .map((key) => key.slice(2));
}

/** A protocol's module, resolved through the package's `exports` from the install project. */
export async function importProtocol(id) {
  return import(resolveFromInstall(`@agentwire/protocols/${id}`));
}

/** The package's root module. */
export async function importRoot() {
  return import(resolveFromInstall("@agentwire/protocols"));
}

function resolveFromInstall(specifier) {
  // Resolve as a module inside the install project would, through the exports map ("default"
  // condition). Node 20's import.meta.resolve takes no parent, hence createRequire.
  const require = createRequire(join(paths.install, "index.js"));
  return pathToFileURL(require.resolve(specifier)).href;
}
