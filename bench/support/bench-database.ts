import { randomBytes } from 'node:crypto';
import { createClient, migrate } from '../../src/db/index.js';

export type BenchDatabase = { name: string; url: string };

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onAdmin(adminUrl: string, sql: string): Promise<void> {
  const admin = createClient({ connectionString: adminUrl, applicationName: 'agate-bench' });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** PostgreSQL's `version()` string, for the results file. */
export async function serverVersion(adminUrl: string): Promise<string> {
  const admin = createClient({ connectionString: adminUrl, applicationName: 'agate-bench' });
  await admin.connect();
  try {
    const result = await admin.query<{ version: string }>('SELECT version() AS version');
    return result.rows[0]?.version ?? 'unknown';
  } finally {
    await admin.end();
  }
}

/**
 * Creates a fresh, migrated database, runs `work` on it and drops it (WITH (FORCE)) afterwards,
 * whether `work` succeeded or not. `work` must close its own pools.
 */
export async function withBenchDatabase<T>(
  adminUrl: string,
  work: (db: BenchDatabase) => Promise<T>,
): Promise<T> {
  const name = `agate_bench_${randomBytes(6).toString('hex')}`;
  await onAdmin(adminUrl, `CREATE DATABASE ${name}`);
  try {
    const url = databaseUrl(adminUrl, name);
    const client = createClient({ connectionString: url, applicationName: 'agate-bench-migrate' });
    await client.connect();
    try {
      await migrate(client);
    } finally {
      await client.end();
    }
    return await work({ name, url });
  } finally {
    await onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
