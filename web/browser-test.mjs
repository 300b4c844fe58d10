#!/usr/bin/env node
// Browser test of the GraphiQL page: what an analyst sees, in Debian's Chromium driven by
// playwright-core (no browser download).
//
// Usage:
//   OMS_TOKEN=<token> OMS_TOKEN_ANALYST=<token> OMS_TOKEN_SELLER=<token> \
//   OMS_TOKEN_CUSTOMER=<token> node web/browser-test.mjs [BASE_URL]
//     BASE_URL           server root, e.g. http://127.0.0.1:8080 (default: env OMS_BASE_URL)
//   env OMS_TOKEN        the token the page is opened with (/graphiql?token=...); also the
//                        OPERATOR token unless OMS_TOKEN_OPERATOR is set
//   env OMS_TOKEN_OPERATOR, OMS_TOKEN_ANALYST, OMS_TOKEN_SELLER, OMS_TOKEN_CUSTOMER
//                        a token per role: each default tab runs with the token of the role
//                        its `role` in graphiql.html names (ANY: with every role's token)
//   env OMS_SCREENSHOT   where to save a PNG screenshot (default /tmp/graphiql.png)
//   env OMS_CHROMIUM     browser binary (default /usr/bin/chromium)
//   env OMS_BROWSER_TIMEOUT_MS  per-step timeout (default 30000)
//
// Checks, in order:
//   1. the page renders with every default tab, the token from ?token= in the Headers pane;
//   2. the schema loads: the Docs explorer shows the root types and the result pane holds
//      no error (GraphiQL reports a failed introspection there, inside an HTTP 200);
//   3. the Docs explorer lists Query's fields and opens ClaimStatsRow (by its search box),
//      with its description and fields;
//   4. autocompletion: typing `{ clai` into a new tab offers `claims`;
//   5. every default tab, run with its role's token from the Headers pane, shows "data"
//      and no "errors" in the result pane (the Me tab also names the token's role).
// Fails (exit 1) on any of these, and on any failed request, HTTP status >= 400, request
// outside /graphiql, /graphiql/assets/*, /graphql on that origin, console error or
// uncaught page error; prints what a person would see (the result pane's text). Exit 2 on
// usage errors.

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
const env = (k) => (process.env[k] || '').trim();
const TOKEN = env('OMS_TOKEN');
const ROLES = ['OPERATOR', 'ANALYST', 'SELLER', 'CUSTOMER'];
const TOKENS = {
  OPERATOR: env('OMS_TOKEN_OPERATOR') || TOKEN,
  ANALYST: env('OMS_TOKEN_ANALYST'),
  SELLER: env('OMS_TOKEN_SELLER'),
  CUSTOMER: env('OMS_TOKEN_CUSTOMER'),
};
const SCREENSHOT = process.env.OMS_SCREENSHOT || '/tmp/graphiql.png';
const EXECUTABLE = process.env.OMS_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.OMS_BROWSER_TIMEOUT_MS || 30000);
// Query fields the default tabs use: the Docs explorer must list them.
const QUERY_FIELDS = ['orders', 'order', 'claims', 'claimStats', 'slowestOpenClaims', 'plugins', 'pluginFailures', 'viewer'];
// The analytics row type the tabs point analysts to, and fields it must document.
const DOC_TYPE = 'ClaimStatsRow';
const DOC_TYPE_FIELDS = ['period', 'sellerName', 'claims', 'claimRate', 'refundedCash'];

const pageUrl = `${BASE}/graphiql${TOKEN ? `?token=${encodeURIComponent(TOKEN)}` : ''}`;
const secrets = [...new Set([TOKEN, ...Object.values(TOKENS)].filter(Boolean))];
const redact = (s) => secrets.reduce((acc, t) => acc.split(encodeURIComponent(t)).join('<token>').split(t).join('<token>'), String(s));
const clip = (s, n = 1200) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

const problems = []; // everything that makes the test fail
const graphqlPosts = []; // { authorization, body }
const requested = []; // every URL the page requested

function problem(kind, detail) {
  problems.push(`${kind}: ${redact(detail)}`);
  console.log(`  FAIL ${kind}: ${redact(detail).split('\n')[0].slice(0, 200)}`);
}

function allowedPath(u) {
  if (u.origin !== origin) return false;
  return u.pathname === '/graphiql' || u.pathname === '/graphql' || u.pathname.startsWith('/graphiql/assets/');
}

