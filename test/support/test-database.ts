import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createPool } from '../../src/db/index.js';
import type { Pool } from '../../src/db/index.js';
import { urlFor, withAdmin } from './pg-admin.js';

export type TestDatabase = { name: string; url: string; pool: Pool; drop(): Promise<void> };

/** A fresh database cloned from the migrated template, with a pool on it. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const name = `agate_t_${randomBytes(6).toString('hex')}`;
  const template = inject('templateDatabase');
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = urlFor(name);
  const pool = createPool({ connectionString: url, max: options.max ?? 8 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** An empty database, for tests of the migrator itself. */
export async function createEmptyDatabase(): Promise<{
  name: string;
  url: string;
  drop(): Promise<void>;
}> {
  const name = `agate_e_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: urlFor(name),
    drop: () =>
      withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
