// Where the tests find the repository, the generated package and what build.mjs makes.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const project = resolve(here, "..");
const root = resolve(project, "../../..");
const work = process.env.AGENTWIRE_TS_WORK ?? join(root, "target", "ts-bindings");

export const paths = {
  /** The repository. */
  root,
  /** This test project. */
  project,
  /** The generated package's sources. */
  generated: join(root, "generated", "ts"),
  /** The pinned TypeScript compiler. */
  tsc: join(project, "node_modules", "typescript", "bin", "tsc"),
  /** Everything build.mjs makes. */
  work,
  /** The compiled copy of the package. */
  package: join(work, "package"),
  /** A project that installed the tarball. */
  install: join(work, "install"),
  /** The installed package. */
  installed: join(work, "install", "node_modules", "@agentwire", "protocols"),
  /** A file holding the tarball's path. */
  tarballRecord: join(work, "tarball.txt"),
  /** The agreement corpus: `<id>.jsonl`. */
  corpus: join(work, "corpus"),
  /** The synthetic protocol's package (codegen/tests/synthetic), compiled, and its corpus. */
  synthetic: join(work, "synthetic"),
  syntheticCorpus: join(work, "synthetic-corpus"),
};
