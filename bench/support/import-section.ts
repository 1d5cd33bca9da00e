// Bulk import of recorded sessions into new sessions (the product path: validation, hash chain,
// snapshots, as agate_app under RLS) next to raw COPY of the same rows as the owner, same run.
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import type { RecordedSession } from '../../src/import/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { withBenchDatabase } from './bench-database.js';
import { benchGames } from './bench-game.js';
import {
  recordedSessions,
  runAgateImport,
  runPrepare,
  runRawCopy,
  runWrite,
} from './import-runs.js';
import type { ImportRun } from './import-runs.js';
import { fixed, median, renderTable, whole } from './report.js';

export type ImportOptions = {
  adminUrl: string;
  sessions: number;
  eventsPerSession: number;
  payloadChars: number;
  clientCounts: number[];
  repeats: number;
};

export type ImportScenario =
  | 'agate-import'
  | 'import-write'
  | 'import-prepare'
  | 'raw-copy'
  | 'raw-copy-stream'
  | 'raw-copy-binary';

/** The last two agate rows split the import in its halves, to show which one limits it. */
export const importScenarios: readonly { id: ImportScenario; label: string }[] = [
  { id: 'agate-import', label: 'agate import, one txn per session' },
  { id: 'import-write', label: '  its writes alone (prepared before)' },
  { id: 'import-prepare', label: '  its preparation alone (no db, 1 thread)' },
  { id: 'raw-copy', label: 'raw COPY, one per session' },
  { id: 'raw-copy-stream', label: 'raw COPY, one stream per client' },
  { id: 'raw-copy-binary', label: "raw COPY BINARY (the import's format)" },
];

export type ImportRow = {
  scenario: ImportScenario;
  label: string;
  clients: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** events/s over raw COPY's (text, one per session), same clients, same run. */
  ratioToCopy: number | null;
  /** events/s over raw COPY BINARY's (the import's own format), same clients, same run. */
  ratioToBinaryCopy: number | null;
  runs: ImportRun[];
};

type Measured = { rows: ImportRow[]; problems: string[] };

/** Every session is 1..n without gaps, as many rows as its last_sequence, and n in total. */
async function checkStored(pool: Pool, expected: { sessions: number; events: number }) {
  const r = await pool.query<{ sessions: number; good: number; events: number }>(
    `SELECT count(*)::int AS sessions,
            count(*) FILTER (WHERE e.n = s.last_sequence AND e.max_seq = s.last_sequence AND e.min_seq = 1)::int AS good,
            coalesce(sum(e.n), 0)::int AS events
       FROM game.sessions s
       LEFT JOIN LATERAL (SELECT count(*) AS n, max(sequence) AS max_seq, min(sequence) AS min_seq
                            FROM game.events WHERE session_id = s.id) e ON true`,
  );
  const row = r.rows[0];
  const problems: string[] = [];
  if (
    row?.sessions !== expected.sessions ||
    row.good !== expected.sessions ||
    row.events !== expected.events
  ) {
    problems.push(
      `stored ${JSON.stringify(row)}, expected ${expected.sessions} gapless sessions, ${expected.events} events`,
    );
  }
  return problems;
}

/** A few imported sessions replay with verify: chain, snapshots and head agree. */
async function verifySample(pool: Pool, tenantId: string, sessions: RecordedSession[]) {
  const agate = createAgate({ pool, games: benchGames, consumers: false });
  const problems: string[] = [];
  for (const s of [sessions[0], sessions.at(-1)]) {
    if (s?.id === undefined) continue;
    const r = await agate.replay({ tenantId, sessionId: s.id, verify: true });
    if (r.verified !== true || r.sequence !== s.events.length) {
      problems.push(
        `import: session ${s.id} verified ${r.verified} at ${r.sequence}: ${JSON.stringify(r.divergences)}`,
      );
    }
  }
  return problems;
}

async function runScenario(
  scenario: ImportScenario,
  pool: Pool,
  tenantId: string,
  sessions: RecordedSession[],
  clients: number,
): Promise<ImportRun> {
  switch (scenario) {
    case 'agate-import':
      return runAgateImport(pool, tenantId, sessions, clients);
    case 'import-write':
      return runWrite(pool, tenantId, sessions, clients);
    case 'import-prepare':
      return runPrepare(tenantId, sessions);
    case 'raw-copy':
      return runRawCopy(pool, tenantId, sessions, clients, 'text');
    case 'raw-copy-stream':
      return runRawCopy(pool, tenantId, sessions, clients, 'stream');
    case 'raw-copy-binary':
      return runRawCopy(pool, tenantId, sessions, clients, 'binary');
  }
}

