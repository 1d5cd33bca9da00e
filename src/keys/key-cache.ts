import { connectClient } from '../db/index.js';
import type { EmbeddedPool, Pool } from '../db/index.js';
import type { KeyPrincipal } from './key-roles.js';

/**
 * The PostgreSQL channel a revocation, a rotation or a key's limit change is announced on (the
 * payload is the key id), and a tenant's limit change (the payload is `tenant:` and its id).
 */
export const keysChannel = 'agate_keys';

/** The payload announcing that every key of a tenant must be looked up again. */
export function tenantPayload(tenantId: string): string {
  return `tenant:${tenantId}`;
}

/** How long a cached lookup is trusted at most (ms) when AGATE_KEY_CACHE_MS is not set. */
export const defaultKeyCacheMs = 10_000;

/**
 * Positive key lookups kept in process (misses never are: a new key works at once), each with
 * the rate limit found with it. An entry goes when its key is revoked or rotated or its limit or
 * its tenant's limit changes (at once in this process; through `LISTEN agate_keys` from other
 * processes) and in any case `ttlMs` after it was looked up, the bound for a lost notification
 * or a pooler with no session to listen on.
 */
export type KeyCache = {
  /** The cached principal of a key hash (hex), if still fresh. */
  get(hash: string): KeyPrincipal | undefined;
  /**
   * Caches a lookup that started at invalidation count `since` (from `generation()`): dropped
   * when a key was invalidated meanwhile, since the answer may predate that revocation.
   */
  set(hash: string, principal: KeyPrincipal, since: number): void;
  /** The count of invalidations so far. */
  generation(): number;
  /** Drops a key id's entries. */
  drop(keyId: string): void;
  /** Drops the entries of every key of a tenant. */
  dropTenant(tenantId: string): void;
  /** Resolves once cross-process listening is active (at once when it is off). */
  ready(): Promise<void>;
  close(): Promise<void>;
};

export type KeyCacheOptions = {
  /** Whose database is listened to (PGlite), and whose connection string (PostgreSQL). */
  pool: Pool;
  /** Longest time an entry is trusted, in ms (default 10,000). */
  ttlMs?: number;
  /** Listen to other processes' revocations (default true). */
  listen?: boolean;
  /** The dedicated LISTEN connection's URL (default: the pool's). */
  connectionString?: string;
  /** Told of a lost LISTEN connection; nothing else happens (entries expire anyway). */
  onError?: (error: unknown) => void;
  /** The clock in ms (default `performance.now`); tests pass their own. */
  now?: () => number;
};

type Entry = { principal: KeyPrincipal; expiresAt: number };

/** Every cache of this process, so a revocation here drops its key from each one at once. */
const processCaches = new Set<KeyCache>();

/** Drops a revoked, rotated or re-limited key from every cache of this process (after commit). */
export function dropCachedKey(keyId: string): void {
  for (const cache of processCaches) cache.drop(keyId);
}

/** Drops every key of a re-limited tenant from every cache of this process (after the commit). */
export function dropCachedTenant(tenantId: string): void {
  for (const cache of processCaches) cache.dropTenant(tenantId);
}

function isEmbedded(pool: Pool): pool is EmbeddedPool {
  return 'pglite' in pool;
}

export function createKeyCache(options: KeyCacheOptions): KeyCache {
  const ttlMs = options.ttlMs ?? defaultKeyCacheMs;
  const now = options.now ?? (() => performance.now());
  const onError = options.onError ?? (() => undefined);
  const entries = new Map<string, Entry>();
  const hashesOf = new Map<string, string>();
  let invalidations = 0;
  let closed = false;
  let stop: (() => Promise<void>) | undefined;

  const clear = () => {
    invalidations += 1;
    entries.clear();
    hashesOf.clear();
  };
  const drop = (keyId: string) => {
    invalidations += 1;
    const hash = hashesOf.get(keyId);
    if (hash === undefined) return;
    hashesOf.delete(keyId);
    entries.delete(hash);
  };
  const dropTenant = (tenantId: string) => {
    invalidations += 1;
    for (const [hash, { principal }] of entries) {
      if (!('tenantId' in principal) || principal.tenantId !== tenantId) continue;
      entries.delete(hash);
      hashesOf.delete(principal.id);
    }
  };
  const heard = (payload: string) => {
    const prefix = tenantPayload('');
    if (payload.startsWith(prefix)) dropTenant(payload.slice(prefix.length));
    else drop(payload);
  };

  const listen = async (): Promise<void> => {
    if (isEmbedded(options.pool)) {
      stop = await options.pool.pglite.listen(keysChannel, heard);
      return;
    }
    const connectionString = options.connectionString ?? options.pool.options.connectionString;
    if (connectionString === undefined) return;
    const connect = async (): Promise<void> => {
      const client = await connectClient({ connectionString, applicationName: 'agate-key-cache' });
      client.on('notification', (message) => {
        if (message.payload !== undefined) heard(message.payload);
      });
      client.on('end', () => {
        if (closed) return;
        onError(new Error('The key cache LISTEN connection ended; reconnecting.'));
        // Revocations during the outage were not heard.
        clear();
        setTimeout(() => void connect().catch(onError), 1_000).unref();
      });
      await client.query(`LISTEN ${keysChannel}`);
      clear();
      stop = () => client.end();
    };
    await connect();
  };
  const started = ttlMs > 0 && options.listen !== false ? listen() : Promise.resolve();
  started.catch(onError);

  const cache: KeyCache = {
    get(hash) {
      const entry = entries.get(hash);
      if (entry === undefined) return undefined;
      if (now() < entry.expiresAt) return entry.principal;
      entries.delete(hash);
      hashesOf.delete(entry.principal.id);
      return undefined;
    },
    set(hash, principal, since) {
      if (closed || ttlMs <= 0 || since !== invalidations) return;
      entries.set(hash, { principal, expiresAt: now() + ttlMs });
      hashesOf.set(principal.id, hash);
    },
    generation: () => invalidations,
    drop,
    dropTenant,
    ready: () => started.catch(() => undefined),
    async close() {
      closed = true;
      processCaches.delete(cache);
      await started.catch(() => undefined);
      await stop?.().catch(() => undefined);
      clear();
    },
  };
  processCaches.add(cache);
  return cache;
}