// The operation name of a document: the tab's title in GraphiQL.
function operationName(query) {
  const m = /^\s*(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/m.exec(query);
  return m ? m[2] : null;
}

// One line about a result's data: each top-level field, null, a list's length or keys.
function summarise(data) {
  const describe = (v) => {
    if (v === null) return 'null';
    if (Array.isArray(v)) return `${v.length} items`;
    if (typeof v !== 'object') return JSON.stringify(v);
    const parts = Object.entries(v).map(([k, x]) => `${k}: ${Array.isArray(x) ? `${x.length} items` : x === null ? 'null' : typeof x === 'object' ? '{…}' : JSON.stringify(x)}`);
    return `{ ${parts.join(', ')} }`;
  };
  return Object.entries(data)
    .map(([k, v]) => `${k} ${describe(v)}`)
    .join('; ');
}

// The first non-empty string under `key` anywhere in `value`.
function findString(value, key) {
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    if (k === key && typeof v === 'string' && v !== '') return v;
    const inner = findString(v, key);
    if (inner) return inner;
  }
  return null;
}

// The tab's variables with each empty string filled from earlier results, or null when
// none is empty (or none can be found: the run then shows what the tab shows as it stands).
function copyVariables(variablesText, results) {
  let vars;
  try {
    vars = JSON.parse(variablesText);
  } catch {
    return null;
  }
  const keys = [];
  for (const [k, v] of Object.entries(vars)) {
    if (v !== '') continue;
    const found = results.map((r) => findString(r, k)).find(Boolean);
    if (found) {
      vars[k] = found;
      keys.push(k);
    }
  }
  return keys.length ? { variables: vars, keys } : null;
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

let tabTitles = [];
const ran = []; // one line per tab run
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

  // The CodeMirror 5 instances GraphiQL renders, by their container.
  const QUERY_CM = '.graphiql-query-editor .CodeMirror';
  const RESULT_CM = '.result-window .CodeMirror';
  const HEADERS_CM = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
  // The first of the two (hidden behind the Headers pane; GraphiQL reads it all the same).
  const VARIABLES_CM = '.graphiql-editor-tool .graphiql-editor:first-child .CodeMirror';
  const editorText = (selector) =>
    page.evaluate((sel) => {
      const el = document.querySelector(sel);
      return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
    }, selector);
  const setEditorText = (selector, text) =>
    page.evaluate(
      ([sel, t]) => {
        document.querySelector(sel).CodeMirror.setValue(t);
      },
      [selector, text],
    );

  // --- 1. the page ------------------------------------------------------------------
  console.log(`opening ${redact(pageUrl)}`);
  const nav = await page.goto(pageUrl, { waitUntil: 'load' });
  if (!nav) problem('navigation', 'no response for the page');
  else if (!nav.ok()) problem('navigation', `page answered HTTP ${nav.status()}`);

  await page.waitForSelector(QUERY_CM);
  await page.waitForSelector('.graphiql-execute-button');
  const title = await page.title();
  if (title !== 'OMS GraphiQL') problem('page title', `expected "OMS GraphiQL", got "${title}"`);

  // The tabs as the served page defines them (a top-level const of its script).
  const defaults = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    DEFAULT_TABS.map((t) => ({ query: t.query, variables: t.variables || null, role: t.role || null })),
  );
  tabTitles = await page.$$eval('.graphiql-tab .graphiql-tab-button', (els) => els.map((e) => e.textContent.trim()));
  const expectedTitles = defaults.map((t) => operationName(t.query));
  if (JSON.stringify(tabTitles) !== JSON.stringify(expectedTitles)) {
    problem('default tabs', `expected the tabs ${JSON.stringify(expectedTitles)}, the page shows ${JSON.stringify(tabTitles)}`);
  }

  // The headers editor is visible and, with OMS_TOKEN, carries the token from ?token=.
  await page
    .waitForFunction(
      ([sel, wantBearer]) => {
        const el = document.querySelector(sel);
        const v = el && el.CodeMirror ? el.CodeMirror.getValue() : '';
        return wantBearer ? v.includes('Bearer ') : v.trim() !== '';
      },
      [HEADERS_CM, !!TOKEN],
      { timeout: 5000 },
    )
    .catch(() => {});
  const headersText = await editorText(HEADERS_CM);
  if (headersText === null) problem('headers editor', 'no visible headers editor');
  else if (TOKEN && !headersText.includes('Bearer ')) {
    problem('headers editor', `expected the Authorization header from ?token=, got ${JSON.stringify(headersText)}`);
  }
  if (page.url().includes('token=')) problem('token in URL', 'the page did not remove ?token= from the address bar');

  // --- 2. the schema loads -------------------------------------------------------------
  await page.click('button[aria-label="Show Documentation Explorer"]');
  // The root types appear once the schema is built; an error replaces them otherwise.
  await page.waitForSelector('.graphiql-doc-explorer-root-type, .graphiql-doc-explorer-error');
  const schemaError = await page.$eval('.graphiql-doc-explorer-content', (el) =>
    el.querySelector('.graphiql-doc-explorer-error') ? el.textContent.trim() : null,
  );
  const resultAfterSchema = (await editorText(RESULT_CM)) || '';
  if (schemaError || resultAfterSchema.trim()) {
    problem(
      'schema',
      `GraphiQL could not load the schema: the Docs pane says ${JSON.stringify(schemaError || 'nothing wrong')}, the result pane shows:\n${clip(resultAfterSchema.trim() || '<empty>')}`,
    );
  } else {
    console.log('ok   schema loaded (Docs explorer shows the root types, result pane empty)');

    // --- 3. the Docs explorer: Query's fields, then ClaimStatsRow ----------------------
    await page.click('.graphiql-doc-explorer-content a.graphiql-doc-explorer-type-name >> text="Query"');
    await page.waitForSelector('.graphiql-doc-explorer-title >> text="Query"');
    const queryFields = await page.$$eval('.graphiql-doc-explorer-content a.graphiql-doc-explorer-field-name', (els) =>
      els.map((e) => e.textContent.trim()),
    );
    const missingFields = QUERY_FIELDS.filter((f) => !queryFields.includes(f));
    if (missingFields.length) {
      problem('docs', `the Docs explorer's Query lacks ${missingFields.join(', ')} (it lists ${queryFields.join(', ') || 'nothing'})`);
    } else {
      console.log(`ok   Docs: Query lists ${queryFields.length} fields`);
    }

    // As a person would: type the name into the Docs search box, pick the type.
    await page.fill('[data-cy="doc-explorer-input"]', DOC_TYPE);
    const option = page.locator(`[data-cy="doc-explorer-option"] >> text="${DOC_TYPE}"`);
    const found = await option
      .waitFor({ timeout: 5000 })
      .then(() => true)
      .catch(() => false);
    if (!found) {
      const offered = await page.$$eval('[data-cy="doc-explorer-list"] li', (els) => els.map((e) => e.textContent.trim()));
      problem('docs', `searching the Docs for ${DOC_TYPE} offers ${offered.length ? JSON.stringify(offered.slice(0, 10)) : 'nothing'}`);
    } else {
      await option.click();
      await page.waitForSelector(`.graphiql-doc-explorer-title >> text="${DOC_TYPE}"`);
      const doc = await page.$eval('.graphiql-doc-explorer-content', (el) => ({
        description: (el.querySelector('.graphiql-markdown-description') || { textContent: '' }).textContent.trim(),
        fields: [...el.querySelectorAll('a.graphiql-doc-explorer-field-name')].map((e) => e.textContent.trim()),
      }));
      const missingDocFields = DOC_TYPE_FIELDS.filter((f) => !doc.fields.includes(f));
      if (!doc.description) problem('docs', `${DOC_TYPE} opens without a description`);
      if (missingDocFields.length) {
        problem('docs', `${DOC_TYPE} lacks ${missingDocFields.join(', ')} (it lists ${doc.fields.join(', ') || 'nothing'})`);
      }
      if (doc.description && !missingDocFields.length) {
        console.log(`ok   Docs: ${DOC_TYPE} opens, ${doc.fields.length} fields, "${doc.description.split('\n')[0].slice(0, 80)}"`);
      }
    }
  }
  await page.click('button[aria-label="Hide Documentation Explorer"]');

  // --- 4. autocompletion, in a new tab ------------------------------------------------
  const tabCount = tabTitles.length;
  await page.click('button[aria-label="Add tab"]');
  await page.waitForFunction((n) => document.querySelectorAll('.graphiql-tab').length === n + 1, tabCount);
  await setEditorText(QUERY_CM, '');
  await page.click(`${QUERY_CM} .CodeMirror-lines`);
  await page.keyboard.type('{ clai');
  const hints = await page
    .waitForFunction(
      () => {
        const items = [...document.querySelectorAll('.CodeMirror-hints .CodeMirror-hint')].map((e) => e.textContent.trim());
        return items.includes('claims') ? items : null;
      },
      null,
      { timeout: 10000 },
    )
    .then((h) => h.jsonValue())
    .catch(() => null);
  if (!hints) {
    const shown = await page.$$eval('.CodeMirror-hints .CodeMirror-hint', (els) => els.map((e) => e.textContent.trim()));
    problem('autocompletion', `typing "{ clai" offered ${shown.length ? JSON.stringify(shown) : 'nothing'}, not "claims" (editor: ${JSON.stringify(await editorText(QUERY_CM))})`);
  } else {
    console.log(`ok   autocompletion: "{ clai" offers ${hints.join(', ')}`);
  }
  await page.keyboard.press('Escape');
  await page.click('.graphiql-tab-active button[aria-label="Close Tab"]');
  await page.waitForFunction((n) => document.querySelectorAll('.graphiql-tab').length === n, tabCount);

  // --- 5. every default tab, with its role's token ------------------------------------
  const earlier = []; // the data of the tabs run so far, for variables a person would copy
  for (const [i, tab] of defaults.entries()) {
    const name = operationName(tab.query) || `tab ${i + 1}`;
    if (!tab.role || !(tab.role === 'ANY' || ROLES.includes(tab.role))) {
      problem(`tab ${name}`, `its role in DEFAULT_TABS is ${JSON.stringify(tab.role)}; give it one of ${[...ROLES, 'ANY'].join(', ')}`);
      continue;
    }
    for (const role of tab.role === 'ANY' ? ROLES : [tab.role]) {
      const token = TOKENS[role];
      if (!token) {
        problem(`tab ${name}`, `no ${role} token: set OMS_TOKEN_${role}`);
        continue;
      }
      await page.locator('.graphiql-tab').nth(i).locator('.graphiql-tab-button').click();
      // The tab's text is in the editor and GraphiQL has picked up its operation name
      // (after a debounce; running earlier would send the previous tab's name).
      await page.waitForFunction(
        ([sel, q, op]) => {
          const cm = document.querySelector(sel).CodeMirror;
          return cm.getValue() === q && cm.operationName === op;
        },
        [QUERY_CM, tab.query, name],
      );
      await setEditorText(HEADERS_CM, JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
      // A query tab whose Variables pane asks for a value copied from another tab
      // ({"orderNumber": ""}) gets it from an earlier tab's result, as its comment tells a
      // person to do; a mutation tab runs as it stands, so the test changes no data.
      const copied = tab.variables && !/^\s*mutation\b/m.test(tab.query) ? copyVariables(tab.variables, earlier) : null;
      if (copied) {
        const before = await editorText(VARIABLES_CM);
        if (before !== tab.variables) {
          problem(`tab ${name}`, `its Variables pane shows ${JSON.stringify(before)}, not the tab's ${JSON.stringify(tab.variables)}`);
        }
        await setEditorText(VARIABLES_CM, JSON.stringify(copied.variables));
      }
      await setEditorText(RESULT_CM, '');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${origin}/graphql` && r.request().method() === 'POST'),
        page.click('.graphiql-execute-button'),
      ]);
      const sent = await response.request().allHeaders();
      if (sent.authorization !== `Bearer ${token}`) problem(`tab ${name} as ${role}`, 'the query was not sent with the Headers pane\'s token');
      await page
        .waitForFunction(
          (sel) => {
            const t = document.querySelector(sel).CodeMirror.getValue();
            return t.includes('"data"') || t.includes('"errors"') || (t.trim() !== '' && !t.trim().startsWith('{'));
          },
          RESULT_CM,
          { timeout: TIMEOUT },
        )
        .catch(() => {});
      const shown = ((await editorText(RESULT_CM)) || '').trim();
      let result = null;
      try {
        result = JSON.parse(shown);
      } catch {
        // not JSON: reported below with the text as shown
      }
      const label = `tab ${name} as ${role} (HTTP ${response.status()})`;
      if (!result || typeof result !== 'object' || !('data' in result) || result.data === null || 'errors' in result) {
        problem(label, `the result pane shows:\n${clip(shown || '<empty>')}`);
        continue;
      }
      if (name === 'Me' && (!result.data.viewer || result.data.viewer.role !== role)) {
        problem(label, `viewer should name the ${role} token, the result pane shows:\n${clip(shown)}`);
        continue;
      }
      const empty = Object.keys(result.data).filter((k) => result.data[k] === null);
      if (copied && empty.length) {
        problem(label, `with ${JSON.stringify(copied.variables)} (copied from an earlier tab) ${empty.join(', ')} is null; the result pane shows:\n${clip(shown)}`);
        continue;
      }
      earlier.push(result.data);
      const line = `ok   ${name} as ${role}${copied ? ` with ${copied.keys.join(', ')} from an earlier tab` : ''}: ${summarise(result.data)}`;
      ran.push(line);
      console.log(redact(line).slice(0, 200));
    }
  }

  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT}`);
} catch (err) {
  problem('test step failed', err && err.message ? err.message : String(err));
} finally {
  await browser.close();
}

const counts = new Map();
for (const r of requested) counts.set(redact(r), (counts.get(redact(r)) || 0) + 1);
console.log(`requests (${requested.length}; POST /graphql with a bearer token: ${graphqlPosts.filter((p) => p.authorization).length} of ${graphqlPosts.length}):`);
for (const [r, n] of counts) console.log(`  ${n > 1 ? `${n} × ` : ''}${r}`);
if (problems.length) {
  console.log(`FAILED (${problems.length} problem(s)):`);
  for (const p of problems) console.log(`  - ${p.split('\n').join('\n      ')}`);
  console.log('browser-test: FAIL');
  process.exit(1);
}
console.log(
  `browser-test: PASS (schema loaded, Docs list Query and open ${DOC_TYPE}, autocompletion, ${ran.length} tab runs showed data; no failed requests, console or page errors)`,
);
