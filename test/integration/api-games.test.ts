import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveGateV1, createGameCatalog } from '../../src/game/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { generateClientTypes } from '../support/client-types.js';
import { repoRoot } from '../support/run-cli.js';
import { tinyRules } from '../support/tiny-rules.js';

// Issue 17, item 5: the event-type catalog (GET /v1/games) and the typed payloads of the OpenAPI
// document, on a server that runs two games (archive-gate and the tests' tiny game, which share
// session.ended). The published schemas are checked against what the server accepts, and a
// client generated from the document must refuse to compile a wrong archive-gate payload.

type EventTypeJson = {
  type: string;
  version: number;
  latest: boolean;
  consumesRandomness: boolean;
  clientMaySupplySeed: boolean;
  schema: Record<string, unknown>;
};
type GameJson = {
  rules: string;
  version: number;
  latest: boolean;
  dayBoundaryTypes: string[];
  rejectReasons: string[];
  configSchema: Record<string, unknown>;
  eventTypes: EventTypeJson[];
};

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;
let games: GameJson[];
const ajv = new Ajv2020({ strict: true, allErrors: true });

beforeAll(async () => {
  api = await createApiFixture({
    games: createGameCatalog([tinyRules, archiveGateV1]),
    consumers: false,
  });
  const tenantId = await api.newTenant('games');
  server = await api.newKey(tenantId, 'game_server');
  analyst = await api.newKey(tenantId, 'analyst');
  games = (await api.call('GET', '/v1/games', { key: analyst.key })).json.games as GameJson[];
});
afterAll(() => api.close());

function eventType(rules: string, type: string, version: number): EventTypeJson {
  const found = games
    .find((g) => g.rules === rules)
    ?.eventTypes.find((t) => t.type === type && t.version === version);
  if (found === undefined) throw new Error(`${rules} lists no ${type} v${version}`);
  return found;
}

