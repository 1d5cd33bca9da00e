import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createClient, migrate } from '../../src/db/index.js';
import { urlFor, withAdmin } from './pg-admin.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Migrates one template database per run; each integration file clones it (CREATE DATABASE ...
 * TEMPLATE), so files never share state and never pay for migrations again.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `agate_tmpl_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${template}`));
  const client = createClient({ connectionString: urlFor(template) });
  await client.connect();
  try {
    await migrate(client);
  } finally {
    await client.end();
  }
  project.provide('templateDatabase', template);
  return async () => {
    await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
  };
}
