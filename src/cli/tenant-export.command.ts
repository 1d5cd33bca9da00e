import { once } from 'node:events';
import { open, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { AgateError } from '../errors/index.js';
import { exportTenant, recordTenantExported } from '../tenants/index.js';
import type { TenantExportCounts } from '../tenants/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgateFor } from './open-agate.js';

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

async function runExport(tenantId: string, flags: ExportFlags): Promise<void> {
  const out = flags.out === undefined ? null : resolve(flags.out);
  if (out !== null) await refuseExisting(out);
  const opened = await openAgateFor(process.env, tenantId, { inline: true });
  try {
    const placement = await opened.placements.placementOf(tenantId);
    const stream = out === null ? process.stdout : await createOut(out);
    let counts: TenantExportCounts;
    try {
      counts = await exportTenant(
        {
          tenantId,
          placement,
          control: opened.placements.control.pool,
          data: opened.agate.pool,
          now: new Date(),
        },
        lineSink(stream),
      );
      if (stream !== process.stdout) {
        stream.end();
        await once(stream, 'close');
      }
    } catch (error) {
      // A half-written file is not an export: it goes, so no one keeps it by mistake.
      if (out !== null) {
        stream.destroy();
        await unlink(out).catch(() => undefined);
      }
      throw error;
    }
    // Recorded once the export is whole, in the placement database with the tenant's entries.
    await recordTenantExported(opened.agate.pool, { tenantId, placement, actor: cliActor, counts });
    if (flags.json === true) {
      console.log(JSON.stringify({ tenantId, placement, counts, out }));
    } else {
      console.error(
        `Exported tenant ${tenantId} (${placement})${out === null ? '' : ` to ${out}`}: ${describeCounts(counts)}`,
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
    .option('--json', 'print {tenantId, placement, counts, out} as JSON (needs --out)')
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
