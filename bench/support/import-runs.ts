// The timed parts of the import bench: the import itself, its two halves alone, and raw COPY of
// the same rows as the owner (one COPY per session, and one stream per client).
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { uuidv7 } from 'uuidv7';
import type { Pool, PoolClient } from '../../src/db/index.js';
import { defaultLimits } from '../../src/events/index.js';
import { importSessions, prepareRecordedSession, writeSession } from '../../src/import/index.js';
import { copyRows, eventColumns } from '../../src/import/copy-rows.js';
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

/** COPY BINARY of a session's rows, as the import sends them (the same ids, data and sizes). */
function copyBinaryOf(tenantId: string, session: RecordedSession, serverTimeMicros: string) {
  const events = session.events.map((e) => ({
    eventId: e.eventId ?? '',
    type: e.type,
    version: 1,
    data: e.data as Record<string, unknown>,
    clientTime: null,
    contentHash: '',
  }));
  const hashes = events.map(() => 'ab'.repeat(32));
  const columns = { tenantId, sessionId: session.id ?? '', serverTimeMicros };
  return [...copyRows(events, hashes, columns)];
}

/** COPY text of a session's rows (the same ids, data and sizes as the import writes). */
function copyTextOf(tenantId: string, session: RecordedSession, serverTime: string): string {
  return session.events
    .map(
      (e, i) =>
        `${e.eventId ?? ''}\t${tenantId}\t${session.id ?? ''}\t${i + 1}\t${e.type}\t1\t${JSON.stringify(e.data).replace(/\\/g, '\\\\')}\t\\N\t${serverTime}\t${fixedHash}\timport\n`,
    )
    .join('');
}

const copySql = `COPY game.events (${eventColumns}) FROM STDIN`;

/** One COPY of text (a string or chunks) or of COPY BINARY chunks (buffers). */
async function copyData(client: PoolClient, data: string | string[] | Buffer[]): Promise<void> {
  const binary = Array.isArray(data) && data[0] instanceof Buffer;
  await pipeline(
    Readable.from(typeof data === 'string' ? [data] : data),
    client.query(copyFrom(binary ? `${copySql} (FORMAT binary)` : copySql)),
  );
}

/** The session rows the raw COPY needs, made before the clock (the import makes its own). */
async function createSessionRows(pool: Pool, tenantId: string, sessions: RecordedSession[]) {
  await pool.query(
    `INSERT INTO game.sessions (id, tenant_id, rules, rules_version, seed, head_hash, last_sequence, written_by)
     SELECT id, $1, 'bench', 1, seed, '\\x00', n, 'import' FROM unnest($2::uuid[], $3::text[], $4::bigint[]) AS u(id, seed, n)`,
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

/** text: one COPY per session; stream: one COPY per client; binary: COPY BINARY per session. */
export type RawCopyMode = 'text' | 'stream' | 'binary';

/** The COPY data of every session, built before the clock starts. */
async function rawCopyData(
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  mode: RawCopyMode,
): Promise<string[] | Buffer[][]> {
  const r = await pool.query<{ t: string; micros: string }>(
    `SELECT clock_timestamp()::text AS t,
            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS micros`,
  );
  const { t = '', micros = '0' } = r.rows[0] ?? {};
  return mode === 'binary'
    ? sessions.map((s) => copyBinaryOf(tenantId, s, micros))
    : sessions.map((s) => copyTextOf(tenantId, s, t));
}

export async function runRawCopy(
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  clients: number,
  mode: RawCopyMode,
): Promise<ImportRun> {
  await createSessionRows(pool, tenantId, sessions);
  const data = await rawCopyData(pool, tenantId, sessions, mode);
  const conns = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
  const latencies: number[] = [];
  const t0 = performance.now();
  try {
    if (mode === 'stream') {
      // Client c sends sessions c, c + clients, ... in one COPY: the bulk-load ceiling.
      const texts = data as string[];
      await Promise.all(
        conns.map((c, w) =>
          copyData(
            c,
            texts.filter((_, i) => i % clients === w),
          ),
        ),
      );
    } else {
      let next = 0;
      await Promise.all(
        conns.map(async (c) => {
          for (let i = next++; i < data.length; i = next++) {
            const s0 = performance.now();
            await copyData(c, data[i] ?? '');
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
