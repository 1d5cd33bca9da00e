import { connectClient, migrate } from '../db/index.js';
import type { MigrationReport } from '../db/index.js';
import { openDatabase } from './open-database.js';

/** Migrates DATABASE_URL, or the embedded database (which is also migrated whenever it opens). */
export async function runMigrate(env: NodeJS.ProcessEnv): Promise<MigrationReport> {
  const target = await openDatabase(env);
  try {
    const client = await connectClient({ connectionString: target.url, statementTimeoutMs: 0 });
    try {
      return await migrate(client);
    } finally {
      await client.end();
    }
  } finally {
    await target.close();
  }
}

export function describeMigration(report: MigrationReport): string {
  const parts: string[] = [];
  if (report.applied.length > 0) {
    parts.push(`Applied ${report.applied.length} migration(s): ${report.applied.join(', ')}.`);
  }
  if (report.repeatable.length > 0) {
    parts.push(
      `Applied ${report.repeatable.length} repeatable definition(s): ${report.repeatable.join(', ')}.`,
    );
  }
  if (parts.length === 0) {
    return `Schema is up to date (${report.alreadyApplied} migrations already applied).`;
  }
  return parts.join(' ');
}
