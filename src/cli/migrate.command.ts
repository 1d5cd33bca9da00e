import { connectClient, migrate } from '../db/index.js';
import type { MigrationReport } from '../db/index.js';
import { requireDatabaseUrl } from './database-url.js';

export async function runMigrate(env: NodeJS.ProcessEnv): Promise<MigrationReport> {
  const client = await connectClient({
    connectionString: requireDatabaseUrl(env),
    statementTimeoutMs: 0,
  });
  try {
    return await migrate(client);
  } finally {
    await client.end();
  }
}

export function describeMigration(report: MigrationReport): string {
  if (report.applied.length === 0) {
    return `Schema is up to date (${report.alreadyApplied} migrations already applied).`;
  }
  return `Applied ${report.applied.length} migration(s): ${report.applied.join(', ')}.`;
}
