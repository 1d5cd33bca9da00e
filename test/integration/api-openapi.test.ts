import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, Reply, TestKey } from '../support/api.js';
import { repoRoot } from '../support/run-cli.js';

type Operation = {
  operationId: string;
  parameters: { name: string; in: string; required: boolean }[];
  responses: Record<string, unknown>;
  security: unknown[];
  'x-agate-roles': string[];
  requestBody?: { required: boolean };
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

let api: ApiFixture;
let doc: Document;
let tenantId: string;
const keys: Record<string, Pick<TestKey, 'key'>> = {};
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

/** Every operation in the document, with its path in Fastify's form. */
function operations(): { method: string; path: string; url: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      url: path.replace(/\{(\w+)\}/g, ':$1'),
      op,
    })),
  );
}

function operationOf(method: string, path: string): Operation {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (op === undefined) throw new Error(`${method} ${path} is not in the document`);
  return op;
}

/** Checks a reply against the document's schema for its status (or 4XX/5XX), by $ref into it. */
function expectDocumented(method: string, path: string, reply: Reply): void {
  const op = operationOf(method, path);
  const status = String(reply.status);
  const key = status in op.responses ? status : `${status[0] ?? ''}XX`;
  expect(op.responses, `${method} ${path} documents ${status}`).toHaveProperty(key);
  const pointer = ['paths', path, method.toLowerCase(), 'responses', key]
    .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('/');
  const response = (op.responses[key] ?? {}) as { content?: Record<string, unknown> };
  const [contentType] = Object.keys(response.content ?? {});
  if (contentType === undefined) {
    expect(reply.raw.body).toBe('');
    return;
  }
  expect(reply.raw.headers['content-type']).toContain(contentType.split(';')[0]);
  const validate = ajv.getSchema(
    `agate#/${pointer}/content/${contentType.replaceAll('/', '~1')}/schema`,
  );
  if (validate === undefined) throw new Error(`no schema at ${pointer}`);
  const valid = validate(reply.body);
  expect(validate.errors ?? [], `${method} ${path} ${status}`).toEqual([]);
  expect(valid).toBe(true);
}

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('documented');
  for (const role of ['game_server', 'analyst', 'admin'] as const) {
    keys[role] = await api.newKey(tenantId, role);
  }
  keys.operator = await api.newOperatorKey();
  const reply = await api.call('GET', '/openapi.json');
  expect(reply.status).toBe(200);
  doc = reply.body as Document;
  ajv.addSchema(doc, 'agate');
});
afterAll(() => api.close());

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents every route the server answers, and the server answers every documented one', async () => {
    const documented = operations();
    expect(documented.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'DELETE /v1/api-keys/{id}',
        'GET /healthz',
        'GET /openapi.json',
        'GET /readyz',
        'GET /v1/feed',
        'GET /v1/leaderboard',
        'GET /v1/sessions/{id}',
        'GET /v1/sessions/{id}/events',
        'GET /v1/sessions/{id}/replay',
        'GET /v1/sessions/{id}/snapshots',
        'GET /v1/sessions/{id}/state',
        'POST /v1/api-keys',
        'POST /v1/sessions',
        'POST /v1/sessions/{id}/end',
        'POST /v1/sessions/{id}/events',
        'POST /v1/tenants',
      ]),
    );
    for (const { method, url, op } of documented) {
      expect(api.app.hasRoute({ method: method, url }), `${method} ${url}`).toBe(true);
      const concrete = url.replace(':id', uuidv7());
      const anonymous = await api.call(method, concrete);
      if (op.security.length === 0) {
        expect(anonymous.status, `${method} ${url} is public`).toBeLessThan(400);
        continue;
      }
      // Every protected operation refuses a request without a key, and each role not listed.
      expect(anonymous.status, `${method} ${url} without a key`).toBe(401);
      expectDocumented(method, pathOf(url), anonymous);
      for (const [role, key] of Object.entries(keys)) {
        const reply = await api.call(method, concrete, { key: key.key });
        if (op['x-agate-roles'].includes(role)) {
          expect([401, 403], `${method} ${url} as ${role}`).not.toContain(reply.status);
        } else expect(reply.status, `${method} ${url} as ${role}`).toBe(403);
        expectDocumented(method, pathOf(url), reply);
      }
    }
  });

  it('is the only way routes are registered: no Fastify route call outside defineRoute', () => {
    const dir = join(repoRoot, 'src/api');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    const offenders = files.filter(
      (f) =>
        f !== 'define-route.ts' &&
        /\bapp\.(get|post|put|patch|delete|route)\(/.test(readFileSync(join(dir, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('describes what the game-server, analyst and admin flows actually receive', async () => {
    const gs = keys.game_server?.key;
    const analyst = keys.analyst?.key;
    const admin = keys.admin?.key;
    const check = async (
      method: 'GET' | 'POST' | 'DELETE',
      path: string,
      url: string,
      body?: unknown,
      key?: string,
    ): Promise<Reply> => {
      const reply = await api.call(method, url, { key, body });
      expectDocumented(method, path, reply);
      return reply;
    };
    await check('GET', '/healthz', '/healthz');
    await check('GET', '/readyz', '/readyz');
    const created = await check('POST', '/v1/sessions', '/v1/sessions', { seed: 'doc' }, gs);
    expect(created.status).toBe(201);
    const id = String(created.json.id);
    const events = Array.from({ length: 60 }, (_, i) => inc(i + 1));
    const appended = await check(
      'POST',
      '/v1/sessions/{id}/events',
      `/v1/sessions/${id}/events`,
      { events },
      gs,
    );
    expect(appended.status).toBe(201);
    const retried = await check(
      'POST',
      '/v1/sessions/{id}/events',
      `/v1/sessions/${id}/events`,
      {
        events: (appended.json.events as { eventId: string }[]).map((e, i) => ({
          ...events[i],
          eventId: e.eventId,
        })),
      },
      gs,
    );
    expect(retried.status).toBe(200);
    const conflict = await check(
      'POST',
      '/v1/sessions/{id}/events',
      `/v1/sessions/${id}/events`,
      { expectedSequence: 1, events: [inc(1)] },
      gs,
    );
    expect(conflict.status).toBe(409);
    await check('GET', '/v1/sessions/{id}', `/v1/sessions/${id}`, undefined, gs);
    await check(
      'GET',
      '/v1/sessions/{id}/events',
      `/v1/sessions/${id}/events?limit=10`,
      undefined,
      gs,
    );
    await check('GET', '/v1/sessions/{id}/state', `/v1/sessions/${id}/state`, undefined, gs);
    // The snapshot at 50 is written by agate's own consumers, beside the requests.
    await api.agate.idle();
    const snapshots = await check(
      'GET',
      '/v1/sessions/{id}/snapshots',
      `/v1/sessions/${id}/snapshots`,
      undefined,
      analyst,
    );
    expect(snapshots.json.snapshots).toHaveLength(1);
    const ended = await check(
      'POST',
      '/v1/sessions/{id}/end',
      `/v1/sessions/${id}/end`,
      undefined,
      gs,
    );
    expect(ended.status).toBe(201);
    const replay = await check(
      'GET',
      '/v1/sessions/{id}/replay',
      `/v1/sessions/${id}/replay?verify=true&trace=true&to=20`,
      undefined,
      analyst,
    );
    expect(replay.json).toMatchObject({ verified: true, sequence: 20 });
    const board = await check(
      'GET',
      '/v1/leaderboard',
      '/v1/leaderboard?limit=5',
      undefined,
      analyst,
    );
    expect(board.json.entries).toHaveLength(1);
    const key = await check('POST', '/v1/api-keys', '/v1/api-keys', { role: 'analyst' }, admin);
    await check(
      'DELETE',
      '/v1/api-keys/{id}',
      `/v1/api-keys/${String(key.json.id)}`,
      undefined,
      admin,
    );
    const operator = keys.operator?.key;
    const tenant = await check('POST', '/v1/tenants', '/v1/tenants', { name: 'second' }, operator);
    expect(tenant.status).toBe(201);
    const second = (tenant.json.adminKey as { key: string }).key;
    const own = await check(
      'POST',
      '/v1/api-keys',
      '/v1/api-keys',
      { role: 'game_server' },
      second,
    );
    expect(own.status).toBe(201);
    await check('GET', '/v1/sessions/{id}', `/v1/sessions/${id}`, undefined, second);
  });

  it('states the batch size, the event envelope, the seed limit, UUID ids, query integers and the license as the server applies them', async () => {
    const raw = doc as unknown as {
      info: { license?: { name: string } };
      components: {
        schemas: Record<string, { properties: Record<string, Record<string, unknown>> }>;
      };
    };
    expect(raw.info.license).toEqual({ name: 'MIT', identifier: 'MIT' });
    const { events } = raw.components.schemas.AppendEvents?.properties ?? {};
    expect(events).toMatchObject({
      minItems: 1,
      maxItems: 500,
      // Typed by the game the server runs (the envelope of each member is NewEvent's).
      items: { $ref: '#/components/schemas/TinyV1Event' },
    });
    expect(events?.description).toContain('at most 65536 bytes as JSON');
    expect(events?.description).toContain('nested at most 32 levels');
    const newEvent = raw.components.schemas.NewEvent?.properties ?? {};
    expect(newEvent.type).toMatchObject({ minLength: 1, maxLength: 100 });
    expect(newEvent.version).toMatchObject({ type: 'integer', minimum: 1 });
    expect(newEvent.clientTime).toMatchObject({
      anyOf: [{ format: 'date-time' }, { type: 'null' }],
    });
    const create = raw.components.schemas.CreateSession?.properties ?? {};
    expect(create.seed).toMatchObject({ minLength: 1, maxLength: 256 });
    expect(create.playerId).toMatchObject({ format: 'uuid' });
    for (const { path, method, op } of operations()) {
      for (const p of op.parameters as unknown as {
        name: string;
        schema: Record<string, unknown>;
      }[]) {
        if (p.name === 'id')
          expect(p.schema, `${method} ${path} id`).toMatchObject({ format: 'uuid' });
        // The feed's `after` is a position (transaction:session:sequence), not a sequence;
        // analytics.events pages by an opaque cursor and filters by server time.
        const integers =
          path === '/v1/analytics/events' || path === '/v1/feed'
            ? ['limit']
            : ['after', 'limit', 'to'];
        if (path === '/v1/feed' && p.name === 'after') {
          expect(p.schema.type, `${method} ${path} after`).toBe('string');
        }
        if (integers.includes(p.name)) {
          expect(p.schema.type, `${method} ${path} ${p.name}`).toBe('integer');
        }
      }
    }
    const analytics = operations().find((o) => o.path === '/v1/analytics/events');
    const analyticsParameters = Object.fromEntries(
      (analytics?.op.parameters as unknown as { name: string; schema: unknown }[]).map((p) => [
        p.name,
        p.schema,
      ]),
    );
    expect(analyticsParameters).toMatchObject({
      after: { type: 'string', maxLength: 200 },
      to: { type: 'string' },
      from: { type: 'string' },
      limit: { type: 'integer', minimum: 1, maximum: 1000 },
      session: { format: 'uuid' },
      player: { format: 'uuid' },
    });
    const key = keys.game_server?.key ?? '';
    const created = await api.call('POST', '/v1/sessions', { key, body: { rules: 'tiny' } });
    const id = String(created.json.id);
    const batch = (n: number) => ({ events: Array.from({ length: n }, () => inc(1)) });
    const sizes = [];
    for (const n of [0, 501, 500]) {
      sizes.push(
        (await api.call('POST', `/v1/sessions/${id}/events`, { key, body: batch(n) })).status,
      );
    }
    expect(sizes).toEqual([400, 413, 201]);
    const seeds = [];
    for (const seed of ['', 'x'.repeat(257), 'x'.repeat(256)]) {
      seeds.push(
        (await api.call('POST', '/v1/sessions', { key, body: { rules: 'tiny', seed } })).status,
      );
    }
    expect(seeds).toEqual([400, 400, 201]);
    const pages = [];
    for (const q of ['limit=0', 'limit=1', 'limit=abc']) {
      pages.push((await api.call('GET', `/v1/sessions/${id}/events?${q}`, { key })).status);
    }
    expect(pages).toEqual([400, 200, 400]);
    const board = doc.paths['/v1/leaderboard']?.get?.parameters.find((p) => p.name === 'limit') as
      { schema: { minimum: number; maximum: number } } | undefined;
    const { minimum = 0, maximum = 0 } = board?.schema ?? {};
    const boards = [];
    for (const n of [minimum - 1, minimum, maximum, maximum + 1]) {
      boards.push((await api.call('GET', `/v1/leaderboard?rules=tiny&limit=${n}`, { key })).status);
    }
    expect(boards).toEqual([400, 200, 200, 400]);
  });
});

function pathOf(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}
