// Whether appends serialise on NOTIFY. A transaction that issued NOTIFY takes one database-wide
// lock at commit (PreCommit_Notify: LockSharedObject(pg_database, 0), seen in pg_locks as an
// 'object' lock with classid pg_database and objid 0), so every notifying commit waits for the
// one before. The sampler looks at that lock while the writers run and counts the samples in
// which a backend of this database held or waited for it, and those in which that backend's
// transaction had written to game.events (an append's transaction, as the contrast row's are).
import { createClient } from '../../src/db/index.js';

export type NotifyLockSamples = {
  samples: number;
  /** Samples in which a backend of this database held or waited for the NOTIFY lock. */
  anyHolder: number;
  /** Samples in which such a backend's transaction had also written to game.events. */
  appendHolder: number;
};

export type NotifyLockSampler = { stop(): Promise<NotifyLockSamples> };

const sampleSql = `
  SELECT count(*)::int AS holders,
         count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM pg_locks w
            WHERE w.pid = l.pid AND w.locktype = 'relation' AND w.mode = 'RowExclusiveLock'
              AND w.database = a.datid AND w.relation = 'game.events'::regclass))::int AS appends
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid AND a.datname = current_database()
   WHERE l.locktype = 'object' AND l.classid = 'pg_database'::regclass AND l.objid = 0`;

/** Samples every `everyMs` on a connection of its own (as the owner), until stopped. */
export async function startNotifyLockSampler(
  url: string,
  everyMs: number,
): Promise<NotifyLockSampler> {
  const client = createClient({ connectionString: url, applicationName: 'agate-bench-sampler' });
  await client.connect();
  const counts: NotifyLockSamples = { samples: 0, anyHolder: 0, appendHolder: 0 };
  let running = true;
  async function loop(): Promise<void> {
    while (running) {
      const r = await client.query<{ holders: number; appends: number }>(sampleSql);
      counts.samples += 1;
      if ((r.rows[0]?.holders ?? 0) > 0) counts.anyHolder += 1;
      if ((r.rows[0]?.appends ?? 0) > 0) counts.appendHolder += 1;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
  const looping = loop();
  return {
    async stop() {
      running = false;
      try {
        await looping;
      } finally {
        await client.end();
      }
      return counts;
    },
  };
}
