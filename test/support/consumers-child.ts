// agate's own feed consumers in a process of their own, for the tests that SIGKILL one. Prints
// "ready" once started and stops on SIGTERM.
//   DATABASE_URL, REDIS_URL, AGATE_REDIS_PREFIX   where the log and the cache are
//   AGATE_MEMBER                                  its member name in the consumers' groups
//   AGATE_LEASE_MS                                its leases (default 2000)
import { createCacheHealth, createRedis } from '../../src/cache/index.js';
import { createPool } from '../../src/db/index.js';
import { startAgateConsumers } from '../../src/runtime/index.js';
import { tinyGames } from './tiny-rules.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`consumers-child: set ${name}`);
  return value;
}

const pool = createPool({ connectionString: required('DATABASE_URL'), max: 6 });
const health = createCacheHealth();
const client = createRedis(required('REDIS_URL'), {
  keyPrefix: required('AGATE_REDIS_PREFIX'),
  health,
});
const running = startAgateConsumers(
  { pool, games: tinyGames },
  {
    redis: { client, health },
    member: required('AGATE_MEMBER'),
    leaseMs: Number(process.env.AGATE_LEASE_MS ?? '2000'),
    pollMs: 50,
    tenantPollMs: 200,
    onError: (error) => process.stderr.write(`consumer error: ${String(error)}\n`),
  },
);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
await running.stop();
client.disconnect();
await pool.end();
