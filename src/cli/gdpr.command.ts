import type { Command } from 'commander';
import { readCaughtUp } from '../placements/index.js';
import { erasePlayer, exportPlayer, recordPlayerExported } from '../players/index.js';
import type { ErasedPlayer } from '../players/index.js';
import { tenantArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgateFor } from './open-agate.js';
import { replicaWaitMsOf } from './replica-wait.js';

function describeErasure(erased: ErasedPlayer): string {
  const kept = `its ${erased.sessions} session(s) and their events stay under its id and still replay`;
  return erased.alreadyErased
    ? `Player ${erased.id} was already erased at ${erased.erasedAt.toISOString()}; nothing changed.`
    : `Erased the PII of player ${erased.id} (${erased.clearedColumns.join(', ')}); ${kept}.`;
}

export function addGdprCommands(program: Command): void {
  const gdpr = program
    .command('gdpr')
    .description("a player's data: export everything held about them, or erase their PII");
  gdpr
    .command('export')
    .description(
      'print everything held about a player as JSON: the row with its PII, sessions, events, audit entries (audited); where a replica is configured, stderr says whether it or the primary was read',
    )
    .argument('<playerId>', 'the player (a UUID)')
    .requiredOption('--tenant <id>', 'the tenant the player belongs to (a UUID)', tenantArgument)
    .action(async (playerId: string, flags: { tenant: string }) => {
      const waitMs = replicaWaitMsOf(process.env);
      const { agate, placements, close } = await openAgateFor(process.env, flags.tenant, {
        inline: true,
      });
      try {
        // From the placement's replica once it has everything committed before now (ADR 0033).
        const placed = await placements.agateFor(flags.tenant);
        const { value: exported, from } = await readCaughtUp(placed, { waitMs }, (reader) =>
          exportPlayer(reader.pool, { tenantId: flags.tenant, playerId, role: 'agate_analyst' }),
        );
        // Recorded on the primary before the PII leaves, with counts only, as the API does.
        await recordPlayerExported(agate.pool, {
          tenantId: flags.tenant,
          actor: cliActor,
          exported,
        });
        console.log(JSON.stringify(exported, null, 2));
        if (placed.replica !== null) console.error(`Read from the ${from}.`);
      } finally {
        await close();
      }
    });
  gdpr
    .command('erase')
    .description(
      "erase a player's PII (audited); sessions and events stay under its id and still replay",
    )
    .argument('<playerId>', 'the player (a UUID)')
    .requiredOption('--tenant <id>', 'the tenant the player belongs to (a UUID)', tenantArgument)
    .option('--json', 'print {id, erasedAt, sessions, clearedColumns, alreadyErased} as JSON')
    .action(async (playerId: string, flags: { tenant: string; json?: boolean }) => {
      const { agate, close } = await openAgateFor(process.env, flags.tenant, { inline: true });
      try {
        const erased = await erasePlayer(agate.pool, {
          tenantId: flags.tenant,
          playerId,
          actor: cliActor,
        });
        console.log(flags.json === true ? JSON.stringify(erased) : describeErasure(erased));
      } finally {
        await close();
      }
    });
}
