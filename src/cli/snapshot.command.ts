import type { Command } from 'commander';
import { tenantArgument } from './cli-arguments.js';
import { openAgate } from './open-agate.js';

export function addSnapshotCommand(program: Command): void {
  program
    .command('snapshot')
    .description("save a snapshot of a session's current state now (a manual snapshot)")
    .argument('<sessionId>', 'the session to snapshot')
    .requiredOption('--tenant <id>', 'the tenant the session belongs to (a UUID)', tenantArgument)
    .option('--json', 'print {sessionId, sequence, stateHash, created} as JSON')
    .action(async (sessionId: string, flags: { tenant: string; json?: boolean }) => {
      const { agate, close } = await openAgate(process.env, { inline: true });
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
}
