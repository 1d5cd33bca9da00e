// Append throughput of agate (library and HTTP) next to raw PostgreSQL appends, same run.
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { createKey } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { benchGames } from './bench-game.js';
import { withBenchDatabase } from './bench-database.js';
import { startHttpServer } from './http-server.js';
import type { HttpServer } from './http-server.js';
import { measure, medianOf } from './report.js';
import type { Measurement, Row } from './report.js';
import { runWorkers } from './run-workers.js';
import type { RunStats } from './run-workers.js';
import { baselineOf, makeCall, makePayloads, scenarios } from './scenarios.js';
import type { Fixture, Scenario } from './scenarios.js';

export type AppendOptions = {
  adminUrl: string;
  /** Scenario ids to run (empty: all). */
  only: readonly string[];
  durationMs: number;
  repeats: number;
  clientCounts: readonly number[];
  sessions: number;
  payloadChars: number;
};

export type AppendMeasured = { rows: Row[]; problems: string[] };

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
  options: AppendOptions,
  server: HttpServer | null,
): Promise<Fixture> {
  const pool = createPool({ connectionString: url, max: clients, applicationName: 'agate-bench' });
  // As users run it: validation, the hash chain, and agate's own consumers (snapshots every 50
  // events) beside the appends in the same process.
  const agate = createAgate({ pool, games: benchGames });
  const { store } = agate;
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
  const close = () => agate.close();
  return { pool, store, tenantId: tenant.id, sessionIds, clients, payloads, http, close };
}

/** Every session's events are 1..last_sequence without gaps, and they add up to what was acked. */
async function checkGapless(f: Fixture, ackedEvents: number): Promise<string[]> {
  const r = await f.pool.query<{ sessions: number; good: number; events: number }>(
    `SELECT count(*)::int AS sessions,
            count(*) FILTER (WHERE e.n = s.last_sequence AND coalesce(e.max_seq, 0) = s.last_sequence)::int AS good,
            coalesce(sum(s.last_sequence), 0)::int AS events
       FROM game.sessions s
       LEFT JOIN LATERAL (SELECT count(*) AS n, max(sequence) AS max_seq
                            FROM game.events WHERE session_id = s.id) e ON true`,
  );
  const row = r.rows[0];
  const problems: string[] = [];
  if (row === undefined || row.good !== row.sessions) {
    problems.push(
      `${(row?.sessions ?? 0) - (row?.good ?? 0)} session(s) with a gap or a count that differs from last_sequence`,
    );
  }
  if (row?.events !== ackedEvents) {
    problems.push(`${row?.events ?? 0} events stored, ${ackedEvents} acknowledged`);
  }
  return problems;
}

async function runOnce(
  options: AppendOptions,
  scenario: Scenario,
  clients: number,
): Promise<{ stats: RunStats; problems: string[] }> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const server = scenario.kind === 'http' ? await startHttpServer(db.url, clients) : null;
    const fixture = await createFixture(db.url, clients, options, server);
    try {
      const call = makeCall(scenario, fixture);
      const stats = await runWorkers(clients, options.durationMs, call);
      const problems =
        scenario.kind === 'raw-insert'
          ? []
          : await checkGapless(fixture, stats.okCalls * scenario.batch);
      return { stats, problems: problems.map((p) => `${scenario.id} x${clients}: ${p}`) };
    } finally {
      await server?.stop();
      await fixture.close();
      await fixture.pool.end();
    }
  });
}

function progressLine(scenario: Scenario, clients: number, m: Measurement, ok: boolean): string {
  const check = scenario.kind === 'raw-insert' ? '' : ok ? ', checks: ok' : ', checks: FAILED';
  return `  ${scenario.id} x${clients}: ${Math.round(m.eventsPerSec)} events/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms, ${m.errors} errors${check}`;
}

function selected(options: AppendOptions): readonly Scenario[] {
  return options.only.length === 0
    ? scenarios
    : scenarios.filter((s) => options.only.includes(s.id));
}

/**
 * Runs every selected scenario at every client count, `repeats` times (interleaved, so that a
 * drift of the machine hits every scenario alike), each on a fresh database, and reports the
 * medians with each agate row's ratio to its raw baseline. Counts and sequences are checked
 * after every run; failures are returned, not thrown, so the figures still print.
 */
export async function measureAppend(
  options: AppendOptions,
  log: (line: string) => void,
): Promise<AppendMeasured> {
  const runs = new Map<string, Measurement[]>();
  const problems: string[] = [];
  for (let rep = 1; rep <= options.repeats; rep += 1) {
    log(`  run ${rep} of ${options.repeats}`);
    for (const scenario of selected(options)) {
      for (const clients of options.clientCounts) {
        const once = await runOnce(options, scenario, clients);
        const m = measure(once.stats, scenario.batch);
        log(progressLine(scenario, clients, m, once.problems.length === 0));
        for (const failure of once.stats.failureSamples) log(`    failed: ${failure}`);
        problems.push(...once.problems);
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
  return {
    rows: rows.map((r) => {
      const baseline = rows.find(
        (b) => b.scenario === baselineOf[r.scenario] && b.clients === r.clients,
      );
      return baseline === undefined
        ? r
        : { ...r, ratioToRaw: r.eventsPerSec / baseline.eventsPerSec };
    }),
    problems,
  };
}
