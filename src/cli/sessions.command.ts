import { desc, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Command } from 'commander';
import { sessions, withTenant } from '../db/index.js';
import type { Pool } from '../db/index.js';
import type { SessionStatus } from '../events/index.js';
import { oneOfArgument, tenantArgument, wholeNumberArgument } from './cli-arguments.js';
import { openAgateFor } from './open-agate.js';

type ListedSession = {
  id: string;
  status: SessionStatus;
  lastSequence: number;
  rules: string;
  rulesVersion: number;
  playerId: string | null;
  createdAt: Date;
  updatedAt: Date;
};

type ListFlags = { tenant: string; status?: SessionStatus; limit: number; json?: boolean };

const statuses = ['active', 'ended'] as const satisfies readonly SessionStatus[];

/** The tenant's sessions, most recently changed first, read as agate_analyst (under RLS). */
async function listSessions(pool: Pool, flags: ListFlags): Promise<ListedSession[]> {
  const rows = await withTenant(pool, { tenantId: flags.tenant, role: 'agate_analyst' }, (tx) =>
    drizzle(tx)
      .select({
        id: sessions.id,
        status: sessions.status,
        lastSequence: sessions.lastSequence,
        rules: sessions.rules,
        rulesVersion: sessions.rulesVersion,
        playerId: sessions.playerId,
        createdAt: sessions.createdAt,
        updatedAt: sessions.updatedAt,
      })
      .from(sessions)
      .where(flags.status === undefined ? undefined : eq(sessions.status, flags.status))
      .orderBy(desc(sessions.updatedAt), desc(sessions.id))
      .limit(flags.limit),
  );
  return rows.map((row) => ({ ...row, status: row.status as SessionStatus }));
}

function describeSessions(listed: ListedSession[], flags: ListFlags): string {
  if (listed.length === 0) {
    return `No ${flags.status ?? ''}${flags.status === undefined ? '' : ' '}sessions in tenant ${flags.tenant}.`;
  }
  const header = ['id'.padEnd(36), 'status', 'last seq'.padStart(9), 'rules'.padEnd(16), 'updated'];
  const lines = listed.map((s) =>
    [
      s.id,
      s.status.padEnd(6),
      String(s.lastSequence).padStart(9),
      `${s.rules} v${s.rulesVersion}`.padEnd(16),
      s.updatedAt.toISOString(),
    ].join('  '),
  );
  const more =
    listed.length === flags.limit ? [`(--limit ${flags.limit} reached; raise it to see more)`] : [];
  return [header.join('  '), ...lines, ...more].join('\n');
}

export function addSessionsCommands(program: Command): void {
  const group = program.command('sessions').description("a tenant's game sessions");
  group
    .command('list')
    .description("list a tenant's sessions, most recently changed first")
    .requiredOption('--tenant <id>', 'the tenant (a UUID)', tenantArgument)
    .option(
      '--status <active|ended>',
      'only active or only ended sessions',
      oneOfArgument('--status', statuses),
    )
    .option(
      '--limit <n>',
      'at most this many sessions, 1 to 10000',
      wholeNumberArgument('--limit', 1, 10_000),
      50,
    )
    .option(
      '--json',
      'print {sessions: [{id, status, lastSequence, rules, rulesVersion, playerId, createdAt, updatedAt}]}',
    )
    .action(async (flags: ListFlags) => {
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      try {
        const listed = await listSessions(agate.pool, flags);
        console.log(
          flags.json === true
            ? JSON.stringify({ sessions: listed })
            : describeSessions(listed, flags),
        );
      } finally {
        await close();
      }
    });
}
