// Append throughput of agate next to raw PostgreSQL baselines, measured in the same run.
// Usage: npx tsx bench/append.bench.ts [--quick]   (AGATE_BENCH_ADMIN_URL picks the server)
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPool } from '../src/db/index.js';
import type { Pool } from '../src/db/index.js';
import { createKey } from '../src/keys/index.js';
import { createAgate } from '../src/runtime/index.js';
import { createTenant } from '../src/tenants/index.js';
import { benchGames } from './support/bench-game.js';
import { startHttpServer } from './support/http-server.js';
import type { HttpServer } from './support/http-server.js';
import { serverVersion, withBenchDatabase } from './support/bench-database.js';
import { formatTable, measure, medianOf } from './support/report.js';
import type { Measurement, Row } from './support/report.js';
import { runWorkers } from './support/run-workers.js';
import type { RunStats } from './support/run-workers.js';
import { baselineOf, makeCall, makePayloads, scenarios } from './support/scenarios.js';
import type { Fixture, Scenario } from './support/scenarios.js';

type Options = {
  quick: boolean;
  /** Scenario ids to run (empty: all), for profiling one of them. */
  only: string[];
  adminUrl: string;
  durationMs: number;
  repeats: number;
  clientCounts: number[];
  sessions: number;
  payloadChars: number;
};

class CheckFailed extends Error {}

function parseOptions(args: readonly string[]): Options {
  const only: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--quick') continue;
    if (arg === '--only' && args[i + 1] !== undefined) {
      only.push(...(args[i + 1] ?? '').split(','));
      i += 1;
    } else unknown.push(arg);
  }
  if (unknown.length > 0) {
    throw new Error(
      `Unknown argument(s) ${unknown.join(' ')}; options: --quick, --only <scenario,...> (${scenarios.map((s) => s.id).join(', ')}).`,
    );
  }
  const missing = only.filter((id) => !scenarios.some((s) => s.id === id));
  if (missing.length > 0) throw new Error(`No scenario ${missing.join(', ')}.`);
  const quick = args.includes('--quick');
  return {
    quick,
    only,
    adminUrl: process.env.AGATE_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    durationMs: quick ? 1_500 : 5_000,
    repeats: 2,
    clientCounts: [8, 32],
    sessions: 1_000,
    payloadChars: 200,
  };
}

/** Opens every connection of the pool and runs one query on each. */
async function warmPool(pool: Pool, size: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  try {
    await Promise.all(clients.map((c) => c.query('SELECT 1')));
  } finally {
    for (const c of clients) c.release();
  }
}

async function createFixture(
  url: string,
  clients: number,
  options: Options,
  server: HttpServer | null,
): Promise<Fixture> {
  const pool = createPool({ connectionString: url, max: clients, applicationName: 'agate-bench' });
  // As users run it: validation, the hash chain and the inline snapshotter (every 50 events).
  const { store } = createAgate({ pool, games: benchGames });
  const tenant = await createTenant(pool, { name: 'bench tenant', actor: 'bench' });
  const sessionIds: string[] = [];
  let next = 0;
  async function creator(): Promise<void> {
    while (next < options.sessions) {
      next += 1;
      const session = await store.createSession({ tenantId: tenant.id, rules: 'bench' });
      sessionIds.push(session.id);
    }
  }
  await Promise.all(Array.from({ length: clients }, () => creator()));
  await warmPool(pool, clients);
  const payloads = makePayloads(options.sessions, options.payloadChars);
  const http =
    server === null
      ? null
      : {
          url: server.url,
          apiKey: (
            await createKey(pool, { tenantId: tenant.id, role: 'game_server', actor: 'bench' })
          ).key,
        };
  return { pool, store, tenantId: tenant.id, sessionIds, clients, payloads, http };
}

