import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { generateClientTypes } from '../support/client-types.js';
import {
  adminFlow,
  analystFlow,
  createRecordingClient,
  gameServerFlow,
} from '../support/generated-client-flows.js';
import type { RecordedResponse } from '../support/generated-client-flows.js';
import { repoRoot } from '../support/run-cli.js';

// Issue 14, item 9: the contract is the behaviour. Types are generated from the document the
// server serves (openapi-typescript), the flows in test/support/generated-client-flows.ts use
// only the client made from them (openapi-fetch) and must type-check against them, and every
// response they get is validated against the document, strictly: a field the server sends but
// the document does not declare, or one it declares required but the server leaves out, fails.

type Document = {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { schemas: Record<string, unknown> };
};
type ResponseObject = { content?: Record<string, { schema: unknown }> };

const generatedFile = join(repoRoot, 'test/support/agate-api.generated.ts');
let api: ApiFixture;
let doc: Document;
let keys: Record<'game_server' | 'analyst' | 'admin', TestKey>;
let ajv: Ajv2020;

/** fetch for openapi-fetch, answered by the Fastify instance itself (no port). */
async function injectFetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  const reply = await api.app.inject({
    method: request.method as 'GET',
    url: `${url.pathname}${url.search}`,
    headers: Object.fromEntries(request.headers),
    ...(body === undefined ? {} : { payload: body }),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(reply.headers)) {
    if (value !== undefined) headers.set(name, String(value));
  }
  const empty = reply.statusCode === 204 || reply.rawPayload.length === 0;
  return new Response(empty ? null : reply.rawPayload, { status: reply.statusCode, headers });
}

/** RFC 3339 as the document means `date-time`: seconds, a zone, T and Z in either case. */
const dateTime =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

function strictAjv(document: Document): Ajv2020 {
  const validator = new Ajv2020({ strict: true, allErrors: true });
  validator.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  validator.addFormat('date-time', dateTime);
  const defs = JSON.parse(
    JSON.stringify(document.components.schemas).replaceAll(
      '"#/components/schemas/',
      '"agate#/$defs/',
    ),
  ) as Record<string, unknown>;
  validator.addSchema({ $id: 'agate', $defs: defs });
  return validator;
}

const compiled = new Map<string, ValidateFunction>();

/** What is wrong with a response by the document (an empty list when nothing), naming fields. */
function responseProblems(response: RecordedResponse): string[] {
  const where = `${response.method} ${response.path} ${response.status}`;
  const responses = doc.paths[response.path]?.[response.method.toLowerCase()]?.responses;
  if (responses === undefined) return [`${where}: the operation is not in the document`];
  const key = String(response.status);
  const declared = responses[key] ?? responses[`${key[0] ?? ''}XX`];
  if (declared === undefined) return [`${where}: the status is not documented`];
  const mediaType = response.contentType.split(';')[0] ?? '';
  const content = declared.content?.[mediaType];
  if (declared.content === undefined) {
    return response.body === undefined ? [] : [`${where}: a body where none is documented`];
  }
  if (content === undefined) return [`${where}: content type ${mediaType} is not documented`];
  const id = `${where} ${mediaType}`;
  let validate = compiled.get(id);
  if (validate === undefined) {
    const schema = JSON.parse(
      JSON.stringify(content.schema).replaceAll('"#/components/schemas/', '"agate#/$defs/'),
    ) as object;
    validate = ajv.compile(schema);
    compiled.set(id, validate);
  }
  if (validate(response.body)) return [];
  return (validate.errors ?? []).map((e) => {
    const field =
      'additionalProperty' in e.params
        ? ` "${String(e.params.additionalProperty)}"`
        : 'missingProperty' in e.params
          ? ` "${String(e.params.missingProperty)}"`
          : '';
    return `${where}: ${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${field}`;
  });
}

beforeAll(async () => {
  api = await createApiFixture();
  const tenantId = await api.newTenant('generated client');
  keys = {
    game_server: await api.newKey(tenantId, 'game_server'),
    analyst: await api.newKey(tenantId, 'analyst'),
    admin: await api.newKey(tenantId, 'admin'),
  };
  const reply = await api.call('GET', '/openapi.json');
  doc = reply.body as Document;
  ajv = strictAjv(doc);
});
afterAll(() => api.close());

describe('a client generated from /openapi.json', () => {
  it('is the checked-in one: regenerate it with vitest -u when the document changes', async () => {
    const fresh = await generateClientTypes(doc, generatedFile);
    await expect(fresh).toMatchFileSnapshot(generatedFile);
  });

  it('type-checks the game-server, analyst and admin flows against the freshly generated types', async () => {
    const dir = mkdtempSync(join(repoRoot, 'test/support/.generated-'));
    try {
      writeFileSync(
        join(dir, 'agate-api.generated.ts'),
        await generateClientTypes(doc, generatedFile),
      );
      copyFileSync(join(repoRoot, 'test/support/generated-client-flows.ts'), join(dir, 'flows.ts'));
      // The repository's own compiler options (strict, nodenext, noUncheckedIndexedAccess, ...).
      const config = ts.getParsedCommandLineOfConfigFile(
        join(repoRoot, 'tsconfig.json'),
        { noEmit: true },
        { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
      );
      const program = ts.createProgram([join(dir, 'flows.ts')], config?.options ?? {});
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gets only responses the document describes, strictly, in every flow', async () => {
    const log: RecordedResponse[] = [];
    const { sessionId } = await gameServerFlow(
      createRecordingClient(injectFetch, keys.game_server.key, log),
    );
    await analystFlow(createRecordingClient(injectFetch, keys.analyst.key, log), sessionId);
    await adminFlow(createRecordingClient(injectFetch, keys.admin.key, log));
    expect(log.map((r) => r.status)).toEqual(
      expect.arrayContaining([200, 201, 204, 403, 404, 409]),
    );
    expect(log.flatMap(responseProblems)).toEqual([]);
  });

  it('fails validation, naming the field, when a response lacks a required field or has an undeclared one', async () => {
    const log: RecordedResponse[] = [];
    const client = createRecordingClient(injectFetch, keys.game_server.key, log);
    const created = await client.POST('/v1/sessions', { body: { rules: 'tiny' } });
    await client.GET('/v1/sessions/{id}', { params: { path: { id: created.data?.id ?? '' } } });
    const session = log.at(-1);
    if (session === undefined) throw new Error('no response recorded');
    expect(responseProblems(session)).toEqual([]);
    const missing: Record<string, unknown> = { ...(session.body as object) };
    delete missing.seed;
    expect(responseProblems({ ...session, body: missing })).toEqual([
      'GET /v1/sessions/{id} 200: (body) must have required property \'seed\' "seed"',
    ]);
    // The per-session secret that seeds are derived from must never be in a response.
    const extra = { ...(session.body as object), secret: 'ab12' };
    expect(responseProblems({ ...session, body: extra })).toEqual([
      'GET /v1/sessions/{id} 200: (body) must NOT have additional properties "secret"',
    ]);
  });
});
