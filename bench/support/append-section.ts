// Append throughput of agate (library and HTTP through `agate serve`) next to the minimal correct
// append on the same server, same run, same archive-gate payloads; CPU per event of each process;
// and, after the load, whether the derived data drains.
import { Redis } from 'ioredis';
import { AgateClient } from '../../src/client/index.js';
import { nodeTransport } from '../../src/client/http-transport.js';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createKey } from '../../src/keys/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { startAgateProcesses } from './agate-processes.js';
import { startFloorServer } from './floor-server.js';
import { withBenchDatabase } from './bench-database.js';
import { deleteKeysWithPrefix, deleteTenantKeys, uniqueRedisPrefix } from './bench-redis.js';
import { awaitDerived } from './derived-drain.js';
import type { Drain } from './derived-drain.js';
import { gateTraffic } from './gate-traffic.js';
import type { GateTransport } from './gate-traffic.js';
import { cpuBetween, sampleCpu } from './process-cpu.js';
import { cpuText, measure, median, medianOf } from './report.js';
import type { Measurement, Row } from './report.js';
import { runWorkers } from './run-workers.js';
import type { RunStats, WorkerCall } from './run-workers.js';
import { baselineOf, makeFloorCall, makeMinimalCall, scenarios } from './scenarios.js';
import type { Scenario } from './scenarios.js';

export type AppendOptions = {
  adminUrl: string;
  redisUrl: string;
  /** Scenario ids to run (empty: all). */
  only: readonly string[];
  durationMs: number;
  repeats: number;
  clientCounts: readonly number[];
  /** Sessions the minimal rows spread their appends over. */
  sessions: number;
  /** How long the derived data may take to appear before the run fails. */
  drainTimeoutMs: number;
};

export type AppendMeasured = { rows: Row[]; problems: string[] };

type Once = {
  stats: RunStats;
  eventsPerCall: number;
  cpu: Record<string, number>;
  drain: Drain | null;
  problems: string[];
};

/** Opens every connection of the pool and runs one query on each. */
async function warmPool(pool: Pool, size: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  try {
    await Promise.all(clients.map((c) => c.query('SELECT 1')));
  } finally {
    for (const c of clients) c.release();
  }
}