async function runOnce(
  options: ImportOptions,
  scenario: ImportScenario,
  clients: number,
): Promise<{ run: ImportRun; problems: string[] }> {
  const sessions = recordedSessions(options);
  return withBenchDatabase(options.adminUrl, async (db) => {
    const pool = createPool({
      connectionString: db.url,
      max: clients,
      applicationName: 'agate-bench',
    });
    try {
      const tenant = await createTenant(pool, { name: 'import bench', actor: 'bench' });
      // Connections open before the clock starts.
      const warm = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
      for (const c of warm) c.release();
      const run = await runScenario(scenario, pool, tenant.id, sessions, clients);
      if (scenario === 'import-prepare') return { run, problems: [] };
      const events = sessions.length * options.eventsPerSession;
      const problems = await checkStored(pool, { sessions: sessions.length, events });
      if (scenario === 'agate-import' || scenario === 'import-write') {
        problems.push(...(await verifySample(pool, tenant.id, sessions)));
      }
      return { run, problems: problems.map((p) => `${scenario} x${clients}: ${p}`) };
    } finally {
      await pool.end();
    }
  });
}

export async function measureImport(
  options: ImportOptions,
  log: (line: string) => void,
): Promise<Measured> {
  const runs = new Map<string, ImportRun[]>();
  const problems: string[] = [];
  for (let rep = 1; rep <= options.repeats; rep += 1) {
    for (const clients of options.clientCounts) {
      // Preparation uses no connection: once per run is enough.
      const ids = importScenarios
        .map((s) => s.id)
        .filter((id) => id !== 'import-prepare' || clients === options.clientCounts[0]);
      for (const id of ids) {
        const once = await runOnce(options, id, clients);
        problems.push(...once.problems);
        const r = once.run;
        log(
          `  ${id} x${clients} run ${rep}: ${Math.round(r.eventsPerSec)} events/s, ${r.sessions} sessions in ${Math.round(r.elapsedMs)} ms${once.problems.length === 0 ? ', checks: ok' : ''}`,
        );
        const key = `${id}/${clients}`;
        runs.set(key, [...(runs.get(key) ?? []), r]);
      }
    }
  }
  const rows = importScenarios.flatMap(({ id, label }) =>
    (id === 'import-prepare' ? options.clientCounts.slice(0, 1) : options.clientCounts).map(
      (clients): ImportRow => {
        const measured = runs.get(`${id}/${clients}`) ?? [];
        return {
          scenario: id,
          label,
          clients,
          eventsPerSec: median(measured.map((r) => r.eventsPerSec)),
          p50Ms: median(measured.map((r) => r.p50Ms)),
          p99Ms: median(measured.map((r) => r.p99Ms)),
          ratioToCopy: null,
          ratioToBinaryCopy: null,
          runs: measured,
        };
      },
    ),
  );
  const rate = (scenario: ImportScenario, clients: number) =>
    rows.find((b) => b.scenario === scenario && b.clients === clients)?.eventsPerSec;
  return {
    rows: rows.map((r) => {
      if (r.scenario !== 'agate-import' && r.scenario !== 'import-write') return r;
      const text = rate('raw-copy', r.clients);
      const binary = rate('raw-copy-binary', r.clients);
      return {
        ...r,
        ratioToCopy: text === undefined ? null : r.eventsPerSec / text,
        ratioToBinaryCopy: binary === undefined ? null : r.eventsPerSec / binary,
      };
    }),
    problems,
  };
}

export function formatImportTable(rows: readonly ImportRow[]): string {
  return renderTable(
    ['import', 'clients', 'events/s', 'p50 ms', 'p99 ms', ''],
    rows.map((r) => [
      r.label,
      String(r.clients),
      whole(r.eventsPerSec),
      fixed(r.p50Ms, 2),
      fixed(r.p99Ms, 2),
      r.ratioToCopy === null
        ? ''
        : `agate/COPY ${fixed(r.ratioToCopy, 2)}, /BINARY ${fixed(r.ratioToBinaryCopy ?? Number.NaN, 2)}`,
    ]),
  );
}
