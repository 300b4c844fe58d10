#!/usr/bin/env node
// Browser smoke test of the GraphiQL page, driving Debian's Chromium with
// playwright-core (no browser download).
//
// Usage:
//   OMS_TOKEN=<token> node web/browser-test.mjs [BASE_URL]
//     BASE_URL         server root, e.g. http://127.0.0.1:8080 (default: env OMS_BASE_URL)
//   env OMS_TOKEN      bearer token; the page is opened as /graphiql?token=<token>
//                      (optional: without it the page is opened without a token)
//   env OMS_SCREENSHOT where to save a PNG screenshot (default /tmp/graphiql.png)
//   env OMS_QUERY      query to run (default `{ __typename }`)
//   env OMS_CHROMIUM   browser binary (default /usr/bin/chromium)
//   env OMS_BROWSER_TIMEOUT_MS  per-step timeout (default 30000)
//
// Fails (exit 1) on: any failed request, any HTTP response >= 400, any request
// leaving the server's origin or outside /graphiql, /graphiql/assets/*, /graphql,
// any console error, any uncaught page error, the default tabs missing, the
// Authorization header not sent (when OMS_TOKEN is set), or the result pane
// never showing "data". Exit 2 on usage errors.

import { chromium } from 'playwright-core';

const BASE = (process.argv[2] || process.env.OMS_BASE_URL || '').replace(/\/+$/, '');
if (!BASE) {
  console.error('usage: OMS_TOKEN=<token> node browser-test.mjs <base-url>   (or set OMS_BASE_URL)');
  console.error('  e.g. node browser-test.mjs http://127.0.0.1:8080');
  process.exit(2);
}
let origin;
try {
  origin = new URL(BASE).origin;
} catch {
  console.error(`browser-test: not a URL: ${BASE}`);
  process.exit(2);
}
const TOKEN = (process.env.OMS_TOKEN || '').trim();
const SCREENSHOT = process.env.OMS_SCREENSHOT || '/tmp/graphiql.png';
const QUERY = process.env.OMS_QUERY || '{ __typename }';
const EXECUTABLE = process.env.OMS_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.OMS_BROWSER_TIMEOUT_MS || 30000);
// Operation names of the default tabs in graphiql.html (tab titles).
const EXPECTED_TABS = [
  'RecentOrders',
  'OneOrder',
  'Plugins',
  'ClaimRateBySeller',
  'TopReasonsForProduct',
  'RefundsByTender',
  'SlowestOpenClaims',
  'Me',
];

const pageUrl = `${BASE}/graphiql${TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : ''}`;
const redact = (s) => (TOKEN ? String(s).split(encodeURIComponent(TOKEN)).join('<token>').split(TOKEN).join('<token>') : String(s));

const problems = []; // everything that makes the test fail
const graphqlPosts = []; // { authorization, body }
const requested = []; // every URL the page requested

function problem(kind, detail) {
  problems.push(`${kind}: ${redact(detail)}`);
}

function allowedPath(u) {
  if (u.origin !== origin) return false;
  return u.pathname === '/graphiql' || u.pathname === '/graphql' || u.pathname.startsWith('/graphiql/assets/');
}

