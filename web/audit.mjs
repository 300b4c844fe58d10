#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit of a running server, using the audits
// that ship with graphql-http (`serverAudits`). See AUDITS.md for what each
// audit sends and expects.
//
// Usage:
//   node web/audit.mjs [URL]
//     URL            GraphQL endpoint, e.g. http://127.0.0.1:8080/graphql
//                    (default: env OMS_GRAPHQL_URL)
//   env OMS_TOKEN    optional bearer token, sent as `Authorization: Bearer <token>`
//                    on every audit request
//   env OMS_AUDIT_VERBOSE=1  also print status, content-type and body of
//                    failing responses
//
// Prints one line per audit, then exactly:
//   graphql-http audit: N ok, N warnings, N errors
// Exit code: 0 when no MUST audit failed, 1 when any did (or an audit could
// not run at all, e.g. connection refused), 2 on usage errors.
//
// Failed MAY audits are "notices": listed, but not counted as warnings or errors.

import { serverAudits } from 'graphql-http';

const url = process.argv[2] || process.env.OMS_GRAPHQL_URL;
if (!url) {
  console.error('usage: node audit.mjs <graphql-url>   (or set OMS_GRAPHQL_URL)');
  console.error('  e.g. node audit.mjs http://127.0.0.1:8080/graphql');
  process.exit(2);
}
try {
  new URL(url);
} catch {
  console.error(`audit: not a URL: ${url}`);
  process.exit(2);
}

const token = (process.env.OMS_TOKEN || '').trim();
const verbose = !!process.env.OMS_AUDIT_VERBOSE;
const TIMEOUT_MS = Number(process.env.OMS_AUDIT_TIMEOUT_MS || 10000);

// fetch with the bearer token added (unless the audit set one itself) and a
// timeout, so a hanging server fails the audit instead of hanging it.
async function fetchFn(input, init = {}) {
  const headers = new Headers(init.headers || {});
  if (token && !headers.has('authorization')) {
    headers.set('authorization', `Bearer ${token}`);
  }
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
}

const audits = serverAudits({ url, fetchFn });

const results = [];
// Sequentially: keeps the output in order and the load on the server small.
for (const audit of audits) {
  try {
    results.push(await audit.fn());
  } catch (err) {
    // graphql-http throws (instead of returning a result) only on fatal
    // problems such as a refused connection; count them as errors.
    const cause = err && err.cause ? ` (${err.cause.code || err.cause.message || err.cause})` : '';
    results.push({
      id: audit.id,
      name: audit.name,
      status: 'error',
      reason: `audit could not run: ${err && err.message ? err.message : err}${cause}`,
      fatal: true,
    });
  }
}

const LABEL = { ok: 'ok   ', warn: 'WARN ', error: 'ERROR', notice: 'note ' };

async function describe(res) {
  if (!res) return '';
  let body = '';
  try {
    body = await res.clone().text();
  } catch {
    body = '<body already read>';
  }
  if (body.length > 300) body = body.slice(0, 300) + '...';
  return `\n        -> HTTP ${res.status}, content-type: ${res.headers.get('content-type')}, body: ${body}`;
}

console.log(`graphql-http server audits against ${url}${token ? ' (with bearer token)' : ''}`);
for (const r of results) {
  let line = `${LABEL[r.status] || r.status} ${r.id} ${r.name}`;
  if (r.status !== 'ok') {
    line += ` -- ${r.reason}`;
    if (verbose || r.status === 'error') line += await describe(r.response);
  }
  console.log(line);
}

const count = (s) => results.filter((r) => r.status === s).length;
const ok = count('ok');
const warnings = count('warn');
const errors = count('error');
const notices = count('notice');
if (notices) {
  console.log(`(${notices} optional MAY audit(s) not met, listed as "note"; they are not failures)`);
}
console.log(`graphql-http audit: ${ok} ok, ${warnings} warnings, ${errors} errors`);
process.exit(errors > 0 ? 1 : 0);
