// The append rate of the writers (32; quick: 8) with consumers running beside them and without:
// each variant on a fresh database, the same writers, the same bot sessions.
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import type { Agate } from '../../src/runtime/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { withBenchDatabase } from './bench-database.js';
import { runFeedWriters } from './feed-writers.js';
import type { WriterRun } from './feed-writers.js';
import type { LatencyResult } from './feed-latency.js';
import type { FeedScenario } from './feed-report.js';
import { startNotifyLockSampler } from './notify-lock-sampler.js';
import type { NotifyLockSamples } from './notify-lock-sampler.js';
import { measure } from './report.js';
import type { Measurement } from './report.js';

export type BesideStopped = {
  /** From the writers' end until the consumers had handled everything. */
  catchUpMs: number;
  problems: string[];
  latency: LatencyResult | null;
};

/** What runs beside the writers, built on the variant's own database. */
export type Beside = {
  agate: Agate;
  /** Told of each acknowledged event (the latency recorder). */
  onAck?: (key: string, at: number) => void;
  /** Called when the writers stopped: waits for the consumers to catch up, then stops them. */
  stop(): Promise<BesideStopped>;
};

export type AppendVariant = {
  scenario: FeedScenario;
  label: string;
  start(ctx: { pool: Pool; url: string; tenantId: string }): Promise<Beside>;
};

export type AppendRun = Measurement & {
  scenario: FeedScenario;
  acked: number;
  /** The first few refusals' messages. */
  failureSamples: string[];
  /** After the writers stopped, until the consumers had delivered everything. */
  catchUpMs: number;
  latency: LatencyResult | null;
  notifyLock: NotifyLockSamples;
  problems: string[];
};

const sampleEveryMs = 20;

async function storedEvents(pool: Pool): Promise<number> {
  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM game.events');
  return r.rows[0]?.n ?? -1;
}

/**
 * Every acknowledged event is stored and nothing else is. A refused append (the server out of
 * connections on a shared machine, say) is not acknowledged: it counts in the row's "failed", as
 * in the append part, and stores nothing, which this check would catch if it did.
 */
function checkRun(variant: AppendVariant, run: WriterRun, stored: number): string[] {
  if (stored === run.acked) return [];
  return [`${variant.scenario}: ${stored} events stored, ${run.acked} acknowledged`];
}

export async function runAppendVariant(
  adminUrl: string,
  variant: AppendVariant,
  writers: { writers: number; durationMs: number; sessionEvents: number },
): Promise<AppendRun> {
  return withBenchDatabase(adminUrl, async (db) => {
    const pool = createPool({
      connectionString: db.url,
      max: writers.writers + 8,
      applicationName: 'agate-bench',
    });
    try {
      const tenant = await createTenant(pool, { name: `feed ${variant.scenario}`, actor: 'bench' });
      const beside = await variant.start({ pool, url: db.url, tenantId: tenant.id });
      const sampler = await startNotifyLockSampler(db.url, sampleEveryMs);
      let run: WriterRun;
      try {
        run = await runFeedWriters(beside.agate, tenant.id, {
          ...writers,
          seedPrefix: `feed-append-${variant.scenario}`,
          onAck: beside.onAck,
        });
      } catch (error) {
        await sampler.stop().catch(() => undefined);
        await beside.stop().catch(() => undefined);
        throw error;
      }
      const notifyLock = await sampler.stop();
      const stopped = await beside.stop();
      const problems = [...checkRun(variant, run, await storedEvents(pool)), ...stopped.problems];
      return {
        ...measure(run.stats, 1),
        scenario: variant.scenario,
        acked: run.acked,
        failureSamples: run.stats.failureSamples,
        catchUpMs: stopped.catchUpMs,
        latency: stopped.latency,
        notifyLock,
        problems,
      };
    } finally {
      await pool.end();
    }
  });
}
