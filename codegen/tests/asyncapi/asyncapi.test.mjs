// The generated AsyncAPI documents, read by the official parser (@asyncapi/parser).
//
// Every `generated/asyncapi/*.asyncapi.json` must parse with no error diagnostic; warnings are
// printed. Every message example must validate against its payload as the parser hands it to
// tools, with Ajv (draft-07, the dialect of AsyncAPI Schema Objects). The parser must resolve
// every reference inside the document: a resolver that would read a file or a URL fails the test.
//
// Run: npm ci --prefix codegen/tests/asyncapi && node --test codegen/tests/asyncapi/

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GENERATED = join(ROOT, 'generated', 'asyncapi');
const SCHEMA = join(ROOT, 'schema');

/** The protocols of the README: each must have a document. */
const KNOWN = ['datagram', 'generalbots', 'generalbots-meet', 'rixa', 'socializer'];

/** Every URI the parser tried to read from outside the document. */
const outsideReads = [];

/** Resolvers that take precedence over the parser's own and read nothing. */
const guards = ['file', 'http', 'https'].map((schema) => ({
  schema,
  order: 0,
  read(uri) {
    outsideReads.push(String(uri));
    return '{}';
  },
}));

const parser = new Parser({ __unstable: { resolver: { resolvers: guards, cache: false } } });

/** Ids of the protocol folders (`schema/<id>/protocol.json`). */
async function protocolIds() {
  const entries = await readdir(SCHEMA, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && existsSync(join(SCHEMA, e.name, 'protocol.json')))
    .map((e) => e.name)
    .sort();
}

/** The generated documents, by protocol id. */
async function documents() {
  const files = (await readdir(GENERATED)).filter((f) => f.endsWith('.asyncapi.json'));
  return files
    .map((file) => ({ id: file.replace(/\.asyncapi\.json$/, ''), path: join(GENERATED, file) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

test('there is one document per protocol', async () => {
  const ids = (await documents()).map((d) => d.id);
  const protocols = await protocolIds();
  for (const id of KNOWN) {
    assert.ok(protocols.includes(id), `schema/${id}/ is missing`);
  }
  assert.deepEqual(ids, protocols);
});

for (const { id, path } of await documents()) {
  test(`${id}: the official parser accepts the document`, async (t) => {
    const text = await readFile(path, 'utf8');
    outsideReads.length = 0;
    const { document, diagnostics } = await parser.parse(text);
    const at = (d) => `${d.code} at /${d.path.join('/')}: ${d.message}`;
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
    const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning);
    const notes = diagnostics.filter((d) => d.severity > DiagnosticSeverity.Warning);
    for (const w of warnings) {
      t.diagnostic(`warning: ${at(w)}`);
      console.log(`${id}: warning: ${at(w)}`);
    }
    if (warnings.length === 0) {
      console.log(`${id}: no warnings`);
    }
    for (const n of notes) {
      console.log(`${id}: information: ${at(n)}`);
    }
    assert.deepEqual(errors.map(at), [], 'error diagnostics');
    assert.ok(document, 'the parser returned no document');
    assert.deepEqual(outsideReads, [], 'the parser read outside the document');

    assert.equal(document.version(), '3.0.0');
    const messages = document.allMessages().all();
    assert.ok(messages.length > 0, 'no messages');

    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    let examples = 0;
    for (const message of messages) {
      const validate = ajv.compile(message.payload().json());
      for (const example of message.examples().all()) {
        examples += 1;
        const ok = validate(example.payload());
        assert.ok(
          ok,
          `example ${example.name()} of ${message.id()}: ${ajv.errorsText(validate.errors)}`,
        );
      }
    }
    assert.ok(examples > 0, 'no examples');
  });
}
