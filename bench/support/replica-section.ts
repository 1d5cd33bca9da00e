// Replays from a streaming replica against the primary (issue 19, ADR 0033): 32 writers append
// archive-gate events to the primary, alone, then beside analysts replaying long sessions on the
// primary, then beside the same analysts on the replica. The servers are this bench's own (a
// primary and a `pg_basebackup -R` replica, as the tests start them), on this machine's cores.
import { connectClient, createPool, migrate } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { defaultGames } from '../../src/game/index.js';
import { createAgate } from '../../src/runtime/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { startPostgres, startReplica } from '../../test/support/pg-servers.js';
import { libraryTransport } from './append-section.js';
import { gateTraffic, sessionEvents } from './gate-traffic.js';
import { median } from './report.js';
import { runWorkers } from './run-workers.js';

export type ReplicaOptions = {
  writers: number;
  analysts: number;
  durationMs: number;
  /** Sessions of `sessionEvents` events the analysts replay from genesis. */
  sessions: number;
};

/** 32 writers and 4 analysts for 20 s per phase; `--quick` is the test suite's smoke size. */
export function replicaOptions(args: { quick: boolean }): ReplicaOptions {
  return args.quick
    ? { writers: 8, analysts: 2, durationMs: 2_000, sessions: 16 }
    : { writers: 32, analysts: 4, durationMs: 20_000, sessions: 200 };
}

export type ReplicaRow = {
  phase: string;
  appendsPerSec: number;
  replaysPerSec: number | null;
  replayP50Ms: number | null;
  /** Appends/s over the writers-alone phase of the same run. */
  appendRatio: number;
};

type Setup = { primary: Agate; replica: Agate; tenantId: string; sessionIds: string[] };

async function fill(agate: Agate, tenantId: string, sessions: number): Promise<string[]> {
  const traffic = gateTraffic(libraryTransport(agate, tenantId), {
    clients: 8,
    lanes: 1,
    batch: 50,
    seedPrefix: 'replica-fill',
    stripSeeds: false,
  });
  await traffic.prepare();
  const calls = Math.ceil((sessions * sessionEvents) / 50 / 8);
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < calls; i += 1) await traffic.call(w, i);
    }),
  );
  return [...traffic.ledger].filter(([, e]) => e.last === sessionEvents).map(([id]) => id);
}

async function phase(
  setup: Setup,
  options: ReplicaOptions,
  name: string,
  readers: Agate | null,
): Promise<Omit<ReplicaRow, 'appendRatio'>> {
  const traffic = gateTraffic(libraryTransport(setup.primary, setup.tenantId), {
    clients: options.writers,
    lanes: 1,
    batch: 1,
    seedPrefix: `replica-${name}`,
    stripSeeds: false,
  });
  await traffic.prepare();
  const ids = setup.sessionIds;
  const replays =
    readers === null
      ? null
      : runWorkers(options.analysts, options.durationMs, async (w, i) => {
          const sessionId = ids[(w * 7919 + i * 31) % ids.length] as string;
          const result = await readers.replay({
            tenantId: setup.tenantId,
            sessionId,
            role: 'agate_analyst',
            from: 'genesis',
          });
          return result.sequence === sessionEvents
            ? { ok: true }
            : { ok: false, error: `${sessionId} replayed to ${result.sequence}` };
        });
  const [writes, reads] = await Promise.all([
    runWorkers(options.writers, options.durationMs, traffic.call),
    replays,
  ]);
  return {
    phase: name,
    appendsPerSec: (traffic.acked() * 1000) / writes.elapsedMs,
    replaysPerSec: reads === null ? null : (reads.okCalls * 1000) / reads.elapsedMs,
    replayP50Ms: reads === null ? null : median(reads.latenciesMs),
  };
}

/** Runs the three phases on servers of its own and checks the replica replays as the primary. */
export async function measureReplicaReads(
  options: ReplicaOptions,
  log: (line: string) => void,
): Promise<{ rows: ReplicaRow[]; problems: string[] }> {
  const server = await startPostgres({ name: 'bench-primary' });
  const pools: Pool[] = [];
  try {
    await server.createDatabase('agate');
    const client = await connectClient({ connectionString: server.url('agate') });
    await migrate(client).finally(() => client.end());
    const replicaServer = await startReplica(server);
    try {
      const max = options.writers + options.analysts + 4;
      const primaryPool = createPool({ connectionString: server.url('agate'), max });
      const replicaPool = createPool({ connectionString: replicaServer.url('agate'), max });
      pools.push(primaryPool, replicaPool);
      const primary = createAgate({ pool: primaryPool, games: defaultGames, consumers: false });
      const replica = createAgate({ pool: replicaPool, games: defaultGames, consumers: false });
      const tenantId = (await createTenant(primaryPool, { name: 'replica bench', actor: 'bench' }))
        .id;
      const sessionIds = await fill(primary, tenantId, options.sessions);
      await replicaServer.caughtUp(120_000);
      log(`  filled ${sessionIds.length} sessions of ${sessionEvents} events; replica caught up`);
      const setup = { primary, replica, tenantId, sessionIds };
      const measured = [];
      for (const [name, readers] of [
        ['writers alone', null],
        ['writers + replays on the primary', primary],
        ['writers + replays on the replica', replica],
      ] as const) {
        const row = await phase(setup, options, name, readers);
        log(
          `  ${name}: ${Math.round(row.appendsPerSec)} appends/s, ${row.replaysPerSec === null ? '-' : `${row.replaysPerSec.toFixed(1)} replays/s`}`,
        );
        measured.push(row);
      }
      const alone = measured[0]?.appendsPerSec ?? Number.NaN;
      const rows = measured.map((r) => ({ ...r, appendRatio: r.appendsPerSec / alone }));
      const problems: string[] = [];
      const probe = sessionIds[0];
      if (probe !== undefined) {
        await replicaServer.caughtUp(120_000);
        const ref = { tenantId, sessionId: probe, role: 'agate_analyst' as const };
        const [a, b] = await Promise.all([primary.replay(ref), replica.replay(ref)]);
        if (a.stateHash !== b.stateHash)
          problems.push(`${probe}: the replica replays to another state`);
      }
      await Promise.all([primary.close(), replica.close()]);
      return { rows, problems };
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await replicaServer.stop();
    }
  } finally {
    await server.stop();
  }
}
