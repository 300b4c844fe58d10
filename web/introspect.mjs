#!/usr/bin/env node
// What a GraphQL client toolchain sees of a running server:
//   1. introspection as graphql-js (and GraphiQL) send it: getIntrospectionQuery()
//      with every option, POSTed with `Accept: application/graphql-response+json`;
//   2. the schema it describes equals the checked-in schema.graphql, both normalised
//      by graphql-js (lexicographicSortSchema, then printSchema): async-graphql's SDL
//      text never matches graphql-js's byte for byte, the schemas must;
//   3. every default tab of graphiql.html parses and validates against that schema;
//   4. graphql-codegen (codegen.ts: typescript + typescript-operations) run against
//      the endpoint and the tabs' documents produces types without errors, one
//      operation type per tab.
//
// Usage:
//   OMS_TOKEN=<token> node web/introspect.mjs [URL]
//     URL              GraphQL endpoint, e.g. http://127.0.0.1:8080/graphql
//                      (default: env OMS_GRAPHQL_URL)
//   env OMS_TOKEN      bearer token sent with every request (optional)
//   env OMS_SCHEMA_FILE   the SDL to compare with (default: schema.graphql next to web/)
//   env OMS_GRAPHIQL_HTML the page whose DEFAULT_TABS are checked (default: web/graphiql.html)
//   env OMS_INTROSPECT_DIR where to write the normalised schemas, the tab documents and
//                      the generated TypeScript (default: a new temporary directory,
//                      removed when everything passed, kept and printed otherwise)
//   env OMS_INTROSPECT_TIMEOUT_MS  per-request timeout (default 10000)
//
// Exit 0 when every check passed, 1 when any failed (each failure is printed with the
// request sent and the response received), 2 on usage errors.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  getOperationAST,
  lexicographicSortSchema,
  parse,
  printSchema,
  GraphQLSchema,
  validate,
} from 'graphql';

const WEB = path.dirname(fileURLToPath(import.meta.url));
const url = process.argv[2] || process.env.OMS_GRAPHQL_URL;
if (!url) {
  console.error('usage: OMS_TOKEN=<token> node introspect.mjs <graphql-url>   (or set OMS_GRAPHQL_URL)');
  console.error('  e.g. node introspect.mjs http://127.0.0.1:8080/graphql');
  process.exit(2);
}
try {
  new URL(url);
} catch {
  console.error(`introspect: not a URL: ${url}`);
  process.exit(2);
}
const TOKEN = (process.env.OMS_TOKEN || '').trim();
const SCHEMA_FILE = process.env.OMS_SCHEMA_FILE || path.join(WEB, '..', 'schema.graphql');
const GRAPHIQL_HTML = process.env.OMS_GRAPHIQL_HTML || path.join(WEB, 'graphiql.html');
const TIMEOUT_MS = Number(process.env.OMS_INTROSPECT_TIMEOUT_MS || 10000);
// The options GraphiQL and code generators ask for; each adds fields the server must answer.
const INTROSPECTION_OPTIONS = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
};
// How many lines of a diff or of a tool's output to show.
const SHOW_LINES = 60;

const redact = (s) => (TOKEN ? String(s).split(TOKEN).join('<token>') : String(s));
const problems = [];
function problem(title, detail = '') {
  problems.push(redact(detail ? `${title}\n${indent(detail)}` : title));
}
const indent = (s, by = '    ') =>
  String(s)
    .split('\n')
    .map((l) => by + l)
    .join('\n');
const clip = (s, n = 1500) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);
const head = (s, n = SHOW_LINES) => {
  const lines = s.split('\n');
  return lines.length > n ? [...lines.slice(0, n), `… (${lines.length - n} more lines)`].join('\n') : s;
};

const keepDir = !!process.env.OMS_INTROSPECT_DIR;
const dir = process.env.OMS_INTROSPECT_DIR
  ? path.resolve(process.env.OMS_INTROSPECT_DIR)
  : await mkdtemp(path.join(os.tmpdir(), 'oms-introspect-'));
await mkdir(dir, { recursive: true });

// --- 1. introspection ---------------------------------------------------------------

