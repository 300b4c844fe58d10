// graphql-codegen configuration: TypeScript types for the schema of a running OMS server
// and for the operations of GraphiQL's default tabs. `node web/introspect.mjs` runs it with
// the variables below set (it writes the tabs' documents to a temporary directory first).
//
//   OMS_GRAPHQL_URL        the endpoint to introspect (default http://127.0.0.1:8080/graphql)
//   OMS_TOKEN              bearer token sent with the introspection (optional)
//   OMS_CODEGEN_DOCUMENTS  glob of the .graphql documents (required)
//   OMS_CODEGEN_OUT        directory for oms-operations.ts (default <tmpdir>/oms-codegen)
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CodegenConfig } from '@graphql-codegen/cli';

const url = process.env.OMS_GRAPHQL_URL || 'http://127.0.0.1:8080/graphql';
const token = (process.env.OMS_TOKEN || '').trim();
const documents = process.env.OMS_CODEGEN_DOCUMENTS;
if (!documents) {
  throw new Error('set OMS_CODEGEN_DOCUMENTS to a glob of .graphql files (node web/introspect.mjs does)');
}
// Outside the repository: the generated file is a check's output, never committed.
const out = process.env.OMS_CODEGEN_OUT || join(tmpdir(), 'oms-codegen');

const config: CodegenConfig = {
  overwrite: true,
  schema: [{ [url]: { headers: token ? { Authorization: `Bearer ${token}` } : {} } }],
  documents,
  generates: {
    [`${out}/oms-operations.ts`]: {
      plugins: ['typescript', 'typescript-operations'],
      config: {
        // Every custom scalar of the schema, as its JSON value: a new scalar fails the
        // run until it is described here.
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          Won: 'number',
          JSON: 'unknown',
        },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
