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
 * Waits until the tenant has `expected` snapshots: at once when the appends wrote them inline,
 * a moment when the snapshot queue's workers write them. Returns the count when it got there or
 * when `timeoutMs` ran out.
 */
export async function awaitSnapshots(
  agate: Agate,
  tenantId: string,
  expected: number,
  timeoutMs: number,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let count = await countSnapshots(agate, tenantId);
  while (count < expected && Date.now() < deadline) {
    onProgress?.(count, expected);
    await new Promise((resolve) => setTimeout(resolve, 200));
    count = await countSnapshots(agate, tenantId);
  }
  onProgress?.(Math.min(count, expected), expected);
  return count;
}

/**
 * A snapshot worker in this process for the demo's queued snapshots, so the demo needs no
 * `agate worker` running. Its connection errors are not reported: when Redis fails, the
 * producer writes the snapshots inline instead.
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