/** Every session's events are 1..last_sequence without gaps, and they add up to what was acked. */
async function checkGapless(pool: Pool, ackedEvents: number): Promise<string[]> {
  const r = await pool.query<{ sessions: number; good: number; events: number }>(
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

/** This database's backends and the server's own processes (WAL writer, checkpointer, ...). */
async function postgresPids(pool: Pool): Promise<number[]> {
  const r = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() OR backend_type <> 'client backend'`,
  );
  return r.rows.map((row) => row.pid);
}

type Pids = { client: number[]; server: number[]; worker: number[] };

/** Runs the window, sampling each process's CPU (postgres: every backend seen, summed) around it. */
async function timed(
  pool: Pool,
  pids: Pids,
  clients: number,
  durationMs: number,
  call: WorkerCall,
): Promise<{ stats: RunStats; cpuMicros: Record<string, number> }> {
  const pgBefore = await postgresPids(pool);
  const groups = { ...pids, postgres: pgBefore };
  const before = Object.fromEntries(
    Object.entries(groups).map(([name, list]) => [name, sampleCpu(list)]),
  );
  const stats = await runWorkers(clients, durationMs, call);
  const pgAfter = [...new Set([...pgBefore, ...(await postgresPids(pool))])];
  const after = { ...groups, postgres: pgAfter };
  const cpuMicros: Record<string, number> = {};
  for (const [name, list] of Object.entries(after)) {
    if (list.length === 0) continue;
    cpuMicros[name] = cpuBetween(before[name] ?? new Map<number, number>(), sampleCpu(list));
  }
  return { stats, cpuMicros };
}

function perEvent(cpuMicros: Record<string, number>, events: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(cpuMicros).map(([name, micros]) => [name, events > 0 ? micros / events : NaN]),
  );
}

async function makeSessions(agate: Agate, tenantId: string, count: number, clients: number) {
  const sessionIds: string[] = [];
  while (sessionIds.length < count) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(clients, count - sessionIds.length) }, () =>
        agate.store.createSession({ tenantId, rules: 'archive-gate' }),
      ),
    );
    sessionIds.push(...batch.map((s) => s.id));
  }
  return sessionIds;
}

/** The minimal correct append in this process, or (http-floor) behind the bare HTTP server. */
async function minimalOnce(
  pool: Pool,
  agate: Agate,
  tenantId: string,
  scenario: Scenario,
  clients: number,
  options: AppendOptions,
  databaseUrl: string,
): Promise<Once> {
  const sessionIds = await makeSessions(agate, tenantId, options.sessions, clients);
  await warmPool(pool, clients);
  const floor =
    scenario.kind === 'http-floor' ? await startFloorServer(databaseUrl, clients, tenantId) : null;
  try {
    const call =
      floor === null
        ? makeMinimalCall(scenario, { pool, tenantId, sessionIds, clients })
        : makeFloorCall(scenario, {
            sessionIds,
            clients,
            url: floor.url,
            transport: nodeTransport(),
          });
    const { stats, cpuMicros } = await timed(
      pool,
      { client: [process.pid], server: floor === null ? [] : [floor.pid], worker: [] },
      clients,
      options.durationMs,
      call,
    );
    const events = stats.okCalls * scenario.batch;
    return {
      stats,
      eventsPerCall: scenario.batch,
      cpu: perEvent(cpuMicros, events),
      drain: null,
      problems: await checkGapless(pool, events),
    };
  } finally {
    await floor?.stop();
  }
}

/** The library as a game server without HTTP uses it, with the bot's recorded seeds. */
export function libraryTransport(agate: Agate, tenantId: string): GateTransport {
  return {
    createSession: async (seed) =>
      (await agate.store.createSession({ tenantId, rules: 'archive-gate', seed })).id,
    append: async ([batch]) => {
      if (batch === undefined) return [];
      const result = await agate.store.appendEvents({
        tenantId,
        sessionId: batch.sessionId,
        events: batch.events,
        recordedSeeds: true,
      });
      return [result.ok ? result.lastSequence : `${result.reason}: ${result.message}`];
    },
  };
}

function httpTransport(client: AgateClient): GateTransport {
  return {
    createSession: async (seed) => (await client.createSession({ seed, rules: 'archive-gate' })).id,
    append: async (batches) => {
      if (batches.length === 1 && batches[0] !== undefined) {
        const { sessionId, events } = batches[0];
        return [(await client.append(sessionId, events)).lastSequence];
      }
      const { results } = await client.appendMany(batches);
      return results.map((r) => (r.ok ? r.lastSequence : `${r.code}: ${r.message}`));
    },
  };
}

async function trafficOnce(
  pool: Pool,
  tenantId: string,
  transport: GateTransport,
  scenario: Scenario,
  clients: number,
  options: AppendOptions,
  pids: Pids,
  redis: Redis | null,
): Promise<Once> {
  const traffic = gateTraffic(transport, {
    clients,
    lanes: scenario.lanes,
    batch: scenario.batch,
    seedPrefix: 'bench',
    stripSeeds: scenario.kind === 'http',
  });
  await traffic.prepare();
  const { stats, cpuMicros } = await timed(pool, pids, clients, options.durationMs, traffic.call);
  const acked = traffic.acked();
  const drain = await awaitDerived(
    pool,
    redis,
    tenantId,
    traffic.ledger,
    acked,
    options.drainTimeoutMs,
  );
  const problems = [
    ...(await checkGapless(pool, acked)),
    ...drain.missing.map((m) => `after ${Math.round(drain.drainMs)} ms still missing: ${m}`),
  ];
  return {
    stats,
    eventsPerCall: scenario.batch * scenario.lanes,
    cpu: perEvent(cpuMicros, acked),
    drain,
    problems,
  };
}

async function runOnce(options: AppendOptions, scenario: Scenario, clients: number): Promise<Once> {
  return withBenchDatabase(options.adminUrl, async (db) => {
    const pool = createPool({
      connectionString: db.url,
      max: clients,
      applicationName: 'agate-bench',
    });
    const tenant = await createTenant(pool, { name: 'bench tenant', actor: 'bench' });
    // As users run it: validation, the hash chain, and agate's own consumers in the same process.
    const agate = createAgate({
      pool,
      games: defaultGames,
      consumers: scenario.kind === 'library',
    });
    const prefix = uniqueRedisPrefix('append');
    const redis = scenario.redis ? new Redis(options.redisUrl, { maxRetriesPerRequest: 1 }) : null;
    const self = { client: [process.pid], server: [], worker: [] };
    try {
      if (scenario.kind === 'library') {
        return await trafficOnce(
          pool,
          tenant.id,
          libraryTransport(agate, tenant.id),
          scenario,
          clients,
          options,
          self,
          null,
        );
      }
      if (scenario.kind !== 'http') {
        return await minimalOnce(pool, agate, tenant.id, scenario, clients, options, db.url);
      }
      const processes = await startAgateProcesses(
        db.url,
        scenario.redis ? { url: options.redisUrl, prefix } : null,
      );
      try {
        const { key } = await createKey(pool, {
          tenantId: tenant.id,
          role: 'game_server',
          actor: 'bench',
        });
        const client = new AgateClient({ baseUrl: processes.url, apiKey: key });
        const { server, worker } = processes.pids;
        const pids = {
          client: [process.pid],
          server: [server],
          worker: worker === null ? [] : [worker],
        };
        return await trafficOnce(
          pool,
          tenant.id,
          httpTransport(client),
          scenario,
          clients,
          options,
          pids,
          redis,
        );
      } finally {
        await processes.stop();
      }
    } finally {
      await agate.close();
      await pool.end();
      if (redis !== null) {
        await deleteTenantKeys(redis, tenant.id);
        redis.disconnect();
        await deleteKeysWithPrefix(options.redisUrl, prefix);
      }
    }
  });
}

function progressLine(scenario: Scenario, clients: number, m: Measurement, once: Once): string {
  const kinds =
    once.drain === null
      ? ''
      : Object.entries(once.drain.byKind)
          .map(([kind, ms]) => `${kind} ${Math.round(ms)}`)
          .join(', ');
  const drain =
    once.drain === null ? '' : `, drained in ${Math.round(once.drain.drainMs)} ms (${kinds})`;
  const check = once.problems.length === 0 ? 'ok' : 'FAILED';
  return `  ${scenario.id} x${clients}: ${Math.round(m.eventsPerSec)} events/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms, ${m.errors} errors; CPU us/event: ${cpuText(once.cpu)}${drain}; checks: ${check}`;
}

function selected(options: AppendOptions): readonly Scenario[] {
  return options.only.length === 0
    ? scenarios
    : scenarios.filter((s) => options.only.includes(s.id));
}

/** Each process's median over the runs. */
function medianRecord(records: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((n) => [n, median(records.map((r) => r[n] ?? NaN))]));
}

/**
 * Runs every selected scenario at every client count, `repeats` times (interleaved, so that a
 * drift of the machine hits every scenario alike), each on a fresh database, and reports the
 * medians with each row's ratio to the minimal correct append of its size. Counts, sequences and
 * the derived data are checked after every run; failures are returned, not thrown, so the
 * figures still print.
 */
export async function measureAppend(
  options: AppendOptions,
  log: (line: string) => void,
): Promise<AppendMeasured> {
  const runs = new Map<string, { m: Measurement; once: Once }[]>();
  const problems: string[] = [];
  for (let rep = 1; rep <= options.repeats; rep += 1) {
    log(`  run ${rep} of ${options.repeats}`);
    for (const scenario of selected(options)) {
      for (const clients of options.clientCounts) {
        const once = await runOnce(options, scenario, clients);
        const m = measure(once.stats, once.eventsPerCall);
        log(progressLine(scenario, clients, m, once));
        for (const failure of once.stats.failureSamples) log(`    failed: ${failure}`);
        problems.push(...once.problems.map((p) => `${scenario.id} x${clients}: ${p}`));
        const key = `${scenario.id}/${clients}`;
        runs.set(key, [...(runs.get(key) ?? []), { m, once }]);
      }
    }
  }
  const rows: Row[] = selected(options).flatMap((s) =>
    options.clientCounts.map((clients) => {
      const measured = runs.get(`${s.id}/${clients}`) ?? [];
      const drains = measured.flatMap((r) => (r.once.drain === null ? [] : [r.once.drain.drainMs]));
      return {
        scenario: s.id,
        label: s.label,
        clients,
        batch: s.batch * s.lanes,
        runs: measured.map((r) => r.m),
        ...medianOf(measured.map((r) => r.m)),
        ratioToRaw: null,
        cpuUsPerEvent: medianRecord(measured.map((r) => r.once.cpu)),
        drainMs: drains.length === 0 ? null : Math.max(...drains),
      };
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
