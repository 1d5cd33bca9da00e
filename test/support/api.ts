import { spawn } from 'node:child_process';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { createServer } from '../../src/api/index.js';
import { createKey, createOperatorKey } from '../../src/keys/index.js';
import type { ApiKeyRole } from '../../src/keys/index.js';
import type { NewEvent } from '../../src/events/index.js';
import type { GameCatalog } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { repoRoot } from './run-cli.js';
import { createTestDatabase } from './test-database.js';
import type { TestDatabase } from './test-database.js';
import { tinyGames } from './tiny-rules.js';

export type TestKey = { id: string; key: string; tenantId: string; role: ApiKeyRole };

export type CallOptions = {
  key?: string;
  body?: unknown;
  payload?: string | Buffer;
  headers?: Record<string, string>;
};

export type ApiFixture = {
  db: TestDatabase;
  agate: Agate;
  app: FastifyInstance;
  newTenant(name?: string): Promise<string>;
  newKey(tenantId: string, role: ApiKeyRole): Promise<TestKey>;
  /** An operator key (ADR 0014), created as the test login (a superuser). */
  newOperatorKey(): Promise<{ id: string; key: string }>;
  call(method: InjectOptions['method'], url: string, options?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
};

export type Reply = {
  status: number;
  body: unknown;
  json: Record<string, unknown>;
  raw: LightMyRequestResponse;
};

/**
 * A fresh database, agate on the tiny game or on `games` (its own consumers in process unless
 * told not to), and the HTTP API on it (silent logs), for `inject`.
 */
export async function createApiFixture(
  options: { consumers?: boolean; games?: GameCatalog } = {},
): Promise<ApiFixture> {
  const db = await createTestDatabase();
  const agate = createAgate({
    pool: db.pool,
    games: options.games ?? tinyGames,
    consumers: options.consumers,
  });
  // Unlimited: the fuzzers send thousands of requests with one key (api-rate-limit tests the limit).
  const app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
  await app.ready();
  return {
    db,
    agate,
    app,
    newTenant: async (name = 'api tenant') =>
      (await createTenant(db.pool, { name, actor: 'test' })).id,
    newKey: async (tenantId, role) => {
      const created = await createKey(db.pool, { tenantId, role, actor: 'test' });
      return { id: created.id, key: created.key, tenantId, role };
    },
    newOperatorKey: async () => {
      const created = await createOperatorKey(db.pool, { actor: 'test' });
      return { id: created.id, key: created.key };
    },
    call: async (method, url, options = {}) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
      const raw = await app.inject({
        method,
        url,
        headers,
        ...(options.payload !== undefined
          ? { payload: options.payload }
          : options.body !== undefined
            ? { payload: options.body as Record<string, unknown> }
            : {}),
      });
      const isJson = /json/.test(String(raw.headers['content-type'] ?? ''));
      const body: unknown =
        raw.body === '' ? undefined : isJson ? (JSON.parse(raw.body) as unknown) : raw.body;
      const json = (typeof body === 'object' && body !== null ? body : {}) as Record<
        string,
        unknown
      >;
      return { status: raw.statusCode, body, json, raw };
    },
    close: async () => {
      await app.close();
      await agate.close();
      await db.drop();
    },
  };
}

/** What a request could have changed, as counts over every tenant (read as the superuser). */
export async function databaseFingerprint(db: TestDatabase): Promise<Record<string, unknown>> {
  const result = await db.pool.query<Record<string, unknown>>(`
    SELECT (SELECT count(*) FROM game.sessions) AS sessions,
           (SELECT count(*) FROM game.sessions WHERE status = 'ended') AS ended,
           (SELECT coalesce(sum(last_sequence), 0) FROM game.sessions) AS sequences,
           (SELECT count(*) FROM game.events) AS events,
           (SELECT count(*) FROM public.api_keys) AS keys,
           (SELECT count(*) FROM public.api_keys WHERE revoked_at IS NOT NULL) AS revoked,
           (SELECT count(*) FROM public.tenants) AS tenants,
           (SELECT count(*) FROM public.operator_keys) AS operator_keys,
           (SELECT count(*) FROM admin.audit_log) AS audit`);
  return result.rows[0] ?? {};
}

export const inc = (by: number, eventId?: string): NewEvent => ({
  type: 'counter.incremented',
  version: 1,
  data: { by },
  ...(eventId === undefined ? {} : { eventId }),
});

export type ServeProcess = { url: string; output(): string; stop(): Promise<number | null> };

/** Runs the built `agate serve` (with `args`) on a free port and waits until it listens. */
export async function spawnServe(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [`${repoRoot}/bin/agate.js`, 'serve', ...args], {
    env: { PATH: process.env.PATH, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`agate serve did not listen: ${output}`)),
      20_000,
    );
    child.stdout.on('data', () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agate serve exited ${code}: ${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