// POSTs the introspection query with the given Accept header; returns the `data` of a
// well-formed answer, or null after recording what went wrong.
async function introspect(accept, label) {
  const body = JSON.stringify({
    query: getIntrospectionQuery(INTROSPECTION_OPTIONS),
    operationName: 'IntrospectionQuery',
  });
  const headers = { 'content-type': 'application/json', accept };
  if (TOKEN) headers.authorization = `Bearer ${TOKEN}`;
  const request = [
    `POST ${url}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${k === 'authorization' ? 'Bearer <token>' : v}`),
    `body: {"query": getIntrospectionQuery(${JSON.stringify(INTROSPECTION_OPTIONS)}), "operationName": "IntrospectionQuery"}`,
  ].join('\n');
  let res;
  let text;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    text = await res.text();
  } catch (err) {
    const cause = err && err.cause ? ` (${err.cause.code || err.cause.message})` : '';
    problem(`${label}: the request failed: ${err && err.message ? err.message : err}${cause}`, `request:\n${indent(request)}`);
    return null;
  }
  const type = res.headers.get('content-type') || '';
  const response = `HTTP ${res.status}\ncontent-type: ${type || '<none>'}\nbody: ${clip(text)}`;
  const fail = (why) => {
    problem(`${label}: ${why}`, `request:\n${indent(request)}\nresponse:\n${indent(response)}`);
    return null;
  };
  if (res.status !== 200) return fail(`expected HTTP 200, got ${res.status}`);
  const wantType = accept.split(',')[0].trim();
  if (!type.toLowerCase().startsWith(wantType)) return fail(`expected content-type ${wantType}, got ${type || 'none'}`);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('the body is not JSON');
  }
  if (json.errors) return fail('the response has "errors"');
  if (!json.data || !json.data.__schema) return fail('the response has no data.__schema');
  return json.data;
}

let introspected = null;
let data = await introspect('application/graphql-response+json', 'introspection (Accept: application/graphql-response+json)');
if (!data) {
  // Check the rest with what legacy clients get, so one run reports every problem.
  console.log('introspection with application/graphql-response+json failed; checking the rest with Accept: application/json');
  data = await introspect('application/json', 'introspection (Accept: application/json)');
}
if (data) {
  try {
    introspected = buildClientSchema(data);
  } catch (err) {
    problem('graphql-js cannot build a schema from the introspection result', err.message);
  }
}

// --- 2. introspected schema == schema.graphql ----------------------------------------

let fileSchema = null;
try {
  fileSchema = buildSchema(await readFile(SCHEMA_FILE, 'utf8'));
} catch (err) {
  problem(`graphql-js cannot build ${SCHEMA_FILE}`, err.message);
}
// async-graphql answers `__schema { description }` with a fixed text of its own (the built-in
// __Schema type's description, not this schema's), which the SDL export never prints: the
// schema's description is left out on both sides. Every other difference counts.
const withoutDescription = (schema) => new GraphQLSchema({ ...schema.toConfig(), description: undefined });
const normalise = (schema) => printSchema(lexicographicSortSchema(withoutDescription(schema))) + '\n';
if (introspected && fileSchema) {
  const a = path.join(dir, 'schema.graphql.normalised.graphql');
  const b = path.join(dir, 'introspection.normalised.graphql');
  await writeFile(a, normalise(fileSchema));
  await writeFile(b, normalise(introspected));
  const diff = spawnSync('diff', ['-u', '--label', `${path.basename(SCHEMA_FILE)} (normalised)`, '--label', 'introspection (normalised)', a, b], {
    encoding: 'utf8',
  });
  if (diff.status === 1) {
    const changed = diff.stdout.split('\n').filter((l) => /^[-+][^-+]/.test(l) || l === '-' || l === '+').length;
    problem(`the introspected schema differs from ${path.basename(SCHEMA_FILE)} (${changed} changed lines; both normalised by graphql-js; full files in ${dir})`, head(diff.stdout.trimEnd()));
  } else if (diff.status !== 0) {
    problem('diff failed', diff.stderr || String(diff.error));
  } else {
    console.log(`schema: the introspected schema equals ${path.basename(SCHEMA_FILE)} (graphql-js normalised, ${normalise(introspected).split('\n').length} lines)`);
  }
}

// --- 3. the GraphiQL tabs' documents -------------------------------------------------

// DEFAULT_TABS is a plain array literal at the top of the page's script; evaluate just it.
function defaultTabs(html) {
  const m = /const DEFAULT_TABS = (\[[\s\S]*?\n\s*\]);\n/.exec(html);
  if (!m) throw new Error(`no "const DEFAULT_TABS = [ ... ];" in ${GRAPHIQL_HTML}`);
  const tabs = vm.runInNewContext(`(${m[1]})`, {}, { timeout: 1000 });
  if (!Array.isArray(tabs) || tabs.length === 0) throw new Error('DEFAULT_TABS is not a non-empty array');
  return tabs;
}

