import { once } from 'node:events';
import { open, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Pool } from '../db/index.js';
import { AgateError } from '../errors/index.js';
import { caughtUpReplica, isReplicaFailure } from '../placements/index.js';
import type { ReadFrom } from '../placements/index.js';
import { exportTenant, recordTenantExported } from '../tenants/index.js';
import type { ExportLineSink, TenantExportCounts } from '../tenants/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgateFor } from './open-agate.js';
import { replicaWaitMsOf } from './replica-wait.js';

type ExportFlags = { out?: string; json?: boolean };

function fileExists(path: string): AgateError {
  return new AgateError(
    'invalid_request',
    `${path} already exists and an export never overwrites a file; remove it or choose another path.`,
  );
}

async function refuseExisting(path: string): Promise<void> {
  const found = await stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw new AgateError(
        'invalid_request',
        `Cannot use ${path} for the export: ${error.message}`,
      );
    },
  );
  if (found) throw fileExists(path);
}

/** Lines to `stream`, waiting for it to drain when its buffer is full; its first error rethrown. */
function lineSink(stream: Writable) {
  let failed: Error | null = null;
  stream.on('error', (error) => {
    failed = error;
  });
  return async (line: string) => {
    if (failed !== null) throw failed;
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
  };
}

/** The output file, created here (`wx`: never one that exists, even if it appeared just now). */
async function createOut(path: string) {
  const handle = await open(path, 'wx').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw fileExists(path);
    throw new AgateError('invalid_request', `Cannot create ${path}: ${error.message}`);
  });
  return handle.createWriteStream();
}

function describeCounts(counts: TenantExportCounts): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
}

/** One run of the export from the placement database `data`, to `write`. */
type Attempt = (data: Pool, write: ExportLineSink) => Promise<TenantExportCounts>;
type Exported = { counts: TenantExportCounts; readFrom: ReadFrom };

/** `write`, remembering whether it failed: a failing output is not a failing replica. */
function watched(write: ExportLineSink) {
  let failed = false;
  const sink: ExportLineSink = (line) =>
    write(line).catch((error: unknown) => {
      failed = true;
      throw error;
    });
  return { sink, failed: () => failed };
}

/** To stdout, which cannot be taken back: a replica failing midway fails the export. */
async function toStdout(attempt: Attempt, replica: Pool | null, primary: Pool): Promise<Exported> {
  const { sink, failed } = watched(lineSink(process.stdout));
  if (replica === null) return { counts: await attempt(primary, sink), readFrom: 'primary' };
  try {
    return { counts: await attempt(replica, sink), readFrom: 'replica' };
  } catch (error) {
    if (failed() || !isReplicaFailure(error)) throw error;
    throw new AgateError(
      'unavailable',
      `The placement's replica failed during the export (${error instanceof Error ? error.message : String(error)}), so what went to stdout is incomplete: discard it. Rerun the export, or give --out <file>, where an export the replica fails is restarted on the primary.`,
      { cause: error },
    );
  }
}

/** To a new file; a replica failing midway restarts the export on the primary, from the start. */
async function toFile(
  out: string,
  attempt: Attempt,
  replica: Pool | null,
  primary: Pool,
): Promise<Exported> {
  let outputFailed = false;
  const run = async (data: Pool) => {
    const stream = await createOut(out);
    const { sink, failed } = watched(lineSink(stream));
    try {
      const counts = await attempt(data, sink);
      stream.end();
      await once(stream, 'close');
      return counts;
    } catch (error) {
      // A half-written file is not an export: it goes, so no one keeps it by mistake.
      stream.destroy();
      await unlink(out).catch(() => undefined);
      outputFailed = failed();
      throw error;
    }
  };
  if (replica !== null) {
    try {
      return { counts: await run(replica), readFrom: 'replica' };
    } catch (error) {
      if (outputFailed || !isReplicaFailure(error)) throw error;
    }
  }
  return { counts: await run(primary), readFrom: 'primary' };
}

async function runExport(tenantId: string, flags: ExportFlags): Promise<void> {
  const out = flags.out === undefined ? null : resolve(flags.out);
  const waitMs = replicaWaitMsOf(process.env);
  if (out !== null) await refuseExisting(out);
  const opened = await openAgateFor(process.env, tenantId, { inline: true });
  try {
    const placed = await opened.placements.agateFor(tenantId);
    const { placement } = placed;
    const now = new Date();
    const attempt: Attempt = (data, write) =>
      exportTenant(
        { tenantId, placement, control: opened.placements.control.pool, data, now },
        write,
      );
    // Everything committed before now, from the replica once it has replayed that far (ADR 0033).
    const replica = (await caughtUpReplica(placed, { waitMs }))?.pool ?? null;
    const primary = placed.agate.pool;
    const { counts, readFrom } =
      out === null
        ? await toStdout(attempt, replica, primary)
        : await toFile(out, attempt, replica, primary);
    // Recorded once the export is whole, on the placement's primary with the tenant's entries.
    await recordTenantExported(primary, { tenantId, placement, actor: cliActor, counts });
    if (flags.json === true) {
      console.log(JSON.stringify({ tenantId, placement, counts, out, readFrom }));
    } else {
      console.error(
        `Exported tenant ${tenantId} (${placement})${out === null ? '' : ` to ${out}`}, read from the ${readFrom}: ${describeCounts(counts)}`,
      );
    }
  } finally {
    await opened.close();
  }
}

export function addTenantExportCommand(tenants: Command): void {
  tenants
    .command('export')
    .description(
      'write everything a tenant owns as NDJSON, for the tenant to keep (audited): its row, API keys (never their hashes), players with their PII, sessions, events (archived months too), snapshots, analytics rows, audit entries, feed consumers, integrity findings',
    )
    .argument('<tenant>', 'the tenant id (a UUID)', (value: string) => tenantArgument(value))
    .option('--out <file>', 'write to this new file (never overwritten) instead of stdout')
    .option('--json', 'print {tenantId, placement, counts, out, readFrom} as JSON (needs --out)')
    .action(async (tenantId: string, flags: ExportFlags, command: Command) => {
      if (flags.json === true && flags.out === undefined) {
        command.error(
          'error: --json prints the summary on stdout, where the export would go; give --out <file> too',
          { exitCode: 2 },
        );
      }
      await runExport(tenantId, flags);
    });
}
