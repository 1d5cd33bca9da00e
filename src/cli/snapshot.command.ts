import type { Command } from 'commander';
import { rebuildSnapshots } from '../snapshots/index.js';
import type { RebuildSnapshotsResult } from '../snapshots/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgateFor } from './open-agate.js';

function rebuildText(result: RebuildSnapshotsResult): string {
  const deleted = result.deleted.map((d) => `    ${d.sequence} (${d.reason}): ${d.problem}`);
  const written = result.written.map((w) => `    ${w.sequence} (${w.reason}): ${w.stateHash}`);
  return [
    `Rebuilt the snapshots of session ${result.sessionId} from its log (${result.lastSequence} events)`,
    `  deleted: ${result.deleted.length}`,
    ...deleted,
    `  written: ${result.written.length}`,
    ...written,
    `  kept:    ${result.kept} sound snapshots`,
  ].join('\n');
}

type RebuildFlags = { tenant: string; all?: boolean; json?: boolean };

/**
 * `snapshot rebuild`: `--tenant` and `--json` are the parent's options (commander lets a parent
 * take its known options after a subcommand's name), read here with the parent's values.
 */
function addRebuildCommand(snapshot: Command): void {
  snapshot
    .command('rebuild')
    .description(
      "delete a session's bad snapshots (all with --all) and rebuild them from its log (audited)",
    )
    .argument('<sessionId>', 'the session whose snapshots to rebuild')
    .option('--all', 'delete and rebuild every snapshot, sound ones too')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      '\n--tenant is required; --json prints {sessionId, lastSequence, deleted, written, kept}.',
    )
    .action(async (sessionId: string, _flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<RebuildFlags>();
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      try {
        const result = await rebuildSnapshots(agate, {
          tenantId: flags.tenant,
          sessionId,
          all: flags.all === true,
          actor: cliActor,
        });
        console.log(flags.json === true ? JSON.stringify(result) : rebuildText(result));
      } finally {
        await close();
      }
    });
}

export function addSnapshotCommand(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description(
      "save a snapshot of a session's current state now (a manual snapshot); `snapshot rebuild` replaces bad ones",
    )
    .argument('<sessionId>', 'the session to snapshot')
    .requiredOption('--tenant <id>', 'the tenant the session belongs to (a UUID)', tenantArgument)
    .option(
      '--json',
      'print {sessionId, sequence, stateHash, created} as JSON (with rebuild: its report)',
    )
    .action(async (sessionId: string, flags: { tenant: string; json?: boolean }) => {
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      try {
        const written = await agate.snapshot({ tenantId: flags.tenant, sessionId });
        const id = sessionId.toLowerCase();
        console.log(
          flags.json === true
            ? JSON.stringify({ sessionId: id, ...written })
            : [
                `${written.created ? 'Saved a snapshot' : 'A snapshot was already saved'} of session ${id}`,
                `  sequence:    ${written.sequence}`,
                `  state hash:  ${written.stateHash}`,
              ].join('\n'),
        );
      } finally {
        await close();
      }
    });
  addRebuildCommand(snapshot);
}