const docsDir = path.join(dir, 'documents');
await mkdir(docsDir, { recursive: true });
const tabs = []; // { label, file, name, kind }
try {
  const raw = defaultTabs(await readFile(GRAPHIQL_HTML, 'utf8'));
  const against = introspected || fileSchema;
  for (const [i, tab] of raw.entries()) {
    let doc;
    try {
      doc = parse(tab.query);
    } catch (err) {
      problem(`tab ${i + 1}: its query does not parse`, err.message);
      continue;
    }
    const op = getOperationAST(doc);
    const name = op && op.name ? op.name.value : null;
    const label = `tab ${i + 1} (${name || 'unnamed'})`;
    if (!name) {
      problem(`${label}: one named operation expected (GraphiQL titles the tab with it; codegen names its types after it)`);
      continue;
    }
    const file = path.join(docsDir, `${String(i + 1).padStart(2, '0')}-${name}.graphql`);
    await writeFile(file, tab.query);
    tabs.push({ label, file, name, kind: op.operation });
    if (against) {
      const errors = validate(against, doc);
      if (errors.length) {
        problem(`${label}: invalid against the ${introspected ? 'introspected schema' : path.basename(SCHEMA_FILE)}`, errors.map((e) => e.toString()).join('\n'));
      }
    }
  }
  console.log(`tabs: ${tabs.map((t) => t.name).join(', ')}`);
} catch (err) {
  problem(`cannot read the default tabs of ${GRAPHIQL_HTML}`, err.message);
}

// --- 4. graphql-codegen ----------------------------------------------------------------

const outDir = path.join(dir, 'generated');
const codegen = spawnSync(
  process.execPath,
  [path.join(WEB, 'node_modules', '@graphql-codegen', 'cli', 'esm', 'bin.js'), '--config', path.join(WEB, 'codegen.ts')],
  {
    cwd: WEB,
    encoding: 'utf8',
    timeout: 120000,
    env: {
      ...process.env,
      OMS_GRAPHQL_URL: url,
      OMS_TOKEN: TOKEN,
      OMS_CODEGEN_DOCUMENTS: path.join(docsDir, '*.graphql'),
      OMS_CODEGEN_OUT: outDir,
      // Plain lines instead of the interactive progress display.
      CI: 'true',
      NO_COLOR: '1',
    },
  },
);
const codegenOutput = `${codegen.stdout || ''}${codegen.stderr || ''}`.trim();
const generatedFile = path.join(outDir, 'oms-operations.ts');
if (codegen.error || codegen.status !== 0) {
  const named = tabs.filter((t) => codegenOutput.includes(path.basename(t.file)));
  const which = named.length ? `; it names ${named.map((t) => t.label).join(', ')}` : '';
  problem(
    `graphql-codegen failed (exit ${codegen.status ?? codegen.error}${which})`,
    `run: (cd web && OMS_GRAPHQL_URL=${url}${TOKEN ? ' OMS_TOKEN=<token>' : ''} OMS_CODEGEN_DOCUMENTS='${path.join(docsDir, '*.graphql')}' OMS_CODEGEN_OUT=${outDir} npx graphql-codegen --config codegen.ts)\n${head(codegenOutput || String(codegen.error), 40)}`,
  );
} else {
  let ts = '';
  try {
    ts = await readFile(generatedFile, 'utf8');
  } catch {
    problem(`graphql-codegen exited 0 but wrote no ${generatedFile}`, head(codegenOutput, 40));
  }
  if (ts) {
    const suffix = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };
    const missing = tabs.filter((t) => !new RegExp(`^export type ${t.name}${suffix[t.kind]} = `, 'm').test(ts));
    for (const t of missing) problem(`${t.label}: graphql-codegen produced no type ${t.name}${suffix[t.kind]}`);
    if (!missing.length) {
      const types = (ts.match(/^export type /gm) || []).length;
      console.log(`codegen: ${types} types for ${tabs.length} tab documents, ${ts.length} characters`);
    }
  }
}

// --- verdict -----------------------------------------------------------------------------

if (problems.length) {
  console.log(`FAILED (${problems.length} problem(s)):`);
  for (const p of problems) console.log(`  - ${p}`);
  console.log(`files: ${dir}`);
  console.log('introspect: FAIL');
  process.exit(1);
}
if (!keepDir) await rm(dir, { recursive: true, force: true });
console.log(
  `introspect: PASS (introspection answered with application/graphql-response+json, equals ${path.basename(SCHEMA_FILE)}, ${tabs.length} tab documents valid, codegen types generated)`,
);
