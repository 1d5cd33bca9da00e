// Consumers outside agate, as a studio's services would run them: each with a pool of its own,
// at-least-once, woken by the agate in this process (so the wake-up is the in-process one).
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import type { FeedEvent } from '../../src/events/index.js';
import { startConsumer } from '../../src/feed/index.js';
import type { ConsumerHandle, FeedWake } from '../../src/feed/index.js';

export type ExternalConsumers = {
  handles: ConsumerHandle[];
  /** Resolves when every one has handled everything committed before the call. */
  idle(): Promise<void>;
  stop(): Promise<{ errors: string[] }>;
};

export type ExternalOptions = {
  url: string;
  tenantId: string;
  names: readonly string[];
  wake?: FeedWake;
  batchSize?: number;
  /** The handler of the first consumer (the others do nothing). */
  first?: (events: readonly FeedEvent[]) => Promise<void>;
};

const noop = (): Promise<void> => Promise.resolve();

export async function startExternalConsumers(options: ExternalOptions): Promise<ExternalConsumers> {
  const pools: Pool[] = [];
  const handles: ConsumerHandle[] = [];
  const errors: string[] = [];
  try {
    for (const [i, name] of options.names.entries()) {
      const pool = createPool({ connectionString: options.url, max: 2, applicationName: name });
      pools.push(pool);
      handles.push(
        await startConsumer(pool, {
          tenantId: options.tenantId,
          definition: {
            name,
            types: null,
            mode: 'at-least-once',
            handle: (i === 0 ? options.first : undefined) ?? noop,
          },
          wake: options.wake,
          batchSize: options.batchSize,
          onError: (error) => {
            if (errors.length < 5) errors.push(`${name}: ${String(error)}`);
          },
        }),
      );
    }
  } catch (error) {
    await Promise.allSettled(handles.map((h) => h.stop()));
    await Promise.allSettled(pools.map((p) => p.end()));
    throw error;
  }
  return {
    handles,
    idle: async () => {
      await Promise.all(handles.map((h) => h.idle()));
    },
    async stop() {
      await Promise.all(handles.map((h) => h.stop()));
      await Promise.all(pools.map((p) => p.end()));
      return { errors };
    },
  };
}
