import { connectClient, fromPgError, migrate } from '../db/index.js';
import type { MigrationReport } from '../db/index.js';
import { AgateError, isAgateError } from '../errors/index.js';
import { readDatabaseServers } from '../placements/index.js';
import { openDatabase } from './open-database.js';

/** One placement server's outcome: its report, or why it could not be migrated. */
export type PlacementMigration = MigrationReport | { error: { code: string; message: string } };

/** The control plane's report, and each placement database server's by placement. */
export type MigrateReport = MigrationReport & {
  placements: Record<string, PlacementMigration>;
};

async function migrateUrl(url: string): Promise<MigrationReport> {
  const client = await connectClient({ connectionString: url, statementTimeoutMs: 0 });
  try {
    return await migrate(client);
  } finally {
    await client.end();
  }
}

/**
 * Migrates DATABASE_URL (or the embedded database, which is also migrated whenever it opens), then
 * every placement database server (`AGATE_DATABASE_URL_<NAME>`, ADR 0032) with the same
 * migrations, each under its own advisory lock: safe to rerun. A server that cannot be migrated
 * is reported and does not stop the others.
 */
export async function runMigrate(env: NodeJS.ProcessEnv): Promise<MigrateReport> {
  const servers = readDatabaseServers(env);
  const target = await openDatabase(env);
  let control: MigrationReport;
  try {
    control = await migrateUrl(target.url);
  } finally {
    await target.close();
  }
  const placements: Record<string, PlacementMigration> = {};
  for (const [name, url] of servers) {
    placements[`database:${name}`] = await migrateUrl(url).catch((error: unknown) => {
      const failure = isAgateError(error) ? error : fromPgError(error);
      return { error: { code: failure.code, message: failure.message } };
    });
  }
  return { ...control, placements };
}

/** Throws when a placement could not be migrated, after the report was printed. */
export function checkMigrated(report: MigrateReport): void {
  const failed = Object.entries(report.placements).filter(([, r]) => 'error' in r);
  if (failed.length === 0) return;
  throw new AgateError(
    'unavailable',
    `${failed.map(([placement]) => placement).join(', ')} could not be migrated (the rest were); make ${failed.length === 1 ? 'it' : 'them'} reachable and run agate migrate again.`,
  );
}

export function describeMigrate(report: MigrateReport): string {
  const lines = [describeMigration(report)];
  for (const [placement, outcome] of Object.entries(report.placements)) {
    lines.push(
      'error' in outcome
        ? `${placement}: not migrated: ${outcome.error.message}`
        : `${placement}: ${describeMigration(outcome)}`,
    );
  }
  return lines.join('\n');
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
