// The OpenAPI document Parley serves (src/api/openapi/openapi.json, embedded at build time) is a
// valid OpenAPI 3.0 document: checked with swagger-parser, which validates it against the
// official OpenAPI 3.0 JSON schema and resolves every $ref.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';

const documentPath = new URL('../../src/api/openapi/openapi.json', import.meta.url);

test('the OpenAPI document validates', async () => {
  const document = JSON.parse(await readFile(documentPath, 'utf8'));
  const api = await SwaggerParser.validate(document);
  assert.match(api.openapi, /^3\.0\./);
  assert.ok(Object.keys(api.paths).length > 10);
});

test('every operation documents its error responses with the error shape', async () => {
  const document = JSON.parse(await readFile(documentPath, 'utf8'));
  const api = await SwaggerParser.dereference(document);
  for (const [path, item] of Object.entries(api.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      assert.ok(operation.operationId, `${method} ${path} has an operationId`);
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status)) continue;
        // Readiness answers 503 with its own report (which check failed), by design.
        if (operation.operationId === 'readyz') continue;
        const schema = response.content?.['application/json']?.schema;
        assert.ok(schema?.properties?.error, `${method} ${path} ${status} uses the error shape`);
      }
    }
  }
});
