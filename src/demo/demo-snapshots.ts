import { withTenant } from '../db/index.js';
import { countSnapshots as countTenantSnapshots } from '../events/index.js';
import { startSnapshotWorker } from '../jobs/queue/index.js';
import type { SnapshotProducer, SnapshotWorker } from '../jobs/queue/index.js';
import type { Agate } from '../runtime/index.js';

/** How the demo reaches Redis: the shape `openAgate` gives when REDIS_URL is set. */
export type DemoQueue = { url: string; prefix: string; producer: SnapshotProducer };

/** The tenant's stored snapshots, counted under row-level security. */
export async function countSnapshots(agate: Agate, tenantId: string): Promise<number> {
  return withTenant(agate.pool, { tenantId }, (tx) => countTenantSnapshots(tx));
}

/**
 * Waits for agate's own consumers (in this process) to derive everything the demo appended,
 * then counts the tenant's snapshots: the appends return at commit, the snapshots follow from
 * the feed.
 */
export async function awaitSnapshots(
  agate: Agate,
  tenantId: string,
  expected: number,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  onProgress?.(Math.min(await countSnapshots(agate, tenantId), expected), expected);
  await agate.idle();
  const count = await countSnapshots(agate, tenantId);
  onProgress?.(Math.min(count, expected), expected);
  return count;
}

/**
 * A snapshot worker in this process for the nightly's queued day-boundary snapshots, so the
 * demo needs no `agate worker` running. Its connection errors are not reported: when Redis
 * fails, the nightly writes the snapshots inline instead.
 */
export function startDemoWorker(agate: Agate, queue: DemoQueue): SnapshotWorker {
  return startSnapshotWorker({
    url: queue.url,
    prefix: queue.prefix,
    deps: { pool: agate.pool, games: agate.games },
    concurrency: 2,
    onError: () => undefined,
  });
}
