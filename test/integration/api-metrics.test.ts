import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { pino } from 'pino';
import { partitionStatus } from '../../partitions/index.js';
import { createServer } from '../../src/api/index.js';
import { createPool } from '../../src/db/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createApiFixture, inc } from '../support/api.js';
import type { ApiFixture, TestKey } from '../support/api.js';
import { tinyGames } from '../support/tiny-rules.js';

type Sample = { name: string; labels: Record<string, string>; value: number };
type Exposition = { types: Map<string, string>; samples: Sample[] };

/**
 * The Prometheus text format 0.0.4, strictly: a line that is not a comment or a sample fails.
 * Values are read as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case).
 */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[key!] = value!;
    }
    const raw = sample[3]!.toLowerCase();
    const value = /^[+-]?inf$/.test(raw) ? Number(raw.replace('inf', 'Infinity')) : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`not a sample value: ${line}`);
    samples.push({ name: sample[1]!, labels, value });
  }
  for (const { name } of samples) {
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(name) && !types.has(family)) throw new Error(`no # TYPE for ${name}`);
  }
  return { types, samples };
}

/** The one sample of `name` whose labels include `labels`; 0 when there is none. */
function valueOf(metrics: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = metrics.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

let api: ApiFixture;
let server: TestKey;
let analyst: TestKey;

beforeAll(async () => {
  api = await createApiFixture();
  const tenantId = await api.newTenant('metrics tenant');
  server = await api.newKey(tenantId, 'game_server');
  analyst = await api.newKey(tenantId, 'analyst');
});
afterAll(() => api.close());

function stallSample(metrics: Exposition, applicationName: string): Sample | undefined {
  return metrics.samples.find(
    (s) =>
      s.name === 'agate_feed_oldest_transaction_age_seconds' &&
      s.labels.application_name === applicationName,
  );
}

/** Scrapes until `done` holds, for up to 20 s. */
async function scrapeUntil(done: (metrics: Exposition) => boolean): Promise<Exposition> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { metrics } = await scrape();
    if (done(metrics)) return metrics;
    if (Date.now() > deadline) throw new Error('the metrics never showed what was awaited');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function scrape(): Promise<{ text: string; metrics: Exposition }> {
  const reply = await api.app.inject({ method: 'GET', url: '/metrics' });
  expect(reply.statusCode).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: reply.body, metrics: parseExposition(reply.body) };
}