/** Every session's events are 1..last_sequence without gaps, and they add up to what was acked. */
async function checkGapless(f: Fixture, ackedEvents: number): Promise<void> {
  const sessions = await f.pool.query<{ id: string; last_sequence: number }>(
    'SELECT id, last_sequence FROM game.sessions',
  );
  const problems: string[] = [];
  let total = 0;
  for (const s of sessions.rows) {
    const found = await f.pool.query<{ count: number; max: number | null }>(
      'SELECT count(*) AS count, max(sequence) AS max FROM game.events WHERE session_id = $1',
      [s.id],
    );
    const row = found.rows[0];
    total += s.last_sequence;
    if (row?.count !== s.last_sequence || (row.max ?? 0) !== s.last_sequence) {
      problems.push(`session ${s.id}: last_sequence ${s.last_sequence}, ${JSON.stringify(row)}`);
    }
  }
  if (total !== ackedEvents) problems.push(`${total} events stored, ${ackedEvents} acknowledged`);
  if (problems.length > 0) {
    throw new CheckFailed(
      `checks: FAILED (${problems.length})\n  ${problems.slice(0, 10).join('\n  ')}`,
    );
  }
}

async function runOnce(options: Options, scenario: Scenario, clients: number): Promise<RunStats> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const server = scenario.kind === 'http' ? await startHttpServer(db.url, clients) : null;
    const fixture = await createFixture(db.url, clients, options, server);
    try {
      const call = makeCall(scenario, fixture);
      const stats = await runWorkers(clients, options.durationMs, call);
      if (scenario.kind !== 'raw-insert')
        await checkGapless(fixture, stats.okCalls * scenario.batch);
      return stats;
    } finally {
      await server?.stop();
      await fixture.pool.end();
    }
  });
}

function progressLine(scenario: Scenario, clients: number, m: Measurement): string {
  const check = scenario.kind === 'raw-insert' ? '' : ', checks: ok';
  return `  ${scenario.id} x${clients}: ${Math.round(m.eventsPerSec)} events/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms, ${m.errors} errors${check}`;
}

function selected(options: Options): readonly Scenario[] {
  return options.only.length === 0
    ? scenarios
    : scenarios.filter((s) => options.only.includes(s.id));
}

async function measureAll(options: Options): Promise<Row[]> {
  const runs = new Map<string, Measurement[]>();
  // Repetitions are interleaved so that a drift of the machine hits every scenario alike.
  for (let rep = 1; rep <= options.repeats; rep += 1) {
    console.log(`run ${rep} of ${options.repeats}`);
    for (const scenario of selected(options)) {
      for (const clients of options.clientCounts) {
        const stats = await runOnce(options, scenario, clients);
        const m = measure(stats, scenario.batch);
        console.log(progressLine(scenario, clients, m));
        for (const failure of stats.failureSamples) console.log(`    failed: ${failure}`);
        const key = `${scenario.id}/${clients}`;
        runs.set(key, [...(runs.get(key) ?? []), m]);
      }
    }
  }
  const rows: Row[] = selected(options).flatMap((s) =>
    options.clientCounts.map((clients) => {
      const measured = runs.get(`${s.id}/${clients}`) ?? [];
      const row = { scenario: s.id, label: s.label, clients, batch: s.batch, runs: measured };
      return { ...row, ...medianOf(measured), ratioToRaw: null };
    }),
  );
  return rows.map((r) => {
    const baseline = rows.find(
      (b) => b.scenario === baselineOf[r.scenario] && b.clients === r.clients,
    );
    return baseline === undefined
      ? r
      : { ...r, ratioToRaw: r.eventsPerSec / baseline.eventsPerSec };
  });
}

/** ISO 8601 basic format (20261123T120000Z): sortable and safe in file names. */
function fileStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

async function writeResults(options: Options, started: Date, rows: Row[]): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}append-${fileStamp(started)}.json`;
  // The admin URL may carry a password: record where the server is, not how to log in.
  const server = new URL(options.adminUrl);
  const shown = { ...options, adminUrl: `${server.protocol}//${server.host}${server.pathname}` };
  const machine = {
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemoryBytes: totalmem(),
    node: process.version,
    postgres: await serverVersion(options.adminUrl),
  };
  const body = { date: started.toISOString(), options: shown, machine, rows };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  console.log(
    `agate append bench: ${options.sessions} sessions, ${options.payloadChars}-char payloads, ${options.durationMs} ms per run, ${options.repeats} runs each (median)`,
  );
  const rows = await measureAll(options);
  console.log(`\n${formatTable(rows)}\n`);
  const failed = rows.reduce((sum, r) => sum + r.errors, 0);
  console.log(`failed appends/calls: ${failed}`);
  console.log('checks: ok');
  console.log(`results: ${await writeResults(options, started, rows)}`);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof CheckFailed ? error.message : error);
  process.exitCode = 1;
}