/** Whether the server stores `data` as one event of `type` (in a fresh session of `rules`). */
async function serverAccepts(rules: string, type: string, version: number, data: unknown) {
  const session = await api.call('POST', '/v1/sessions', { key: server.key, body: { rules } });
  const reply = await api.call('POST', `/v1/sessions/${String(session.json.id)}/events`, {
    key: server.key,
    body: { events: [{ type, version, data }] },
  });
  if (reply.status !== 201 && reply.status !== 422) {
    throw new Error(`append answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  return reply.status === 201;
}

describe('GET /v1/games', () => {
  it('lists every game the server runs, by name then version, for any key of the tenant', async () => {
    expect(games.map((g) => `${g.rules}@${g.version}`)).toEqual(['archive-gate@1', 'tiny@1']);
    const gate = games[0];
    expect(gate).toMatchObject({
      latest: true,
      dayBoundaryTypes: ['day.ended'],
      rejectReasons: [...archiveGateV1.rejectReasons],
    });
    expect(gate?.eventTypes.map((t) => `${t.type}@${t.version}:${String(t.latest)}`)).toEqual([
      'day.started@1:true',
      'request.decided@1:false',
      'request.decided@2:true',
      'request.investigated@1:true',
      'defense.purchased@1:true',
      'day.ended@1:true',
      'session.ended@1:true',
    ]);
    expect(eventType('archive-gate', 'day.ended', 1)).toMatchObject({
      consumesRandomness: true,
      clientMaySupplySeed: false,
    });
    expect(eventType('tiny', 'dice.rolled', 1)).toMatchObject({
      consumesRandomness: true,
      clientMaySupplySeed: true,
    });
    const bySever = await api.call('GET', '/v1/games', { key: server.key });
    expect(bySever.status).toBe(200);
    expect(bySever.json.games).toEqual(games);
  });

  it('gives one game by name and version, and not_found (404) naming what it runs otherwise', async () => {
    const one = await api.call('GET', '/v1/games/archive-gate/1', { key: analyst.key });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(games[0]);
    const missing = await api.call('GET', '/v1/games/archive-gate/2', { key: analyst.key });
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('not_found');
    expect(missing.json.detail).toMatch(/archive-gate v2.*archive-gate v1, tiny v1/);
    const bad = await api.call('GET', '/v1/games/archive-gate/one', { key: analyst.key });
    expect(bad.status).toBe(400);
    expect((await api.call('GET', '/v1/games')).status).toBe(401);
  });

  it('publishes data schemas that accept what the server accepts and refuse what it refuses', async () => {
    const cases: [string, string, number, unknown][] = [
      ['archive-gate', 'request.decided', 2, { requestId: 'r1', decision: 'flag' }],
      ['archive-gate', 'request.decided', 2, { requestId: '', decision: 'flag' }],
      ['archive-gate', 'request.decided', 2, { requestId: 'x'.repeat(101), decision: 'deny' }],
      ['archive-gate', 'request.decided', 2, { requestId: 'r1', decision: 'maybe' }],
      ['archive-gate', 'request.decided', 2, { requestId: 'r1', decision: 'deny', note: 1 }],
      ['archive-gate', 'request.decided', 1, { requestId: 'r1', approved: true }],
      ['archive-gate', 'request.decided', 1, { requestId: 'r1', decision: 'deny' }],
      ['archive-gate', 'request.investigated', 1, { requestId: 'r1' }],
      ['archive-gate', 'request.investigated', 1, { requestId: 7 }],
      ['archive-gate', 'defense.purchased', 1, { defense: 'mfa' }],
      ['archive-gate', 'defense.purchased', 1, { defense: 'moat' }],
      ['archive-gate', 'day.started', 1, {}],
      ['archive-gate', 'day.started', 1, { day: 1 }],
      // The server draws day.ended's seed: without one it is stored, with one it is refused.
      ['archive-gate', 'day.ended', 1, {}],
      ['archive-gate', 'day.ended', 1, { seed: 'mine' }],
      ['archive-gate', 'session.ended', 1, { reason: 'done' }],
      ['archive-gate', 'session.ended', 1, { reason: 5 }],
      // The tiny game lets a client choose the dice's seed, or leave it to the server.
      ['tiny', 'dice.rolled', 1, { sides: 6 }],
      ['tiny', 'dice.rolled', 1, { sides: 6, seed: 'mine' }],
      ['tiny', 'dice.rolled', 1, { sides: 1 }],
      ['tiny', 'counter.incremented', 2, { by: 1, note: 'n' }],
      ['tiny', 'counter.incremented', 2, { by: 1.5, note: 'n' }],
    ];
    const disagreements: string[] = [];
    for (const [rules, type, version, data] of cases) {
      const published = ajv.validate(eventType(rules, type, version).schema, data);
      const stored = await serverAccepts(rules, type, version, data);
      if (published !== stored) {
        disagreements.push(
          `${rules} ${type} v${version} ${JSON.stringify(data)}: schema ${String(published)}, server ${String(stored)}`,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('publishes the config schema, whose refinements only the server checks', async () => {
    const config = games[0]?.configSchema ?? {};
    const cases: [unknown, boolean][] = [
      [{}, true],
      [{ startingCredits: 500, requestsPerDay: { min: 2, max: 4 } }, true],
      [{ startingCredits: -1 }, false],
      [{ startingCredit: 500 }, false],
      [{ requestsPerDay: { min: 1 } }, false],
    ];
    for (const [body, accepted] of cases) {
      const created = await api.call('POST', '/v1/sessions', {
        key: server.key,
        body: { rules: 'archive-gate', config: body },
      });
      expect([ajv.validate(config, body), created.status === 201], JSON.stringify(body)).toEqual([
        accepted,
        accepted,
      ]);
    }
    // min <= max is a zod refinement: JSON Schema cannot state it (ADR 0029), the server refuses.
    const crossed = { requestsPerDay: { min: 8, max: 3 } };
    expect(ajv.validate(config, crossed)).toBe(true);
    const refused = await api.call('POST', '/v1/sessions', {
      key: server.key,
      body: { rules: 'archive-gate', config: crossed },
    });
    expect(refused.status).toBe(400);
  });
});

describe('the OpenAPI document of a server with two games', () => {
  let doc: { components: { schemas: Record<string, Record<string, unknown>> } };
  beforeAll(async () => {
    doc = (await api.call('GET', '/openapi.json')).body as typeof doc;
  });

  it('is valid and has one event union per game, referenced by the append body', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const gate = doc.components.schemas.ArchiveGateV1Event;
    const members = (gate?.oneOf ?? []) as { title: string; required: string[] }[];
    expect(members.map((m) => `${m.title} ${m.required.join(',')}`)).toEqual([
      'day.started v1 type,data',
      'request.decided v1 type,version,data',
      'request.decided v2 type,data',
      'request.investigated v1 type,data',
      'defense.purchased v1 type,data',
      'day.ended v1 type,data',
      'session.ended v1 type,data',
    ]);
    expect(doc.components.schemas.TinyV1Event?.oneOf).toHaveLength(5);
    const append = doc.components.schemas.AppendEvents as {
      properties: { events: { items: unknown } };
    };
    expect(append.properties.events.items).toEqual({
      anyOf: [
        { $ref: '#/components/schemas/ArchiveGateV1Event' },
        { $ref: '#/components/schemas/TinyV1Event' },
      ],
    });
  });

  it('gives a generated client typed payloads: a wrong archive-gate event does not compile, a right one does', async () => {
    const dir = mkdtempSync(join(repoRoot, 'test/support/.typed-payloads-'));
    const header = [
      "import createClient from 'openapi-fetch';",
      "import type { components, paths } from './agate-api.generated.js';",
      "const api = createClient<paths>({ baseUrl: 'http://agate.test' });",
      "type GateEvent = components['schemas']['ArchiveGateV1Event'];",
      "const path = { path: { id: '01938a6e-0000-7000-8000-000000000001' } };",
    ].join('\n');
    const append = (events: string) =>
      `${header}\nvoid api.POST('/v1/sessions/{id}/events', { params: path, body: { events: ${events} } });\n`;
    const files: Record<string, string> = {
      right: append(
        "[{ type: 'request.decided', version: 1, data: { requestId: 'r1', approved: true } }, { type: 'request.decided', data: { requestId: 'r2', decision: 'flag' } }, { type: 'day.ended', data: {} }]",
      ),
      rightNarrowed: `${header}\nexport const events: GateEvent[] = [{ type: 'defense.purchased', data: { defense: 'mfa' } }];\n`,
      unknownType: append("[{ type: 'request.approved', data: { requestId: 'r1' } }]"),
      wrongFieldType: append("[{ type: 'request.investigated', data: { requestId: 7 } }]"),
      wrongEnum: append("[{ type: 'defense.purchased', data: { defense: 'moat' } }]"),
      otherGameNarrowed: `${header}\nexport const events: GateEvent[] = [{ type: 'dice.rolled', data: { sides: 6 } }];\n`,
    };
    try {
      writeFileSync(
        join(dir, 'agate-api.generated.ts'),
        await generateClientTypes(doc, join(repoRoot, 'test/support/agate-api.generated.ts')),
      );
      const paths: Record<string, string> = {};
      for (const [name, text] of Object.entries(files)) {
        paths[name] = join(dir, `${name}.ts`);
        writeFileSync(paths[name], text);
      }
      const config = ts.getParsedCommandLineOfConfigFile(
        join(repoRoot, 'tsconfig.json'),
        { noEmit: true },
        { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
      );
      const program = ts.createProgram(Object.values(paths), config?.options ?? {});
      const problems = Object.fromEntries(
        Object.entries(paths).map(([name, path]) => [
          name,
          ts
            .getPreEmitDiagnostics(program, program.getSourceFile(path))
            .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '))
            .join('\n'),
        ]),
      );
      expect(problems.right).toBe('');
      expect(problems.rightNarrowed).toBe('');
      expect(problems.unknownType).toMatch(/"request\.approved"/);
      expect(problems.wrongFieldType).toMatch(/'number' is not assignable to type 'string'/);
      expect(problems.wrongEnum).toMatch(/"moat"/);
      expect(problems.otherGameNarrowed).toMatch(/"dice\.rolled"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
