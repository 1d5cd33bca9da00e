import { connectClient } from '../db/index.js';
import type { EmbeddedPool, Pool } from '../db/index.js';
import type { AfterAppend } from '../events/index.js';

/** The PostgreSQL channel appends are announced on; the payload is the tenant id. */
export const feedChannel = 'agate_feed';

/**
 * Wake-ups for consumers that caught up: in-process listeners, plus `LISTEN agate_feed` on a
 * dedicated connection for appends made by other processes. A wake-up only says "look again":
 * losing one costs a poll interval, never an event.
 */
export type FeedWake = {
  /** Calls `listener` when the tenant's feed may have new events; returns the unsubscribe. */
  subscribe(tenantId: string, listener: () => void): () => void;
  /**
   * Announces an append's commit (call it after the commit, never inside the transaction: a
   * NOTIFY there takes a database-wide lock at commit). Wakes this process's listeners at once
   * and sends at most one `pg_notify` per tenant per `coalesceMs`; fire and forget.
   */
  notifyAppended(tenantId: string): void;
  /** Resolves once cross-process listening is active (at once when it is off). */
  ready(): Promise<void>;
  close(): Promise<void>;
};

export type FeedWakeOptions = {
  /** Where `pg_notify` is sent, and (PGlite) whose database is listened to. */
  pool: Pool;
  /** Listen to other processes' appends (default true). */
  listen?: boolean;
  /** The dedicated LISTEN connection's URL (default: the pool's). */
  connectionString?: string;
  /** The window in which one tenant's notifications are merged into one (default 5 ms). */
  coalesceMs?: number;
  /** Told of a lost LISTEN connection or a failed notify; nothing else happens. */
  onError?: (error: unknown) => void;
};

function isEmbedded(pool: Pool): pool is EmbeddedPool {
  return 'pglite' in pool;
}

type Listening = { stop: () => Promise<void> };

/** In-process and cross-process wake-ups of the feed's consumers. */
export function createFeedWake(options: FeedWakeOptions): FeedWake {
  const listeners = new Map<string, Set<() => void>>();
  const windows = new Map<string, { again: boolean }>();
  const coalesceMs = options.coalesceMs ?? 5;
  const onError = options.onError ?? (() => undefined);
  let closed = false;
  let listening: Listening | undefined;

  const wakeLocal = (tenantId: string) => {
    for (const listener of listeners.get(tenantId) ?? []) listener();
  };
  const send = (tenantId: string) => {
    options.pool.query('SELECT pg_notify($1, $2)', [feedChannel, tenantId]).catch(onError);
  };
  const openWindow = (tenantId: string) => {
    const window = { again: false };
    windows.set(tenantId, window);
    setTimeout(() => {
      windows.delete(tenantId);
      if (window.again && !closed) {
        send(tenantId);
        openWindow(tenantId);
      }
    }, coalesceMs).unref();
  };

  const listen = async (): Promise<void> => {
    if (isEmbedded(options.pool)) {
      const unlisten = await options.pool.pglite.listen(feedChannel, wakeLocal);
      listening = { stop: unlisten };
      return;
    }
    const connectionString = options.connectionString ?? options.pool.options.connectionString;
    if (connectionString === undefined) return;
    const connect = async (): Promise<void> => {
      const client = await connectClient({ connectionString, applicationName: 'agate-feed-wake' });
      client.on('notification', (message) => {
        if (message.payload !== undefined) wakeLocal(message.payload);
      });
      client.on('end', () => {
        if (closed) return;
        onError(new Error('The feed wake-up connection ended; reconnecting.'));
        // Everyone looks again: appends during the outage were not heard.
        for (const tenantId of listeners.keys()) wakeLocal(tenantId);
        setTimeout(() => void connect().catch(onError), 1_000).unref();
      });
      await client.query(`LISTEN ${feedChannel}`);
      listening = { stop: () => client.end() };
    };
    await connect();
  };
  const started = options.listen === false ? Promise.resolve() : listen();
  started.catch(onError);

  return {
    subscribe(tenantId, listener) {
      const set = listeners.get(tenantId) ?? new Set();
      set.add(listener);
      listeners.set(tenantId, set);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(tenantId);
      };
    },
    notifyAppended(tenantId) {
      if (closed) return;
      wakeLocal(tenantId);
      const window = windows.get(tenantId);
      if (window !== undefined) {
        window.again = true;
        return;
      }
      send(tenantId);
      openWindow(tenantId);
    },
    ready: () => started.catch(() => undefined),
    async close() {
      closed = true;
      await started.catch(() => undefined);
      await listening?.stop().catch(() => undefined);
      listeners.clear();
    },
  };
}

/** The store's after-append hook that announces every committed append to the feed's consumers. */
export function feedWakeHook(wake: FeedWake): AfterAppend {
  return (batch) => {
    wake.notifyAppended(batch.tenantId);
    return Promise.resolve();
  };
}
