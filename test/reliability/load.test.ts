// Load through the HTTP API (issue 9, item 2): the typed client on a real socket, for a fixed time.
// CI holds each load a few seconds; `npm run test:soak` a minute, and replay-verifies every session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgateClient } from '../../src/client/index.js';
import type { NewEvent } from '../../src/client/index.js';
import { createApiFixture } from '../support/api.js';
import type { ApiFixture } from '../support/api.js';
import { brokenChains, checkStored, unverified } from './support/load-checks.js';
import type { StoredCheck } from './support/load-checks.js';
import {
  batchOf,
  lcg,
  mapLimit,
  newLoadRun,
  percentile,
  runFor,
  timedAppend,
} from './support/load-writers.js';
import type { LoadRun } from './support/load-writers.js';
import { scaled, soak } from './support/soak.js';
import { tally } from './support/tally.js';

const loadMs = scaled(5_000, 60_000);

let api: ApiFixture;
let tenantId: string;
let client: AgateClient;

beforeAll(async () => {
  api = await createApiFixture();
  tenantId = await api.newTenant('load');
  const key = await api.newKey(tenantId, 'game_server');
  const baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
  client = new AgateClient({ baseUrl, apiKey: key.key, backoffMs: 20 });
});
afterAll(() => api.close());

/** Tallies the run's throughput, latency and errors; returns the errors that are not acceptable. */
function report(run: LoadRun, acceptable: readonly string[]): string[] {
  const label = run.label;
  const seconds = run.durationMs / 1000;
  const errors = [...run.errors];
  const unacceptable = errors.filter(([code]) => !acceptable.includes(code));
  tally(
    { section: 'load', what: `events/s, ${label}`, value: Math.round(run.acked.size / seconds) },
    { section: 'load', what: `appends, ${label}`, value: run.latencies.length },
    { section: 'load', what: `append p50 ms, ${label}`, value: percentile(run.latencies, 50) },
    { section: 'load', what: `append p99 ms, ${label}`, value: percentile(run.latencies, 99) },
    ...errors.map(([code, n]) => ({
      section: 'load' as const,
      what: `errors ${code}, ${label}`,
      value: n,
      mustBeZero: !acceptable.includes(code),
    })),
    {
      section: 'load',
      what: `unacceptable errors, ${label}`,
      value: unacceptable.reduce((n, [, count]) => n + count, 0),
      mustBeZero: true,
    },
  );
  console.log(
    `${label}: ${run.acked.size} events in ${seconds.toFixed(1)} s (${Math.round(run.acked.size / seconds)}/s), ${run.latencies.length} appends, p50 ${percentile(run.latencies, 50)} ms, p99 ${percentile(run.latencies, 99)} ms, errors ${JSON.stringify(Object.fromEntries(run.errors))}`,
  );
  return unacceptable.map(([code, n]) => `${code} x${n}`);
}

function reportStored(label: string, check: StoredCheck, broken: number, failed: number): void {
  tally(
    {
      section: 'load',
      what: `acknowledged events lost, ${label}`,
      value: check.lost,
      mustBeZero: true,
    },
    {
      section: 'load',
      what: `events stored twice, ${label}`,
      value: check.duplicated,
      mustBeZero: true,
    },
    {
      section: 'load',
      what: `sessions with a gap or a broken chain, ${label}`,
      value: check.gapped + broken,
      mustBeZero: true,
    },
    {
      section: 'load',
      what: `replays that did not verify, ${label}`,
      value: failed,
      mustBeZero: true,
    },
  );
}

/** What a load run must leave: every acknowledged event stored once, gapless, chained, replayable. */
function cleanOutcome(sessions: number, events: number) {
  return {
    sessions,
    events,
    lost: 0,
    duplicated: 0,
    unknown: 0,
    partial: 0,
    gapped: 0,
    contradictions: 0,
    broken: [],
    failed: [],
  };
}

describe('load through the HTTP API', () => {
  it('holds 64 writers on one session with expectedSequence: only sequence_conflict, nothing lost or duplicated', async () => {
    const session = await client.createSession({ rules: 'tiny' });
    const run = newLoadRun('64 writers on one session');
    const views: number[] = new Array<number>(64).fill(0);
    const retrying: (NewEvent[] | undefined)[] = [];
    const randoms = Array.from({ length: 64 }, (_, w) => lcg(w + 1));
    await runFor(run, 64, loadMs, async (w) => {
      const random = randoms[w] ?? Math.random;
      const batch = retrying[w] ?? batchOf(random, 3);
      const result = await timedAppend(run, client, session.id, batch, views[w]);
      retrying[w] = result === 'sequence_conflict' ? batch : undefined;
      if (typeof result !== 'string') views[w] = result.lastSequence;
      // Stale view: read the session again, then retry the same batch (same event ids).
      else views[w] = (await client.getSession(session.id)).lastSequence;
    });
    const unacceptable = report(run, ['sequence_conflict']);

    const check = await checkStored(api.db.pool, [session.id], run);
    const broken = await brokenChains(api.agate, tenantId, [session.id]);
    const failed = await unverified(api.agate, tenantId, [session.id]);
    reportStored(run.label, check, broken.length, failed.length);
    expect(unacceptable).toEqual([]);
    expect(run.acked.size).toBeGreaterThan(0);
    expect({ ...check, contradictions: run.contradictions, broken, failed }).toEqual(
      cleanOutcome(1, run.acked.size),
    );
  });

  it('holds 32 writers over 1,000 sessions without a single error, nothing lost or duplicated', async () => {
    const created = await mapLimit(Array.from({ length: 1000 }), 32, () =>
      client.createSession({ rules: 'tiny' }),
    );
    const ids = created.map((s) => s.id);
    const run = newLoadRun('32 writers over 1,000 sessions');
    const randoms = Array.from({ length: 32 }, (_, w) => lcg(1000 + w));
    await runFor(run, 32, loadMs, async (w) => {
      const random = randoms[w] ?? Math.random;
      const sessionId = ids[Math.floor(random() * ids.length)] ?? '';
      await timedAppend(run, client, sessionId, batchOf(random, 5));
    });
    const unacceptable = report(run, []);

    const check = await checkStored(api.db.pool, ids, run);
    const broken = await brokenChains(api.agate, tenantId, ids);
    // Every 40th session in CI (25 replays), every one under soak.
    const sample = soak ? ids : ids.filter((_, i) => i % 40 === 0);
    const failed = await unverified(api.agate, tenantId, sample);
    reportStored(run.label, check, broken.length, failed.length);
    expect(unacceptable).toEqual([]);
    expect({ ...check, contradictions: run.contradictions, broken, failed }).toEqual(
      cleanOutcome(1000, run.acked.size),
    );
  });
});
