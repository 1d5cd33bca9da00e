// The timed parts of the import bench: the import itself, its two halves alone, and raw COPY of
// the same rows as the owner (one COPY per session, and one stream per client).
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { uuidv7 } from 'uuidv7';
import type { Pool, PoolClient } from '../../src/db/index.js';
import { defaultLimits } from '../../src/events/index.js';
import { importSessions, prepareRecordedSession, writeSession } from '../../src/import/index.js';
import type { PreparedSession, RecordedSession } from '../../src/import/index.js';
import { benchGames } from './bench-game.js';
import { percentile } from './report.js';

export type ImportRun = {
  events: number;
  sessions: number;
  elapsedMs: number;
  eventsPerSec: number;
  /** Per session (agate: from its start to its commit; raw COPY: the one statement). */
  p50Ms: number;
  p99Ms: number;
};

/** The recorded sessions, built before the clock starts: ids, payloads and all. */
export function recordedSessions(options: {
  sessions: number;
  eventsPerSession: number;
  payloadChars: number;
}): RecordedSession[] {
  return Array.from({ length: options.sessions }, (_, s) => ({
    id: uuidv7(),
    seed: `import-bench-${s}`,
    rules: 'bench',
    rulesVersion: 1,
    events: Array.from({ length: options.eventsPerSession }, (_, i) => ({
      eventId: uuidv7(),
      type: 'bench.happened',
      version: 1,
      data: { payload: `${s}:${i}:`.padEnd(options.payloadChars, 'x') },
    })),
  }));
}

const fixedHash = `\\\\x${'ab'.repeat(32)}`;

/** COPY text of a session's rows (the same ids, data and sizes as the import writes). */
function copyTextOf(tenantId: string, session: RecordedSession, serverTime: string): string {
  return session.events
    .map(
      (e, i) =>
        `${e.eventId ?? ''}\t${tenantId}\t${session.id ?? ''}\t${i + 1}\t${e.type}\t1\t${JSON.stringify(e.data).replace(/\\/g, '\\\\')}\t\\N\t${serverTime}\t${fixedHash}\n`,
    )
    .join('');
}

const copySql = `COPY game.events (event_id, tenant_id, session_id, sequence, event_type,
  event_version, event_data, client_time, server_time, hash) FROM STDIN`;

async function copyText(client: PoolClient, text: string | string[]): Promise<void> {
  await pipeline(
    Readable.from(typeof text === 'string' ? [text] : text),
    client.query(copyFrom(copySql)),
  );
}

/** The session rows the raw COPY needs, made before the clock (the import makes its own). */
async function createSessionRows(pool: Pool, tenantId: string, sessions: RecordedSession[]) {
  await pool.query(
    `INSERT INTO game.sessions (id, tenant_id, rules, rules_version, seed, head_hash, last_sequence)
     SELECT id, $1, 'bench', 1, seed, '\\x00', n FROM unnest($2::uuid[], $3::text[], $4::bigint[]) AS u(id, seed, n)`,
    [
      tenantId,
      sessions.map((s) => s.id),
      sessions.map((s) => s.seed),
      sessions.map((s) => s.events.length),
    ],
  );
}

function runOf(
  events: number,
  sessions: number,
  elapsedMs: number,
  latencies: number[],
): ImportRun {
  return {
    events,
    sessions,
    elapsedMs,
    eventsPerSec: (events * 1000) / elapsedMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export async function runAgateImport(
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  clients: number,
): Promise<ImportRun> {
  const started = new Map<number, number>();
  const latencies: number[] = [];
  // The source records when the import takes each session; the commit callback closes it.
  function* timed(): Generator<RecordedSession> {
    for (const [i, s] of sessions.entries()) {
      started.set(i, performance.now());
      yield s;
    }
  }
  const t0 = performance.now();
  const imported = await importSessions(pool, {
    tenantId,
    games: benchGames,
    sessions: timed(),
    concurrency: clients,
    onImported: (s) => latencies.push(performance.now() - (started.get(s.index) ?? t0)),
  });
  const elapsed = performance.now() - t0;
  const events = imported.reduce((sum, s) => sum + s.events, 0);
  return runOf(events, imported.length, elapsed, latencies);
}

function prepareAll(tenantId: string, sessions: readonly RecordedSession[]): PreparedSession[] {
  const settings = { tenantId, limits: defaultLimits, maxSessionEvents: 1_000_000 };
  return sessions.map((s) => prepareRecordedSession(benchGames, settings, s));
}

/** Validation, content hashes, chain and snapshot folds, in this process, one thread. */
export function runPrepare(tenantId: string, sessions: RecordedSession[]): ImportRun {
  const latencies: number[] = [];
  const t0 = performance.now();
  for (const s of sessions) {
    const s0 = performance.now();
    prepareRecordedSession(
      benchGames,
      { tenantId, limits: defaultLimits, maxSessionEvents: 1e6 },
      s,
    );
    latencies.push(performance.now() - s0);
  }
  const elapsed = performance.now() - t0;
  const events = sessions.reduce((sum, s) => sum + s.events.length, 0);
  return runOf(events, sessions.length, elapsed, latencies);
}

/** The import's transactions alone, `clients` at once, with every session prepared before. */
export async function runWrite(
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  clients: number,
): Promise<ImportRun> {
  const prepared = prepareAll(tenantId, sessions);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < prepared.length; i = next++) {
        const s0 = performance.now();
        await writeSession(pool, prepared[i] as PreparedSession);
        latencies.push(performance.now() - s0);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const events = sessions.reduce((sum, s) => sum + s.events.length, 0);
  return runOf(events, sessions.length, elapsed, latencies);
}

export async function runRawCopy(
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  clients: number,
  stream: boolean,
): Promise<ImportRun> {
  await createSessionRows(pool, tenantId, sessions);
  const now =
    (await pool.query<{ t: string }>('SELECT clock_timestamp()::text AS t')).rows[0]?.t ?? '';
  const texts = sessions.map((s) => copyTextOf(tenantId, s, now));
  const conns = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
  const latencies: number[] = [];
  const t0 = performance.now();
  try {
    if (stream) {
      // Client c sends sessions c, c + clients, ... in one COPY: the bulk-load ceiling.
      await Promise.all(
        conns.map((c, w) =>
          copyText(
            c,
            texts.filter((_, i) => i % clients === w),
          ),
        ),
      );
    } else {
      let next = 0;
      await Promise.all(
        conns.map(async (c) => {
          for (let i = next++; i < texts.length; i = next++) {
            const s0 = performance.now();
            await copyText(c, texts[i] ?? '');
            latencies.push(performance.now() - s0);
          }
        }),
      );
    }
  } finally {
    for (const c of conns) c.release();
  }
  const elapsed = performance.now() - t0;
  const events = sessions.reduce((sum, s) => sum + s.events.length, 0);
  return runOf(events, sessions.length, elapsed, latencies);
}
