/**
 * What the cache did since the process started: a plain object the cache functions update and
 * the metrics endpoint reads. `errors` counts failed cache operations (the caller got an answer
 * anyway); `connectionErrors` counts the client's own connection errors while it reconnects.
 */
export type CacheHealth = {
  hits: number;
  misses: number;
  errors: number;
  connectionErrors: number;
  lastError: string | null;
};

export function createCacheHealth(): CacheHealth {
  return { hits: 0, misses: 0, errors: 0, connectionErrors: 0, lastError: null };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function recordError(health: CacheHealth, error: unknown): void {
  health.errors += 1;
  health.lastError = messageOf(error);
}
