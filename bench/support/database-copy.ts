import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../../src/db/index.js';
import { databaseUrl } from './bench-database.js';
import type { BenchDatabase } from './bench-database.js';

/** PostgreSQL's "source database is being accessed by other users". */
const objectInUse = '55006';

async function onAdmin(adminUrl: string, sql: string): Promise<void> {
  const admin = createClient({ connectionString: adminUrl, applicationName: 'agate-bench' });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/** CREATE DATABASE ... TEMPLATE, retried for a few seconds while the template's last backends exit. */
async function createCopy(adminUrl: string, name: string, template: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await onAdmin(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
      return;
    } catch (error) {
      if (codeOf(error) !== objectInUse || attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

/**
 * Runs `work` on a fresh copy of `template` (a bench database nobody is connected to) and drops
 * the copy (WITH (FORCE)) afterwards, whether `work` succeeded or not. `work` must close its pools.
 */
export async function withDatabaseCopy<T>(
  adminUrl: string,
  template: string,
  work: (db: BenchDatabase) => Promise<T>,
): Promise<T> {
  const name = `agate_bench_${randomBytes(6).toString('hex')}`;
  await createCopy(adminUrl, name, template);
  try {
    return await work({ name, url: databaseUrl(adminUrl, name) });
  } finally {
    await onAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
