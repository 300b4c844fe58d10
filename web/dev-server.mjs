#!/usr/bin/env node
// STAND-IN ONLY. This is not the OMS server.
//
// A tiny Node server that mimics the HTTP surface the Rust server exposes, so
// that graphiql.html, audit.mjs and browser-test.mjs can be developed and
// checked without the Rust build:
//
//   POST/GET /graphql          graphql-http's reference handler (createHandler
//                              from 'graphql-http/lib/use/http') on a trivial schema
//   GET /graphiql              web/graphiql.html as is
//   GET /graphiql/assets/<p>   web/node_modules/<p> (static files)
//
// The schema is a toy (hello, viewer, a no-op mutation); the OMS schema lives
// in the Rust server. Usage:
//
//   node web/dev-server.mjs [port]        (default 4010, env PORT also works)
//   OMS_DEV_LOG=1 node web/dev-server.mjs  logs every request's method, url and headers
//
// It listens on 127.0.0.1 only.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/http';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.join(here, 'node_modules');
const graphiqlHtml = path.join(here, 'graphiql.html');

const schema = buildSchema(/* GraphQL */ `
  type Query {
    hello: String
    viewer: Viewer
  }
  type Viewer {
    role: String
    subject: String
  }
  type Mutation {
    noop: Boolean
  }
`);

// Root resolvers. `viewer` echoes whether a bearer token came in; the stand-in
// does not verify tokens.
const rootValue = {
  hello: () => 'world',
  viewer: (_args, ctx) =>
    ctx.token ? { role: 'stand-in', subject: `token of ${ctx.token.length} chars` } : null,
  noop: () => true,
};

const graphqlHandler = createHandler({
  schema,
  rootValue,
  context: (req) => {
    const auth = req.headers['authorization'] || '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    return { token: m ? m[1] : null };
  },
});

const CONTENT_TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function serveFile(req, res, file) {
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return send(res, 404, 'not found\n');
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
    res.writeHead(200, {
      'content-type': type,
      'content-length': st.size,
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://stand-in');
  const p = url.pathname;
  if (process.env.OMS_DEV_LOG) {
    console.log(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
  }

  if (p === '/graphql') return graphqlHandler(req, res);

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  }
  if (p === '/graphiql' || p === '/graphiql/') {
    return serveFile(req, res, graphiqlHtml);
  }
  if (p.startsWith('/graphiql/assets/')) {
    let rel;
    try {
      rel = decodeURIComponent(p.slice('/graphiql/assets/'.length));
    } catch {
      return send(res, 400, 'bad path\n');
    }
    const file = path.resolve(nodeModules, rel);
    // no escaping the node_modules root
    if (!file.startsWith(nodeModules + path.sep)) return send(res, 404, 'not found\n');
    return serveFile(req, res, file);
  }
  if (p === '/') return send(res, 302, '', { location: '/graphiql' });
  return send(res, 404, 'not found\n');
});

const port = Number(process.argv[2] || process.env.PORT || 4010);
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`OMS stand-in server (NOT the real OMS) on http://127.0.0.1:${actual}`);
  console.log(`  GraphiQL: http://127.0.0.1:${actual}/graphiql`);
  console.log(`  GraphQL:  http://127.0.0.1:${actual}/graphql`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