const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let dataShown = false;
let resultText = '';
let tabTitles = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);

  page.on('request', async (req) => {
    const url = req.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    requested.push(`${req.method()} ${url}`);
    let u;
    try {
      u = new URL(url);
    } catch {
      return problem('odd request URL', url);
    }
    if (!allowedPath(u)) problem('unexpected request', `${req.method()} ${url}`);
    if (u.origin === origin && u.pathname === '/graphql' && req.method() === 'POST') {
      const headers = await req.allHeaders().catch(() => req.headers());
      graphqlPosts.push({ authorization: headers['authorization'] || null, body: req.postData() || '' });
    }
  });
  page.on('requestfailed', (req) => {
    const f = req.failure();
    problem('request failed', `${req.method()} ${req.url()} (${f ? f.errorText : 'unknown'})`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) {
      problem('HTTP error', `${res.status()} ${res.request().method()} ${res.url()}`);
    }
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      problem('console error', `${msg.text()}${loc && loc.url ? ` (at ${loc.url}:${loc.lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (err) => problem('page error', err && err.stack ? err.stack : String(err)));

  console.log(`opening ${redact(pageUrl)}`);
  const nav = await page.goto(pageUrl, { waitUntil: 'load' });
  if (!nav) problem('navigation', 'no response for the page');
  else if (!nav.ok()) problem('navigation', `page answered HTTP ${nav.status()}`);

  // GraphiQL rendered: the query editor (CodeMirror 5) and the execute button exist.
  await page.waitForSelector('.graphiql-query-editor .CodeMirror');
  await page.waitForSelector('.graphiql-execute-button');
  const title = await page.title();
  if (title !== 'OMS GraphiQL') problem('page title', `expected "OMS GraphiQL", got "${title}"`);

  tabTitles = await page.$$eval('.graphiql-tab .graphiql-tab-button', (els) => els.map((e) => e.textContent.trim()));
  for (const t of EXPECTED_TABS) {
    if (!tabTitles.includes(t)) problem('default tabs', `tab "${t}" missing (tabs: ${JSON.stringify(tabTitles)})`);
  }

  // The headers editor is visible (GraphiQL 3: the un-hidden editor in the
  // editor-tools pane) and, with OMS_TOKEN, carries the token from ?token=.
  const headersEditorText = () =>
    page.evaluate(() => {
      const el = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
      return el && el.CodeMirror && el.offsetParent !== null ? el.CodeMirror.getValue() : null;
    });
  await page
    .waitForFunction(
      (wantBearer) => {
        const el = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
        const v = el && el.CodeMirror ? el.CodeMirror.getValue() : '';
        return wantBearer ? v.includes('Bearer ') : v.trim() !== '';
      },
      !!TOKEN,
      { timeout: 5000 },
    )
    .catch(() => {});
  const headersText = await headersEditorText();
  if (headersText === null) problem('headers editor', 'no visible headers editor');
  else if (TOKEN && !headersText.includes('Bearer ')) {
    problem('headers editor', `expected the Authorization header from ?token=, got ${JSON.stringify(headersText)}`);
  }
  if (page.url().includes('token=')) problem('token in URL', 'the page did not remove ?token= from the address bar');

  // Put our query into the active tab and run it.
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, QUERY);
  // GraphiQL picks up the new operation name after a 100 ms debounce; clicking
  // earlier would send the old tab's operationName with the new query.
  await page.waitForTimeout(500);
  const postsBefore = graphqlPosts.length;
  await page.click('.graphiql-execute-button');

  try {
    await page.waitForFunction(
      () => {
        const el = document.querySelector('.result-window .CodeMirror');
        const text = el && el.CodeMirror ? el.CodeMirror.getValue() : '';
        return text.includes('"data"') || text.includes('"errors"');
      },
      null,
      { timeout: TIMEOUT },
    );
  } catch {
    // reported below
  }
  resultText = await page.evaluate(() => {
    const el = document.querySelector('.result-window .CodeMirror');
    return el && el.CodeMirror ? el.CodeMirror.getValue() : '';
  });
  dataShown = resultText.includes('"data"');
  if (!dataShown) problem('result', `no "data" in the result pane: ${resultText.slice(0, 500) || '<empty>'}`);

  const ours = graphqlPosts.slice(postsBefore);
  if (ours.length === 0) problem('execute', 'clicking execute sent no POST /graphql');
  if (TOKEN && ours.some((p) => p.authorization !== `Bearer ${TOKEN}`)) {
    problem('auth header', 'the executed query was not sent with "Authorization: Bearer <token>"');
  }

  // let late errors (if any) surface before the verdict
  await page.waitForTimeout(500);
  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT}`);
} catch (err) {
  problem('test step failed', err && err.message ? err.message : String(err));
} finally {
  await browser.close();
}

console.log(`requests (${requested.length}):`);
for (const r of requested) console.log(`  ${redact(r)}`);
console.log(`tabs: ${JSON.stringify(tabTitles)}`);
console.log(`POST /graphql: ${graphqlPosts.length} (with bearer token: ${graphqlPosts.filter((p) => p.authorization).length})`);
console.log(`result: ${redact(resultText.replace(/\s+/g, ' ').slice(0, 300))}`);
if (problems.length) {
  console.log(`FAILED (${problems.length} problem(s)):`);
  for (const p of problems) console.log(`  - ${p}`);
  console.log(`browser-test: FAIL`);
  process.exit(1);
}
console.log('browser-test: PASS (GraphiQL rendered, query returned data, no failed requests, no console or page errors)');