describe('GET /metrics', () => {
  it('counts appends, conflicts, replays and requests exactly as they were done', async () => {
    const before = (await scrape()).metrics;
    const created = await api.call('POST', '/v1/sessions', { key: server.key, body: {} });
    const id = created.json.id as string;
    const batch = [inc(1, uuidv7()), inc(2, uuidv7())];
    const events = `/v1/sessions/${id}/events`;
    expect(
      (await api.call('POST', events, { key: server.key, body: { events: batch } })).status,
    ).toBe(201);
    expect(
      (await api.call('POST', events, { key: server.key, body: { events: batch } })).status,
    ).toBe(200);
    const stale = { expectedSequence: 0, events: [inc(3)] };
    expect((await api.call('POST', events, { key: server.key, body: stale })).status).toBe(409);
    const replay = await api.call('GET', `/v1/sessions/${id}/replay?from=genesis`, {
      key: analyst.key,
    });
    expect(replay.status).toBe(200);
    const state = await api.call('GET', `/v1/sessions/${id}/state`, { key: server.key });
    expect(state.status).toBe(200);

    const { text, metrics } = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(metrics, name, labels) - valueOf(before, name, labels);
    expect(metrics.types.get('agate_appends_total')).toBe('counter');
    expect(delta('agate_appends_total', { result: 'stored' })).toBe(1);
    expect(delta('agate_appends_total', { result: 'duplicate' })).toBe(1);
    expect(delta('agate_appends_total', { result: 'sequence_conflict' })).toBe(1);
    expect(delta('agate_events_appended_total')).toBe(2);
    expect(delta('agate_append_conflicts_total', { code: 'sequence_conflict' })).toBe(1);
    expect(delta('agate_append_conflicts_total', { code: 'event_id_conflict' })).toBe(0);
    expect(metrics.types.get('agate_append_duration_seconds')).toBe('histogram');
    expect(delta('agate_append_duration_seconds_count')).toBe(3);
    expect(delta('agate_append_duration_seconds_bucket', { le: '+Inf' })).toBe(3);
    expect(delta('agate_replay_duration_seconds_count', { from: 'genesis' })).toBe(1);
    expect(delta('agate_replay_duration_seconds_count', { from: 'snapshot' })).toBe(0);
    const requests = (method: string, route: string, status: string) =>
      delta('agate_http_requests_total', { method, route, status });
    expect(requests('POST', '/v1/sessions', '201')).toBe(1);
    expect(requests('POST', '/v1/sessions/:id/events', '201')).toBe(1);
    expect(requests('POST', '/v1/sessions/:id/events', '200')).toBe(1);
    expect(requests('POST', '/v1/sessions/:id/events', '409')).toBe(1);
    expect(requests('GET', '/v1/sessions/:id/replay', '200')).toBe(1);
    expect(requests('GET', '/v1/sessions/:id/state', '200')).toBe(1);
    // No Redis in this fixture: the state read is a miss, served by a replay.
    expect(delta('agate_cache_misses_total')).toBe(1);
    expect(delta('agate_cache_hits_total')).toBe(0);
    expect(valueOf(metrics, 'agate_cache_errors_total')).toBe(0);

    for (const secret of [id, server.key, server.id, analyst.key, analyst.id, server.tenantId]) {
      expect(text).not.toContain(secret);
    }
  });

  it('labels requests by route pattern, and every unknown path as one series', async () => {
    for (const path of ['/nope/1', '/nope/2', `/v1/${uuidv7()}`]) {
      expect((await api.call('GET', path, { key: server.key })).status).toBe(404);
    }
    const { text, metrics } = await scrape();
    expect(
      valueOf(metrics, 'agate_http_requests_total', { route: '(unmatched)', status: '404' }),
    ).toBe(3);
    expect(text).not.toContain('/nope/');
    const routes = new Set(
      metrics.samples
        .filter((s) => s.name === 'agate_http_requests_total')
        .map((s) => s.labels.route),
    );
    for (const route of routes) expect(route).toMatch(/^(\(unmatched\)|\/[\w/:.]*)$/);
  });

  it('reports the partitions ahead as agate partitions status does, and a sane snapshot lag', async () => {
    const created = await api.call('POST', '/v1/sessions', { key: server.key, body: {} });
    const id = created.json.id as string;
    const events = Array.from({ length: 7 }, (_, i) => inc(i + 1));
    await api.call('POST', `/v1/sessions/${id}/events`, { key: server.key, body: { events } });
    const { metrics } = await scrape();

    const status = await partitionStatus(api.db.url);
    const table = status.tables.find((t) => t.table === 'game.events');
    expect(table).toBeDefined();
    expect(valueOf(metrics, 'agate_partitions_ahead_months')).toBe(table!.monthsAhead);
    expect(table!.monthsAhead).toBeGreaterThan(0);

    const expected = await api.db.pool.query<{ lag: number }>(
      `SELECT max(s.last_sequence - coalesce(
                (SELECT max(sequence) FROM game.snapshots sn WHERE sn.session_id = s.id), 0))::float8 AS lag
         FROM game.sessions s`,
    );
    const lag = valueOf(metrics, 'agate_snapshot_lag_events');
    expect(lag).toBe(expected.rows[0]?.lag);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(metrics.types.get('agate_snapshot_lag_events')).toBe('gauge');
  });

  it('includes the Node process metrics, on a registry of its own per server', async () => {
    const { metrics } = await scrape();
    expect(metrics.types.has('process_cpu_user_seconds_total')).toBe(true);
    expect(metrics.types.has('nodejs_eventloop_lag_seconds')).toBe(true);
    const other = createServer({ agate: api.agate, logger: pino({ level: 'silent' }) });
    try {
      const reply = await other.inject({ method: 'GET', url: '/metrics' });
      expect(reply.statusCode).toBe(200);
      const fresh = parseExposition(reply.body);
      // Its own counters, at zero from the start (a series, not a missing one).
      const stored = fresh.samples.find(
        (s) => s.name === 'agate_appends_total' && s.labels.result === 'stored',
      );
      expect(stored?.value).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('still answers when the database cannot be read, with -1 for the database gauges', async () => {
    const pool = createPool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', max: 1 });
    const agate = createAgate({ pool, games: tinyGames });
    const app = createServer({ agate, logger: pino({ level: 'silent' }), rateLimit: null });
    try {
      const reply = await app.inject({ method: 'GET', url: '/metrics' });
      expect(reply.statusCode).toBe(200);
      const metrics = parseExposition(reply.body);
      expect(valueOf(metrics, 'agate_snapshot_lag_events')).toBe(-1);
      expect(valueOf(metrics, 'agate_partitions_ahead_months')).toBe(-1);
      expect(valueOf(metrics, 'agate_integrity_divergences')).toBe(-1);
      expect(valueOf(metrics, 'agate_nightly_last_success_timestamp_seconds')).toBe(-1);
      expect(valueOf(metrics, 'agate_verify_backlog_sessions')).toBe(-1);
      expect(valueOf(metrics, 'agate_feed_oldest_transaction_age_seconds')).toBe(-1);
      expect(valueOf(metrics, 'agate_feed_open_write_transactions')).toBe(-1);
      expect(metrics.types.get('agate_cache_hits_total')).toBe('counter');
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('names the open write transaction that holds the feed back, with a growing age, until it ends', async () => {
    const name = `agate-stall-${uuidv7().slice(-12)}`;
    const holder = new pg.Client({ connectionString: api.db.url, application_name: name });
    await holder.connect();
    try {
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
        .pid;
      await holder.query('BEGIN');
      await holder.query('SELECT pg_current_xact_id()');
      // Other databases of this cluster may hold an older transaction for a moment: wait until
      // theirs end and ours is the oldest.
      const first = await scrapeUntil((m) => stallSample(m, name) !== undefined);
      const sample = stallSample(first, name)!;
      expect(sample.labels).toMatchObject({
        kind: 'backend',
        pid: String(pid),
        state: 'idle in transaction',
        database: api.db.name,
        gid: '',
      });
      expect(sample.value).toBeGreaterThanOrEqual(0);
      expect(valueOf(first, 'agate_feed_open_write_transactions')).toBeGreaterThanOrEqual(1);
      const later = await scrapeUntil((m) => (stallSample(m, name)?.value ?? 0) > sample.value);
      expect(stallSample(later, name)!.labels.pid).toBe(String(pid));
      await holder.query('COMMIT');
      const after = (await scrape()).metrics;
      expect(stallSample(after, name)).toBeUndefined();
      const series = after.samples.filter(
        (s) => s.name === 'agate_feed_oldest_transaction_age_seconds',
      );
      expect(series.length).toBeLessThanOrEqual(1);
    } finally {
      await holder.end();
    }
  });

  it('is in the OpenAPI document as a public text/plain operation', async () => {
    const document = (await api.call('GET', '/openapi.json')).json as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown }>
      >;
    };
    const operation = document.paths['/metrics']?.get;
    expect(operation).toBeDefined();
    expect(JSON.stringify(operation?.responses['200'])).toContain('text/plain; version=0.0.4');
  });
});
