import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A key prefix no other run uses (BullMQ prefixes allow letters, digits, _ . - { }). */
export function uniqueRedisPrefix(name: string): string {
  return `agate-bench-${name}-${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes every key that starts with `prefix` (SCAN, not KEYS), and returns how many there were.
 * With a run's unique prefix, this is the bench's own keys and nobody else's.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  if (!/^agate-bench-[\w.-]+$/.test(prefix)) throw new Error(`refusing to delete ${prefix}*`);
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** Deletes a bench tenant's hot state and leaderboard keys (`agate:hot:<tenant>:*`, `agate:lb*:<tenant>:*`). */
export async function deleteTenantKeys(redis: Redis, tenantId: string): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
  const id = tenantId.toLowerCase();
  for (const pattern of [
    `agate:hot:${id}:*`,
    `agate:lb:${id}:*`,
    `agate:lb-built:${id}:*`,
    `agate:lb-build:${id}:*`,
  ]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
}
